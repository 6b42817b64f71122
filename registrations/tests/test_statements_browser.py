"""The owner imports September's Venmo statement in a real browser (README "Payments"): 20 transactions — matched,
ambiguous, unmatched, outgoing, already imported and more — previewed, one ambiguous line picked, and confirmed."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from registrations import ledger
from registrations.models import Payment, Registration, StatementImport
from registrations.tests.statement_fixtures import VENMO_SEPTEMBER, september_studio
from studio.models import EmailLog, SystemSetting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
PaymentStatus = Registration.PaymentStatus


@pytest.fixture
def laptop(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def owner(settings, django_user_model):
    # The live server speaks plain http; production cookie names and Secure flags are for https only.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_NAME = "sessionid"
    settings.CSRF_COOKIE_NAME = "csrftoken"
    user = django_user_model.objects.create_user(username="owner", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Studio admin"))
    return user


def test_the_owner_uploads_a_venmo_statement_previews_it_and_confirms(
    live_server, laptop, owner, screenshot, axe_check
):
    SystemSetting.objects.create(setting_key="studio_name", setting_value="Groove Studio")
    studio = september_studio()
    page = laptop
    problems = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.location.get("url", "").endswith("/favicon.ico")
            and problems.append(f"{message.text} {message.location.get('url')}")
        ),
    )

    page.goto(f"{live_server.url}/admin/login/?next=/admin/registrations/statementimport/add/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/statementimport/add/$"))

    axe_check(page)
    page.get_by_label("Venmo statement").check()
    page.set_input_files("#id_statement", str(VENMO_SEPTEMBER))
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r"/statementimport/\d+/change/$"))

    # The preview: every line of the statement with what it is, nothing recorded yet.
    rows = page.locator("tr.statement-line")
    assert rows.count() == 23  # 20 transactions, 2 balance rows and the disclaimer
    transactions = page.locator("tr.statement-line:not(.statement-line--ignored)")
    assert transactions.count() + page.locator("tr.statement-line--ignored").count() == 23
    statuses = {int(row.get_attribute("data-row")): row.locator(".statement-status").inner_text() for row in rows.all()}
    assert statuses[5] == statuses[6] == "Matched by reference"
    assert statuses[7] == "Matched by name and amount"
    assert statuses[10] == statuses[11] == "Ambiguous: pick one"
    assert statuses[12] == "Unmatched"
    assert statuses[13] == statuses[14] == "Ignored"  # outgoing
    assert statuses[17] == "Already imported"
    assert statuses[18] == "Duplicate line"
    assert statuses[19] == "Canceled registration"
    assert statuses[21] == "Unreadable"
    ticked = page.locator("input[name=line]:checked")
    assert ticked.count() == 8
    assert page.locator("tr[data-row='23'] input[name=line]").is_checked() is False  # paid already: credit if ticked
    assert page.get_by_text("O'Brien & <b>Sons</b>").count() == 1  # shown as typed
    assert not Payment.objects.filter(source=Payment.Source.STATEMENT).exists()

    # Maya Cohen has two $35 registrations: the owner picks the second and ticks the line.
    maya = page.locator("tr[data-row='10']")
    maya.locator("select").select_option(str(studio["maya_2"].pk))
    maya.locator("input[name=line]").check()
    axe_check(page)
    screenshot(page, "statement-preview")

    page.get_by_role("button", name="Record the ticked payments").click()
    page.wait_for_load_state()
    assert (
        page.locator(".messagelist")
        .get_by_text("Recorded 9 payments; 8 registrations are now paid in full (their students were emailed).")
        .is_visible()
    )
    assert page.get_by_text("Confirmed by owner").is_visible()
    screenshot(page, "statement-confirmed")

    assert Payment.objects.filter(source=Payment.Source.STATEMENT).count() == 9
    for name in ("ana", "bruno", "chloe", "eunji", "kofi", "noor", "rafael", "maya_2"):
        studio[name].refresh_from_db()
        assert studio[name].payment_status == PaymentStatus.COMPLETED, name
    for name in ("maya_1", "farah", "gus", "hana", "lena"):
        studio[name].refresh_from_db()
        assert studio[name].payment_status == PaymentStatus.PENDING, name
    assert ledger.balance(studio["dev"]).due == Decimal("20.00")
    assert ledger.credit_balance(studio["eunji"].student) == Decimal("30.00")
    assert EmailLog.objects.filter(kind="payment_confirmed").count() == 8
    assert StatementImport.objects.get().status == StatementImport.Status.CONFIRMED
    assert problems == []
