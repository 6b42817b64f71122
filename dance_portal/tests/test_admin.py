import itertools
import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from attendance.models import Absence, AttendanceRecord, ClassSession, MakeUp
from attendance.tests.factories import AbsenceFactory, AttendanceRecordFactory, ClassSessionFactory, MakeUpFactory
from class_messages.models import ClassMessage, MessageOptOut
from class_messages.tests.factories import ClassMessageFactory, MessageOptOutFactory
from courses.models import CatalogVersion, Closure, Course, CoursePricing, CourseSlot
from courses.tests.factories import CourseFactory, CoursePricingFactory, priced_slot
from dance_portal.roles import PORTAL_APPS
from registrations.models import (
    BankColumnMapping,
    CreditEntry,
    HoldsByClient,
    Payment,
    Refund,
    Registration,
    RegistrationEvent,
    StatementImport,
)
from registrations.tests.factories import CreditGrantFactory, PaymentFactory, RefundFactory, RegistrationFactory
from students.models import Student
from students.tests.factories import StudentFactory
from studio.config import DEFINITIONS
from studio.models import EmailLog, StudioLogo, SystemSetting
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


# Written only by the services (or by the mailer): the admin offers no add form for them.
NO_ADD_FORM = {
    Registration,
    RegistrationEvent,
    WaitlistEntry,
    EmailLog,
    AttendanceRecord,
    ClassMessage,
    MessageOptOut,
    Payment,
    Refund,
    CreditEntry,
    BankColumnMapping,
    Absence,
    MakeUp,
}
# Bookkeeping that nobody reads or edits: no admin page.
NOT_IN_ADMIN = {CatalogVersion}
# One row at most: "add" leads to the row there.
SINGLE_ROW = {StudioLogo}
# A page of its own rather than a list of rows (tested in registrations/tests/test_admin_holds.py).
OWN_PAGE = {HoldsByClient}
_setting_keys = itertools.cycle(DEFINITIONS)
_emails = itertools.count()


def _setting():
    key = next(key for key in _setting_keys if not SystemSetting.objects.filter(setting_key=key).exists())
    return SystemSetting.objects.create(setting_key=key, setting_value=str(DEFINITIONS[key].default))


def _email_log():
    n = next(_emails)
    return EmailLog.objects.create(
        kind="registration_received",
        to_email=f"ana{n}@example.org",
        subject="Your registration",
        body_text="Hello Ana",
        body_html="<p>Hello Ana</p>",
    )


def _studio_logo():
    return StudioLogo.objects.create(data=b"\x89PNG\r\n\x1a\n", content_type=StudioLogo.ContentType.PNG)


_closure_days = itertools.count(1)


def _closure():
    from django.utils import timezone

    return Closure.objects.create(
        date=timezone.localdate() + timezone.timedelta(days=next(_closure_days)), reason="Off"
    )


def _registration_event():
    return RegistrationEvent.objects.create(
        registration=RegistrationFactory(), to_status=Registration.PaymentStatus.PENDING, actor_label="student"
    )


_bank_headers = itertools.count()


def _bank_column_mapping():
    n = next(_bank_headers)
    return BankColumnMapping.objects.create(
        header_signature=f"{n:064d}",
        header=["Date", "Description", "Amount", f"Balance {n}"],
        date_column="Date",
        description_column="Description",
        amount_column="Amount",
    )


def _statement_import():
    return StatementImport.objects.create(kind=StatementImport.Kind.VENMO, filename="venmo.csv")


MAKE_ROW = {
    Student: StudentFactory,
    Course: CourseFactory,
    CourseSlot: priced_slot,
    CoursePricing: CoursePricingFactory,
    Registration: RegistrationFactory,
    RegistrationEvent: _registration_event,
    ClassSession: ClassSessionFactory,
    AttendanceRecord: AttendanceRecordFactory,
    Absence: AbsenceFactory,
    MakeUp: MakeUpFactory,
    WaitlistEntry: WaitlistEntryFactory,
    SystemSetting: _setting,
    EmailLog: _email_log,
    StudioLogo: _studio_logo,
    Closure: _closure,
    Payment: PaymentFactory,
    Refund: RefundFactory,
    CreditEntry: CreditGrantFactory,
    StatementImport: _statement_import,
    BankColumnMapping: _bank_column_mapping,
    ClassMessage: ClassMessageFactory,
    MessageOptOut: MessageOptOutFactory,
}
PORTAL_MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label in PORTAL_APPS and model not in OWN_PAGE),
    key=lambda m: m._meta.label,
)


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_portal_model_is_registered_in_admin():
    portal_models = {model for model in apps.get_models() if model._meta.app_label in PORTAL_APPS} - NOT_IN_ADMIN
    assert OWN_PAGE <= set(admin.site._registry)
    assert portal_models - OWN_PAGE == set(PORTAL_MODELS)
    assert set(MAKE_ROW) == portal_models - OWN_PAGE


@pytest.mark.parametrize("model", PORTAL_MODELS, ids=lambda m: m._meta.label)
def test_admin_changelist_add_and_change_pages_render_for_superuser(admin_client, model):
    row = MAKE_ROW[model]()

    assert admin_client.get(_url(model, "changelist")).status_code == 200
    assert admin_client.get(_url(model, "change", row.pk)).status_code == 200
    add_status = 403 if model in NO_ADD_FORM else 302 if model in SINGLE_ROW else 200
    assert admin_client.get(_url(model, "add")).status_code == add_status


@pytest.mark.parametrize("model", PORTAL_MODELS, ids=lambda m: m._meta.label)
def test_admin_changelist_query_count_does_not_grow_with_rows(admin_client, model):
    if model in SINGLE_ROW:
        pytest.skip("a single-row model cannot grow")
    MAKE_ROW[model]()
    with CaptureQueriesContext(connection) as one_row:
        assert admin_client.get(_url(model, "changelist")).status_code == 200
    MAKE_ROW[model]()
    MAKE_ROW[model]()
    with CaptureQueriesContext(connection) as three_rows:
        response = admin_client.get(_url(model, "changelist"))

    assert response.context["cl"].result_count == model.objects.count() >= 3
    assert len(three_rows) == len(one_row)


@pytest.mark.parametrize("model", PORTAL_MODELS, ids=lambda m: m._meta.label)
def test_admin_search_box_answers_without_error(admin_client, model):
    MAKE_ROW[model]()

    response = admin_client.get(_url(model, "changelist"), {"q": "ana O'Brien <x>"})

    assert response.status_code == 200


# --- SystemSetting -------------------------------------------------------------------------------------------


def test_setting_list_shows_value_typed_default_and_description(admin_client):
    SystemSetting.objects.create(setting_key="payment_hold_hours", setting_value="24")
    SystemSetting.objects.create(setting_key="registration_open", setting_value="no")

    response = admin_client.get(_url(SystemSetting, "changelist"))

    rows = {row[0]: row for row in _result_texts(response)}
    assert rows["payment_hold_hours"][1:4] == ["24", "48", DEFINITIONS["payment_hold_hours"].description]
    assert rows["registration_open"][1:3] == ["no", "yes"]


def _result_texts(response):
    """The changelist's rows as lists of cell texts (without the checkbox column)."""
    html = response.content.decode()
    table = html.split('id="result_list"', 1)[1]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for tr in re.findall(r"<tr.*?</tr>", body, flags=re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, flags=re.S)
        rows.append([re.sub(r"<[^>]+>", "", cell).strip() for cell in cells[1:]])
    return rows


def test_setting_add_form_offers_only_keys_without_a_row(admin_client):
    SystemSetting.objects.create(setting_key="studio_name", setting_value="Salsa Loft")

    response = admin_client.get(_url(SystemSetting, "add"))

    offered = [key for key, _label in response.context["adminform"].form.fields["setting_key"].choices if key]
    assert offered == [key for key in DEFINITIONS if key != "studio_name"]


def test_setting_add_is_refused_when_every_key_has_a_row(admin_client):
    for key, definition in DEFINITIONS.items():
        SystemSetting.objects.create(setting_key=key, setting_value=str(definition.default))

    assert admin_client.get(_url(SystemSetting, "add")).status_code == 403


def test_setting_key_is_read_only_on_change(admin_client):
    SystemSetting.objects.create(setting_key="venmo_username", setting_value="salsa-loft")

    response = admin_client.post(
        _url(SystemSetting, "change", "venmo_username"),
        {"setting_key": "zelle_email", "setting_value": "salsa-loft2", "description": ""},
    )

    assert response.status_code == 302
    assert list(SystemSetting.objects.values_list("setting_key", "setting_value")) == [
        ("venmo_username", "salsa-loft2")
    ]


@pytest.mark.parametrize("bad_username", ["ab", "has space", "<script>", "x" * 31, "dance.studio"])
def test_setting_change_rejects_malformed_venmo_username_and_keeps_old_value(admin_client, bad_username):
    SystemSetting.objects.create(setting_key="venmo_username", setting_value="salsa-loft")

    response = admin_client.post(
        _url(SystemSetting, "change", "venmo_username"), {"setting_value": bad_username, "description": ""}
    )

    assert response.status_code == 200
    assert "A Venmo username has 5–30 letters" in response.context["adminform"].form.errors["setting_value"][0]
    assert SystemSetting.objects.get().setting_value == "salsa-loft"


def test_setting_add_rejects_malformed_value_and_creates_nothing(admin_client):
    response = admin_client.post(
        _url(SystemSetting, "add"), {"setting_key": "payment_hold_hours", "setting_value": "lots", "description": ""}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["setting_value"] == ["Enter a whole number."]
    assert not SystemSetting.objects.exists()


def test_setting_add_saves_a_valid_value(admin_client):
    response = admin_client.post(
        _url(SystemSetting, "add"), {"setting_key": "venmo_username", "setting_value": "Salsa-Loft", "description": ""}
    )

    assert response.status_code == 302
    assert SystemSetting.objects.get().setting_value == "Salsa-Loft"


# --- EmailLog ------------------------------------------------------------------------------------------------


def test_email_log_is_read_only(admin_client):
    email = _email_log()

    post = admin_client.post(_url(EmailLog, "change", email.pk), {"subject": "changed"})
    delete = admin_client.post(_url(EmailLog, "delete", email.pk), {"post": "yes"})
    changelist = admin_client.get(_url(EmailLog, "changelist"))

    assert post.status_code == 403
    assert delete.status_code == 403
    # The one action is "Resend" (a new row): not even "delete selected".
    assert [name for name, _label in changelist.context["action_form"].fields["action"].choices if name] == ["resend"]
    assert EmailLog.objects.get().subject == "Your registration"


def test_email_log_view_shows_subject_and_bodies_escaped(admin_client):
    email = EmailLog.objects.create(
        kind="registration_received",
        to_email="ana@example.org",
        subject="Welcome O'Brien & Sons",
        body_text="Pay with reference DRP-7K3Q",
        body_html='<p>Hi</p><script>alert("x")</script><img src=x onerror=alert(1)>',
    )

    html = admin_client.get(_url(EmailLog, "change", email.pk)).content.decode()

    assert "Welcome O&#x27;Brien &amp; Sons" in html
    assert "Pay with reference DRP-7K3Q" in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert '<script>alert("x")' not in html
    assert "<img src=x" not in html
    assert "<p>Hi</p>" not in html


# --- settings overview, email resend, waitlist and attendance exports -------------------------------------------------


def test_setting_changelist_lists_every_known_key_with_or_without_a_row(admin_client):
    SystemSetting.objects.create(setting_key="payment_hold_hours", setting_value="24")

    response = admin_client.get(_url(SystemSetting, "changelist"))

    overview = {row["key"]: row for row in response.context["settings_overview"]}
    assert list(overview) == list(DEFINITIONS)
    assert (overview["payment_hold_hours"]["value"], overview["payment_hold_hours"]["default"]) == ("24", "48")
    assert overview["payment_hold_hours"]["row"] is not None
    assert (overview["registration_open"]["value"], overview["registration_open"]["row"]) == ("yes", None)
    html = response.content.decode()
    for key, definition in DEFINITIONS.items():
        assert key in html
        assert str(definition.description) in html
    assert f"{_url(SystemSetting, 'add')}?setting_key=studio_name" in html


def test_setting_set_link_opens_the_add_form_with_the_key_chosen(admin_client):
    response = admin_client.get(_url(SystemSetting, "add"), {"setting_key": "venmo_username"})
    unknown = admin_client.get(_url(SystemSetting, "add"), {"setting_key": "no_such_key"})

    assert response.context["adminform"].form.initial["setting_key"] == "venmo_username"
    assert "setting_key" not in unknown.context["adminform"].form.initial


def test_resend_records_a_new_email_and_delivers_it(admin_client, mailoutbox, django_capture_on_commit_callbacks):
    original = EmailLog.objects.create(
        kind="payment_confirmed",
        to_email="ana@example.org",
        subject="Payment received",
        body_text="Thanks",
        body_html="<p>Thanks</p>",
        status=EmailLog.Status.FAILED,
        dedupe_key="payment_confirmed:1",
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            _url(EmailLog, "changelist"), {"action": "resend", "_selected_action": [original.pk]}
        )

    assert response.status_code == 302
    copy = EmailLog.objects.exclude(pk=original.pk).get()
    assert (copy.kind, copy.to_email, copy.subject, copy.body_text) == (
        "payment_confirmed",
        "ana@example.org",
        "Payment received",
        "Thanks",
    )
    assert copy.dedupe_key is None
    assert copy.status == EmailLog.Status.SENT
    assert [m.subject for m in mailoutbox] == ["Payment received"]
    original.refresh_from_db()
    assert original.status == EmailLog.Status.FAILED


def test_resend_with_notifications_off_records_a_skipped_copy(admin_client, mailoutbox):
    SystemSetting.objects.create(setting_key="email_notifications_enabled", setting_value="off")
    original = _email_log()

    admin_client.post(_url(EmailLog, "changelist"), {"action": "resend", "_selected_action": [original.pk]})

    assert EmailLog.objects.exclude(pk=original.pk).get().status == EmailLog.Status.SKIPPED
    assert mailoutbox == []


def test_email_log_page_links_the_registration_it_is_about(admin_client):
    registration = RegistrationFactory()
    log = EmailLog.objects.create(
        kind="registration_received",
        to_email=registration.student.email,
        subject="Registration received",
        body_text="Hi",
        dedupe_key=f"registration_received:{registration.pk}",
        about=registration,
    )

    html = admin_client.get(_url(EmailLog, "change", log.pk)).content.decode()

    assert _url(Registration, "change", registration.pk) in html
    assert registration.reference in html


def test_a_resent_email_keeps_the_link_to_what_it_is_about(admin_client):
    registration = RegistrationFactory()
    original = EmailLog.objects.create(
        kind="registration_received", to_email="a@example.org", subject="S", body_text="Hi", about=registration
    )

    admin_client.post(_url(EmailLog, "changelist"), {"action": "resend", "_selected_action": [original.pk]})

    assert EmailLog.objects.exclude(pk=original.pk).get().about == registration


def _call_action(action, model, queryset, admin_user, rf):
    request = rf.post("/")
    request.user = admin_user
    return action(admin.site._registry[model], request, queryset)


def _csv_rows(response):
    import csv
    import io

    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_waitlist_export_is_formula_safe_utf8_with_a_bom(admin_user, rf):
    from waitlist.admin import export_waitlist_csv

    entry = WaitlistEntryFactory(
        student=StudentFactory(first_name="@SUM(A1)", last_name="Nguyễn", phone="+1 415 555 0100"),
        course=CourseFactory(name="House L1"),
        waitlist_position=1,
    )

    response = _call_action(export_waitlist_csv, WaitlistEntry, WaitlistEntry.objects.all(), admin_user, rf)

    header, row = _csv_rows(response)
    assert header[:5] == ["Course", "Position", "First name", "Last name", "Email"]
    assert row[:6] == ["House L1", "1", "'@SUM(A1)", "Nguyễn", entry.student.email, "'+1 415 555 0100"]
    assert row[7] == "Waiting"


def test_attendance_export_is_formula_safe_utf8_with_a_bom(admin_user, rf):
    from attendance.admin import export_attendance_csv

    record = AttendanceRecordFactory(student=StudentFactory(first_name="\tTab", last_name="=1+1"))

    response = _call_action(export_attendance_csv, AttendanceRecord, AttendanceRecord.objects.all(), admin_user, rf)

    header, row = _csv_rows(response)
    assert header == [
        "Date",
        "Start",
        "Course",
        "First name",
        "Last name",
        "Email",
        "Status",
        "Marked by",
        "Marked at",
    ]
    assert row[0] == record.session.session_date.isoformat()
    assert (row[3], row[4], row[6]) == ("'\tTab", "'=1+1", "Present")
