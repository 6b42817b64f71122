"""The ledger and the statement matcher in the admin: who may see money, the upload/preview/confirm pages, the confirm
and cancel actions with amounts and refunds, the ledger lists that nobody edits, and the accountant's CSV."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from courses import formatting
from registrations import ledger
from registrations.models import CreditEntry, Payment, Refund, Registration, StatementImport
from registrations.tests.factories import CreditGrantFactory, PaymentFactory, RegistrationFactory
from registrations.tests.statement_fixtures import VENMO_SEPTEMBER, september_studio
from students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

PaymentStatus = Registration.PaymentStatus
CHANGELIST = reverse("admin:registrations_registration_changelist")
UPLOAD = reverse("admin:registrations_statementimport_add")
LEDGER_CSV = reverse("admin:registrations_payment_ledger_csv")


def staff(client, django_user_model, group: str, username: str):
    user = django_user_model.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(client, django_user_model):
    return staff(client, django_user_model, "Studio admin", "owner")


@pytest.fixture
def instructor_client(client, django_user_model):
    return staff(client, django_user_model, "Instructor", "door")


@pytest.fixture
def bare_staff_client(client, django_user_model):
    user = django_user_model.objects.create_user(username="temp", is_staff=True)
    client.force_login(user)
    return client


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def act(client, action, registrations, **form):
    data = {"action": action, "_selected_action": [r.pk for r in registrations]}
    if form:
        data.update(apply="yes", **form)
    return client.post(CHANGELIST, data)


def upload(client, content: bytes, *, kind="venmo", name="venmo-2026-09.csv", follow=True):
    return client.post(
        UPLOAD, {"kind": kind, "statement": SimpleUploadedFile(name, content, "text/csv")}, follow=follow
    )


# --- who sees money -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        UPLOAD,
        reverse("admin:registrations_statementimport_changelist"),
        reverse("admin:registrations_payment_changelist"),
        reverse("admin:registrations_refund_changelist"),
        reverse("admin:registrations_creditentry_changelist"),
        LEDGER_CSV,
    ],
)
def test_an_instructor_or_staff_without_a_role_sees_no_money_page(instructor_client, url):
    assert instructor_client.get(url).status_code == 403


def test_staff_without_a_role_sees_no_money_page(bare_staff_client):
    assert bare_staff_client.get(UPLOAD).status_code == 403
    assert bare_staff_client.get(LEDGER_CSV).status_code == 403


def test_an_instructor_sees_a_registration_without_its_payments(instructor_client):
    registration = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)
    PaymentFactory(registration=registration, transaction_id="SECRET-TX-1")

    response = instructor_client.get(reverse("admin:registrations_registration_change", args=[registration.pk]))

    assert response.status_code == 200
    assert "SECRET-TX-1" not in response.content.decode()


def test_the_owner_sees_a_registrations_payments_refunds_and_credit(owner_client):
    registration = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)
    PaymentFactory(registration=registration, transaction_id="TX-1")
    Refund.objects.create(registration=registration, amount=Decimal("20.00"), method="venmo", reason="Missed one")

    html = owner_client.get(reverse("admin:registrations_registration_change", args=[registration.pk])).content.decode()

    assert "TX-1" in html and "Missed one" in html


def test_the_ledger_lists_write_money_and_moments_the_portals_one_way(owner_client):
    payment = PaymentFactory(amount=Decimal("1234.00"))
    Refund.objects.create(registration=payment.registration, amount=Decimal("34.00"), method="venmo", reason="Late")
    CreditGrantFactory(student=payment.registration.student, amount=Decimal("20.00"))
    page = {
        name: owner_client.get(reverse(f"admin:registrations_{name}_changelist")).content.decode()
        for name in ("payment", "refund", "creditentry")
    }

    assert "$1,234.00" in page["payment"] and "1234.00" not in page["payment"]
    assert "$34.00" in page["refund"]
    assert "+$20.00" in page["creditentry"]
    today = formatting.moment(timezone.now()).split(",")[0]  # "Sun", the weekday the portal writes first
    assert all(f">{today}, " in html for html in page.values())
    assert not any(" a.m." in html or " p.m." in html for html in page.values())  # Django's own way
    registration_page = owner_client.get(
        reverse("admin:registrations_registration_change", args=[payment.registration.pk])
    ).content.decode()
    assert f"{payment.registration.reference} · $1,234.00 · Venmo" in registration_page  # a payment row's title
    assert f"{payment.registration.reference} · −$34.00 · Venmo" in registration_page


def test_ledger_rows_cannot_be_added_changed_or_deleted_in_the_admin(owner_client):
    payment = PaymentFactory()
    grant = CreditGrantFactory()

    assert owner_client.get(reverse("admin:registrations_payment_add")).status_code == 403
    assert owner_client.post(reverse("admin:registrations_payment_delete", args=[payment.pk])).status_code == 403
    assert owner_client.get(reverse("admin:registrations_payment_change", args=[payment.pk])).status_code == 200
    owner_client.post(reverse("admin:registrations_payment_change", args=[payment.pk]), {"amount": "1.00"})
    assert owner_client.post(reverse("admin:registrations_creditentry_delete", args=[grant.pk])).status_code == 403
    payment.refresh_from_db()
    assert payment.amount == Decimal("120.00")


# --- confirm with an amount, cancel with the money, refund ----------------------------------------------------------------


def test_confirm_action_records_a_partial_amount_and_says_what_is_still_due(owner_client):
    registration = RegistrationFactory(payment_amount=Decimal("120.00"))

    response = act(owner_client, "confirm_payments", [registration], amount="100.00", transaction_id="V-9", note="")

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.PENDING
    assert Payment.objects.get().transaction_id == "V-9"
    assert messages_of(response) == [
        f"{registration.reference}: payment recorded, $20.00 still due; the student was emailed how to pay it."
    ]


def test_confirm_action_says_a_part_payment_of_an_expired_registration_left_it_expired_and_owing(owner_client):
    registration = RegistrationFactory(payment_status=PaymentStatus.EXPIRED, payment_amount=Decimal("120.00"))

    response = act(owner_client, "confirm_payments", [registration], amount="50.00", transaction_id="", note="")

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.EXPIRED
    assert messages_of(response) == [
        f"{registration.reference}: payment recorded, $70.00 still due. Its hold ran out, so it stays expired and "
        "holds no seat: confirm the rest, re-open it, or cancel it to refund or credit the money."
    ]


def test_confirm_action_says_a_payment_of_a_paid_registration_became_account_credit(owner_client):
    registration = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)
    PaymentFactory(registration=registration)

    response = act(owner_client, "confirm_payments", [registration], amount="30.00", transaction_id="V-10", note="")

    assert messages_of(response) == [
        f"{registration.reference} was paid already: the payment of $30.00 is recorded as account credit."
    ]


def test_confirm_action_takes_an_amount_for_one_registration_at_a_time(owner_client):
    registrations = [RegistrationFactory(), RegistrationFactory()]

    response = act(owner_client, "confirm_payments", registrations, amount="50.00", note="")

    assert response.status_code == 200
    assert "one registration at a time" in response.content.decode()
    assert not Payment.objects.exists()


def test_cancel_action_asks_what_to_do_with_money_paid_and_refunds_it(owner_client):
    registration = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)
    PaymentFactory(registration=registration)

    page = act(owner_client, "cancel_registrations", [registration])
    missing = act(owner_client, "cancel_registrations", [registration], reason="Injury")
    done = act(owner_client, "cancel_registrations", [registration], reason="Injury", settle="refund")

    assert "Give it as account credit" in page.content.decode()
    assert missing.status_code == 200 and "This field is required." in missing.content.decode()
    assert done.status_code == 302
    assert Refund.objects.get().amount == Decimal("120.00")


def test_cancel_action_for_unpaid_registrations_asks_nothing_about_money(owner_client):
    registration = RegistrationFactory()

    page = act(owner_client, "cancel_registrations", [registration])
    act(owner_client, "cancel_registrations", [registration], reason="Asked to")

    assert "Give it as account credit" not in page.content.decode()
    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.CANCELED


def test_cancel_action_with_credit_grants_it(owner_client):
    registration = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)
    PaymentFactory(registration=registration)

    act(owner_client, "cancel_registrations", [registration], reason="Moved", settle="credit")

    assert ledger.credit_balance(registration.student) == Decimal("120.00")


def test_refund_action_records_a_refund_and_refuses_more_than_was_paid(owner_client):
    registration = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)
    PaymentFactory(registration=registration)

    too_much = act(owner_client, "record_refund", [registration], amount="500.00", method="venmo", reason="x")
    done = act(owner_client, "record_refund", [registration], amount="20.00", method="venmo", reason="Missed one")

    assert too_much.status_code == 200 and "At most $120.00" in too_much.content.decode()
    assert done.status_code == 302
    assert messages_of(done) == [f"Recorded a refund of $20.00 for {registration.reference}."]
    assert Refund.objects.get().amount == Decimal("20.00")


def test_register_a_student_uses_their_credit_and_says_when_nothing_is_left_to_pay(owner_client):
    from courses.tests.factories import priced_slot

    student = StudentFactory()
    CreditGrantFactory(student=student, amount=Decimal("200.00"))
    slot = priced_slot(full_package="120.00")

    response = owner_client.post(
        reverse("admin:registrations_registration_register"),
        {
            "student": student.pk,
            "slot": slot.pk,
            "pricing_type": "full_package",
            "payment_method": "venmo",
            "use_credit": "on",
        },
    )

    registration = Registration.objects.get()
    assert response.status_code == 302
    assert registration.payment_status == PaymentStatus.COMPLETED
    assert "confirmed (nothing to pay)" in messages_of(response)[0]


# --- the statement pages --------------------------------------------------------------------------------------------------


def test_the_owner_uploads_a_venmo_statement_and_sees_its_preview(owner_client):
    september_studio()

    response = upload(owner_client, VENMO_SEPTEMBER.read_bytes())

    statement_import = StatementImport.objects.get()
    assert response.redirect_chain[-1][0] == reverse(
        "admin:registrations_statementimport_change", args=[statement_import.pk]
    )
    html = response.content.decode()
    assert "Matched by reference" in html and "Ambiguous: pick one" in html and "Already imported" in html
    assert "O&#x27;Brien &amp; &lt;b&gt;Sons&lt;/b&gt;" in html  # escaped
    assert html.count('type="checkbox" name="line"') == 12  # the recordable lines
    assert html.count("checked") >= 8
    assert not Payment.objects.filter(source="statement").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The file is empty."),
        (b"a,b,c\n1,2,3\n", "This is not a Venmo statement"),
    ],
)
def test_a_bad_file_is_refused_next_to_the_file_field(owner_client, content, message):
    response = upload(owner_client, content)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not StatementImport.objects.exists()


def test_confirming_the_preview_records_the_ticked_lines_and_then_shows_them(owner_client):
    studio = september_studio()
    upload(owner_client, VENMO_SEPTEMBER.read_bytes())
    statement_import = StatementImport.objects.get()
    lines = [line for line in statement_import.lines]
    ticked = [str(i) for i, line in enumerate(lines) if line["status"] in ("matched", "matched_by_name")][:3]
    maya = next(i for i, line in enumerate(lines) if line["row"] == 10)
    url = reverse("admin:registrations_statementimport_change", args=[statement_import.pk])

    response = owner_client.post(
        url, {"line": [*ticked, str(maya)], f"pick-{maya}": str(studio["maya_1"].pk)}, follow=True
    )

    assert Payment.objects.filter(source="statement").count() == 4
    assert "Recorded 4 payments" in messages_of(response)[0] or "Recorded 4 payments" in response.content.decode()
    assert "Confirmed by owner" in response.content.decode()
    again = owner_client.post(url, {"line": ticked}, follow=True)
    assert "confirmed already" in again.content.decode()
    assert Payment.objects.filter(source="statement").count() == 4


def test_the_import_message_tells_a_payment_that_became_credit_from_a_registration_paid_in_full(owner_client):
    september_studio()
    upload(owner_client, VENMO_SEPTEMBER.read_bytes())
    statement_import = StatementImport.objects.get()
    ana, pia = (next(i for i, line in enumerate(statement_import.lines) if line["row"] == row) for row in (5, 23))
    url = reverse("admin:registrations_statementimport_change", args=[statement_import.pk])

    response = owner_client.post(url, {"line": [str(ana), str(pia)]}, follow=True)

    assert messages_of(response) == [
        "Recorded 2 payments; 1 registration is now paid in full (its student was emailed).",
        "1 payment was for a registration paid already: it became the student's account credit.",
    ]


def test_a_bad_choice_marks_its_row_and_records_nothing(owner_client):
    september_studio()
    upload(owner_client, VENMO_SEPTEMBER.read_bytes())
    statement_import = StatementImport.objects.get()
    maya = next(i for i, line in enumerate(statement_import.lines) if line["row"] == 10)
    url = reverse("admin:registrations_statementimport_change", args=[statement_import.pk])

    response = owner_client.post(url, {"line": ["0", "1", str(maya)], f"pick-{maya}": "999999"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing was recorded" in html and "pick the registration it pays" in html
    assert not Payment.objects.filter(source="statement").exists()


def test_a_line_number_that_is_not_ascii_digits_is_ignored_not_a_server_error(owner_client):
    september_studio()
    upload(owner_client, VENMO_SEPTEMBER.read_bytes())
    statement_import = StatementImport.objects.get()
    url = reverse("admin:registrations_statementimport_change", args=[statement_import.pk])

    response = owner_client.post(url, {"line": ["²"]})

    assert response.status_code == 200
    assert not Payment.objects.filter(source="statement").exists()
    assert owner_client.get(url.replace(f"/{statement_import.pk}/", "/²/")).status_code == 404


def test_an_instructor_cannot_confirm_a_preview(owner_client, client, django_user_model):
    september_studio()
    upload(owner_client, VENMO_SEPTEMBER.read_bytes())
    statement_import = StatementImport.objects.get()
    instructor = staff(client, django_user_model, "Instructor", "door")

    response = instructor.post(
        reverse("admin:registrations_statementimport_change", args=[statement_import.pk]), {"line": ["1"]}
    )

    assert response.status_code == 403
    assert not Payment.objects.filter(source="statement").exists()


def test_a_bank_statement_asks_for_its_columns_then_shows_the_preview(owner_client):
    content = b"Date,Details,Amount\n2026-09-01,Zelle payment from ANA LIMA Conf# 1,35.00\n2026-09-02,Payroll,900.00\n"

    response = upload(owner_client, content, kind="bank", name="bank.csv")

    assert "Which columns hold what?" in response.content.decode()
    statement_import = StatementImport.objects.get()
    url = reverse("admin:registrations_statementimport_change", args=[statement_import.pk])
    preview = owner_client.post(
        url,
        {"date_column": "Date", "description_column": "Details", "amount_column": "Amount", "id_column": ""},
        follow=True,
    )
    html = preview.content.decode()
    assert "ANA LIMA" in html and "Not a Zelle payment." in html


# --- the accountant's CSV -------------------------------------------------------------------------------------------------


def test_the_ledger_csv_lists_payments_and_refunds_and_is_safe_in_a_spreadsheet(owner_client):
    student = StudentFactory(first_name='=HYPERLINK("http://evil","x")', last_name="Zoë 💃")
    registration = RegistrationFactory(student=student, payment_status=PaymentStatus.COMPLETED)
    PaymentFactory(registration=registration, amount=Decimal("120.00"), transaction_id="@SUM(A1)")
    Refund.objects.create(registration=registration, amount=Decimal("20.00"), method="zelle", reason="x")

    response = owner_client.get(LEDGER_CSV)

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Date", "Student", "Class", "Reference", "Method", "Transaction id", "Amount", "Kind"]
    assert [row[6:] for row in rows[1:]] == [["120.00", "Payment"], ["-20.00", "Refund"]]
    assert rows[1][1].startswith("'=HYPERLINK") and rows[1][5] == "'@SUM(A1)"
    assert rows[1][3] == registration.reference and rows[2][4] == "Zelle"


def test_the_payments_list_links_the_ledger_csv_and_the_statement_upload(owner_client):
    html = owner_client.get(reverse("admin:registrations_payment_changelist")).content.decode()

    assert LEDGER_CSV in html and UPLOAD in html


def test_the_student_page_shows_their_account_credit(owner_client):
    grant = CreditGrantFactory(note="Goodwill for the flood")

    html = owner_client.get(reverse("admin:students_student_change", args=[grant.student.pk])).content.decode()

    assert "Goodwill for the flood" in html
    assert CreditEntry.objects.count() == 1


def test_the_registration_page_shows_its_balance_to_the_owner_only(owner_client, client, django_user_model):
    registration = RegistrationFactory(payment_amount=Decimal("120.00"), credit_applied=Decimal("20.00"))
    PaymentFactory(registration=registration, amount=Decimal("60.00"))
    url = reverse("admin:registrations_registration_change", args=[registration.pk])

    owner_html = owner_client.get(url).content.decode()
    instructor_html = staff(client, django_user_model, "Instructor", "door").get(url).content.decode()

    assert "received $60.00 · account credit used $20.00 · $40.00 still due" in owner_html
    assert "still due" not in instructor_html


def test_the_registration_page_offers_a_refund_button_once_money_came_in(owner_client):
    unpaid = RegistrationFactory()
    paid = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)
    PaymentFactory(registration=paid)

    def buttons(registration):
        response = owner_client.get(reverse("admin:registrations_registration_change", args=[registration.pk]))
        return [action for action, _label in response.context["registration_buttons"]]

    assert "record_refund" not in buttons(unpaid)
    assert "record_refund" in buttons(paid)
    done = owner_client.post(
        CHANGELIST,
        {
            "action": "record_refund",
            "_selected_action": [paid.pk],
            "from_change_page": "1",
            "apply": "yes",
            "amount": "20.00",
            "method": "venmo",
            "reason": "Missed one",
        },
    )
    assert done["Location"] == reverse("admin:registrations_registration_change", args=[paid.pk])


def test_recording_a_refund_needs_the_refund_permission_the_button_needs_not_only_change(client, django_user_model):
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user(username="clerk", is_staff=True)
    clerk.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="registrations", codename__in=["view_registration", "change_registration"]
        )
    )
    client.force_login(clerk)
    paid = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)
    PaymentFactory(registration=paid)

    actions = dict(client.get(CHANGELIST).context["action_form"].fields["action"].choices)
    act(client, "record_refund", [paid], amount="20.00", method="venmo", reason="Missed one")

    assert "record_refund" not in actions and "confirm_payments" in actions
    assert not Refund.objects.exists()
