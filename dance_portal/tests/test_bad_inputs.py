"""The bad-input catalogue (docs/bad-inputs.md) walked through the real views.

Each case asserts the clear message or status and that nothing was written. Many rows also have detailed tests next
to their feature (registrations/, waitlist/, attendance/, students/ tests); this module keeps one compact case of each
in one place. Row numbers refer to docs/bad-inputs.md.
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from attendance.models import AttendanceRecord
from attendance.tests.factories import ClassSessionFactory
from courses.models import Course, CourseSlot
from courses.tests.factories import CourseFactory, priced_slot
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from registrations.transitions import cancel_registration
from students.models import Student
from students.services import make_sign_in_token
from students.tests.factories import CrewMemberFactory, StudentFactory
from studio.models import EmailLog
from waitlist import offers as waitlist_offers
from waitlist import services as waitlist_services
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import full_slot, offer_token, student_details

pytestmark = pytest.mark.django_db

HUGE = 10**30
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def form(slot, /, **overrides) -> dict:
    """A valid registration POST for `slot` (the form's field names)."""
    return {
        "email": "ana@example.org",
        "first_name": "Ana",
        "last_name": "Lima",
        "phone": "",
        "instagram_handle": "",
        "slot": str(slot.pk),
        "pricing_type": "full_package",
        "class_date": "",
        "payment_method": "venmo",
        **overrides,
    }


def written() -> tuple[int, int, int, int, int]:
    """Rows a public form could write: students, registrations, waitlist entries, attendance records, emails."""
    return (
        Student.objects.count(),
        Registration.objects.count(),
        WaitlistEntry.objects.count(),
        AttendanceRecord.objects.count(),
        EmailLog.objects.count(),
    )


def staff_client(group: str, *, superuser: bool = False) -> Client:
    user = User.objects.create_user(username=group.lower().replace(" ", "-"), is_staff=True, is_superuser=superuser)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def slot():
    return priced_slot(course=CourseFactory(name="House L1"), full_package="120.00", drop_in="35.00")


# --- A. Eligibility and authorisation ---------------------------------------------------------------------------------


def test_1_general_student_posting_to_a_crew_only_course_gets_404_and_nothing_is_written(client):
    crew_slot = priced_slot(course=CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER))
    StudentFactory(email="ana@example.org")
    before = written()

    response = client.post(reverse("registrations:create", args=[crew_slot.course.pk]), form(crew_slot))

    assert response.status_code == 404
    assert written() == before


def test_2_slot_of_another_course_is_a_field_error_and_nothing_is_written(client, slot):
    other = priced_slot(full_package="5.00")

    response = client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot, slot=str(other.pk)))

    assert response.status_code == 200
    assert "Choose a valid time slot." in response.content.decode()
    assert written() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    "tampered",
    [
        {"price": "0", "amount": "1", "payment_amount": "0.01"},
        {"payment_status": "completed", "status": "active", "is_crew": "1", "student_type": "crew_member"},
    ],
    ids=["amount", "mass-assignment"],
)
def test_4_5_tampered_amount_and_extra_fields_are_ignored(client, slot, tampered):
    client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot, **tampered))

    registration = Registration.objects.select_related("student").get()
    assert registration.payment_amount == Decimal("120.00")
    assert registration.payment_status == Registration.PaymentStatus.PENDING
    assert registration.student.student_type == Student.StudentType.GENERAL


def test_8_marking_attendance_for_someone_not_on_the_roster_is_400_and_saves_nothing(slot):
    today = timezone.localdate()
    course = CourseFactory(start_date=today - datetime.timedelta(days=7), end_date=today + datetime.timedelta(days=7))
    session = ClassSessionFactory(slot=priced_slot(course=course, day_of_week=today.weekday()), session_date=today)
    on_roster = RegistrationFactory(slot=session.slot, payment_status=Registration.PaymentStatus.COMPLETED).student
    elsewhere = RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.COMPLETED).student
    door = staff_client("Instructor")

    response = door.post(
        reverse("attendance:detail", args=[session.pk]),
        {f"mark-{on_roster.pk}": "present", f"mark-{elsewhere.pk}": "present"},
    )

    assert response.status_code == 400
    assert "is not on this class&#x27;s roster" in response.content.decode()
    assert not AttendanceRecord.objects.exists()


def test_instructor_cannot_confirm_a_payment(slot):
    registration = RegistrationFactory(slot=slot)
    instructor = staff_client("Instructor")

    response = instructor.post(
        reverse("admin:registrations_registration_changelist"),
        {"action": "confirm_payments", "_selected_action": [registration.pk]},
        follow=True,
    )

    registration.refresh_from_db()
    # The action is not offered to an Instructor (who has no actions at all): nothing happens.
    assert "Confirmed the payment" not in response.content.decode()
    assert registration.payment_status == Registration.PaymentStatus.PENDING
    assert registration.confirmed_by is None
    assert not EmailLog.objects.filter(kind="payment_confirmed").exists()


# --- Unknown, negative and huge ids in every URL with an id: 404, never 500 -------------------------------------------


UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", f"/courses/{HUGE}/"),
        ("get", "/courses/0/"),
        ("get", "/courses/-1/"),
        ("post", f"/courses/{HUGE}/register/"),
        ("get", f"/registrations/{UNKNOWN_UUID}/"),
        ("get", "/registrations/123/"),
        ("post", f"/registrations/{UNKNOWN_UUID}/report-payment/"),
        ("post", f"/waitlist/join/{HUGE}/"),
        ("post", "/waitlist/join/-1/"),
        ("get", f"/waitlist/{UNKNOWN_UUID}/"),
        ("post", f"/waitlist/{UNKNOWN_UUID}/leave/"),
        ("get", "/waitlist/offer/" + "A" * 43 + "/"),
        ("get", "/waitlist/offer/" + "x" * 5000 + "/"),
        ("get", "/me/sign-in/not-a-token/"),
        ("get", "/me/calendar/" + "x" * 43 + ".ics"),
    ],
)
def test_unknown_negative_or_huge_ids_in_public_urls_are_404(client, method, url):
    response = getattr(client, method)(url)

    assert response.status_code == 404
    assert written() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("public_id", [UNKNOWN_UUID, "other-students"])
def test_6_signed_in_student_opening_an_unknown_or_someone_elses_registration_gets_404(client, slot, public_id):
    others = RegistrationFactory(slot=slot)
    student = StudentFactory()
    client.post(reverse("students:sign_in", args=[make_sign_in_token(student)]))
    public_id = others.public_id if public_id == "other-students" else public_id

    page = client.get(reverse("portal:cancel_registration", args=[public_id]))
    cancel = client.post(reverse("portal:cancel_registration", args=[public_id]))

    others.refresh_from_db()
    assert page.status_code == cancel.status_code == 404
    assert others.payment_status == Registration.PaymentStatus.PENDING


@pytest.mark.parametrize(
    "url",
    [
        f"/attendance/{HUGE}/",
        "/attendance/-1/",
        f"/attendance/course/{HUGE}/",
    ],
)
def test_unknown_or_huge_ids_on_staff_pages_are_404(url):
    assert staff_client("Instructor").get(url).status_code == 404


def test_a_huge_id_in_the_completion_export_is_404_for_the_studio_admin_who_may_export():
    assert staff_client("Studio admin").get(f"/attendance/course/{HUGE}/export.csv").status_code == 404


def test_huge_ids_in_the_attendance_mark_url_are_404():
    response = staff_client("Instructor").post(f"/attendance/{HUGE}/mark/{HUGE}/", {f"mark-{HUGE}": "present"})

    assert response.status_code == 404


@pytest.mark.parametrize("object_id", [str(HUGE), "-1", "abc"])
@pytest.mark.parametrize("model", ["courses/course", "registrations/registration", "students/student"])
def test_unknown_ids_in_admin_change_pages_redirect_with_a_message(model, object_id):
    owner = staff_client("Studio admin", superuser=True)

    response = owner.get(f"/admin/{model}/{object_id}/change/", follow=True)

    assert response.status_code == 200
    assert "doesn’t exist. Perhaps it was deleted?" in response.content.decode()


# --- B. Course and slot configuration in the admin --------------------------------------------------------------------


def admin_course(**slot_overrides) -> dict:
    start = timezone.localdate() + datetime.timedelta(days=30)
    slot_fields = {
        "day_of_week": str(start.weekday()),
        "practice_date": "",
        "start_time": "19:00",
        "end_time": "20:30",
        "capacity": "12",
        "difficulty_level": CourseSlot.DifficultyLevel.ALL_LEVELS,
        "location": "Studio A",
        "full_package_price": "120.00",
        "drop_in_price": "35.00",
        **slot_overrides,
    }
    return {
        "name": "House L1",
        "course_type": Course.CourseType.SERIES,
        "required_student_type": Course.RequiredStudentType.ANY,
        "is_active": "on",
        "makeup_policy": Course.MakeupPolicy.LEVEL,
        "start_date": start.isoformat(),
        "end_date": (start + datetime.timedelta(days=21)).isoformat(),
        "instructor": "",
        "level": "",
        "description": "",
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "0",
        "slots-MIN_NUM_FORMS": "0",
        "slots-MAX_NUM_FORMS": "1000",
        **{f"slots-0-{key}": value for key, value in slot_fields.items()},
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"capacity": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"capacity": "-3"}, "Ensure this value is greater than or equal to"),
        ({"capacity": "2.5"}, "Enter a whole number."),
        ({"capacity": "1000000000"}, "Ensure this value is less than or equal to 500."),
        ({"capacity": ""}, "This field is required."),
        ({"end_time": "18:00"}, "The class must end after it starts."),
        ({"full_package_price": "-5"}, "Ensure this value is greater than or equal to 0."),
        ({"full_package_price": "NaN"}, "Enter a number."),
    ],
)
def test_10_12_14_bad_slot_values_in_the_course_admin_are_field_errors_and_save_nothing(overrides, message):
    owner = staff_client("Studio admin", superuser=True)

    response = owner.post(reverse("admin:courses_course_add"), admin_course(**overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Course.objects.exists()


def test_12_course_ending_before_it_starts_is_a_field_error_in_the_admin():
    owner = staff_client("Studio admin", superuser=True)
    data = admin_course()
    data["end_date"] = (datetime.date.fromisoformat(data["start_date"]) - datetime.timedelta(days=1)).isoformat()

    response = owner.post(reverse("admin:courses_course_add"), data)

    assert "The end date must be on or after the start date." in response.content.decode()
    assert not Course.objects.exists()


# --- C. Identity and free text ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["ANA@Example.ORG", "  ana@example.org  ", "\tAna@example.org\n"])
def test_15_17_same_email_in_other_case_or_with_spaces_gives_one_student_and_one_registration(client, slot, email):
    client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot))

    response = client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot, email=email))

    assert response.status_code == 200
    assert "already registered" in response.content.decode()
    assert Student.objects.get().email == "ana@example.org"
    assert Registration.objects.count() == 1


def test_16_non_ascii_case_variant_is_the_same_student(client, slot):
    client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot, email="anne@bücher.example"))
    client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot, email="ANNE@BÜCHER.example"))

    assert Student.objects.get().email == "anne@bücher.example"
    assert Registration.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", "A" * 300, "Ensure this value has at most 100 characters (it has 300)."),
        ("first_name", "Ana\x00", "Null characters are not allowed."),
        ("last_name", "Lima\r\nBcc: victim@example.org", "Remove the special (control) characters"),
        ("email", "mailto:ana@example.org", "Enter a valid email address."),
        ("email", "ana@example.org, ben@example.org", "Enter a valid email address."),
    ],
    ids=["300-characters", "nul-byte", "newline-header-injection", "mailto", "two-addresses"],
)
def test_18_20_23_bad_text_is_a_field_error_and_nothing_is_written(client, slot, field, value, message):
    response = client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot, **{field: value}))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert written() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("name", ["Zoë 💃", "محمد", "李小龍", "O'Brien & Sons", "A" * 100])
def test_19_unicode_emoji_and_100_character_names_are_stored_as_typed(client, slot, name):
    client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot, first_name=name))

    assert Student.objects.get().first_name == name


def test_21_22_script_names_are_escaped_in_pages_and_html_email_and_literal_in_text_email_and_csv(
    client, slot, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("registrations:create", args=[slot.course.pk]), form(slot, first_name=f"{SCRIPT} O'Brien & Sons")
        )
    registration = Registration.objects.get()
    session = ClassSessionFactory(slot=slot, session_date=slot.class_dates()[0])
    Registration.objects.filter(pk=registration.pk).update(
        payment_status=Registration.PaymentStatus.COMPLETED, confirmed_at=timezone.now()
    )
    owner = staff_client("Studio admin", superuser=True)

    pages = {
        "admin students": owner.get(reverse("admin:students_student_changelist")),
        "admin registrations": owner.get(reverse("admin:registrations_registration_changelist")),
        "admin student page": owner.get(reverse("admin:students_student_change", args=[registration.student_id])),
        "tablet roster": owner.get(reverse("attendance:detail", args=[session.pk])),
    }
    email = EmailLog.objects.get(kind="registration_received")
    csv = owner.post(
        reverse("admin:registrations_registration_changelist"),
        {"action": "export_csv", "_selected_action": [registration.pk]},
    )

    for name, page in pages.items():
        html = page.content.decode()
        assert page.status_code == 200, name
        assert ESCAPED in html, name
        assert SCRIPT not in html, name
    assert SCRIPT not in email.body_html and ESCAPED in email.body_html
    assert "O&#x27;Brien &amp; Sons" in email.body_html
    assert "O'Brien & Sons" in email.body_text
    assert SCRIPT in email.body_text and "O'Brien & Sons" in email.body_text
    assert [message.to for message in mailoutbox] == [["ana@example.org"]]
    assert SCRIPT in csv.content.decode("utf-8-sig")


def test_27_formula_names_are_defused_in_the_csv_export(client, slot):
    client.post(
        reverse("registrations:create", args=[slot.course.pk]), form(slot, first_name='=HYPERLINK("http://evil","x")')
    )
    owner = staff_client("Studio admin", superuser=True)

    csv = owner.post(
        reverse("admin:registrations_registration_changelist"),
        {"action": "export_csv", "_selected_action": [Registration.objects.get().pk]},
    ).content.decode("utf-8-sig")

    assert "'=HYPERLINK" in csv


def test_23_newline_in_a_stored_name_never_reaches_an_email_subject_or_header(
    slot, mailoutbox, django_capture_on_commit_callbacks
):
    # The public form refuses control characters; a name typed in the admin (or older data) is made safe on sending.
    student = StudentFactory(first_name="Ana\r\nBcc: victim@example.org")
    registration = RegistrationFactory(slot=slot, student=student)

    with django_capture_on_commit_callbacks(execute=True):
        cancel_registration(registration=registration, reason="test")

    assert EmailLog.objects.exists()
    for log in EmailLog.objects.all():
        assert "\n" not in log.subject and "\r" not in log.subject
    assert mailoutbox
    for message in mailoutbox:
        assert message.to == [student.email]
        assert not message.bcc and not message.cc
        headers = " ".join(f"{name}: {value}" for name, value in message.message().items())
        assert "victim@example.org" not in headers


# --- D. Double submit -------------------------------------------------------------------------------------------------


def test_25_double_submit_creates_one_registration_and_answers_already_registered(client, slot):
    first = client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot))
    second = client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot))

    assert first.status_code == 302
    assert second.status_code == 200
    assert "already registered" in second.content.decode()
    assert Registration.objects.count() == 1


# --- E. Waitlist offer tokens -----------------------------------------------------------------------------------------


@pytest.fixture
def offered(django_capture_on_commit_callbacks):
    """A full slot whose freed seat was offered to waitera; waiterb waits behind. Returns (entry, offer url)."""
    slot = full_slot()
    for n in "ab":
        waitlist_services.join_waitlist(course=slot.course, details=student_details(n))
    with django_capture_on_commit_callbacks(execute=True):
        cancel_registration(registration=slot.seat_holders[0], reason="test")
    entry = WaitlistEntry.objects.get(student__email="waitera@example.org", status=WaitlistEntry.Status.OFFERED)
    return entry, reverse("waitlist:offer", args=[offer_token("waitera@example.org")])


ACCEPT = {"action": "accept", "payment_method": "venmo"}


def spoil_reused(entry, client, url):
    client.post(url, ACCEPT)


def spoil_expired(entry, client, url):
    WaitlistEntry.objects.filter(pk=entry.pk).update(offer_expires_at=timezone.now() - datetime.timedelta(minutes=1))


def spoil_revoked(entry, client, url):
    waitlist_offers.revoke_offers(entries=[entry])


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (spoil_reused, "This offer has already been used"),
        (spoil_expired, "This offer has expired"),
        (spoil_revoked, "This offer was withdrawn"),
    ],
    ids=["reused", "expired", "revoked"],
)
def test_34_35_41_spoiled_offers_answer_410_with_the_reason_and_register_nothing_more(client, offered, spoil, message):
    entry, url = offered
    spoil(entry, client, url)
    registrations = Registration.objects.filter(student=entry.student).count()

    response = client.post(url, ACCEPT)

    assert response.status_code == 410
    assert message in response.content.decode()
    assert Registration.objects.filter(student=entry.student).count() == registrations


def test_36_offer_posted_with_another_courses_slot_registers_into_the_offered_slot(client, offered):
    entry, url = offered
    other = priced_slot()

    client.post(url, {**ACCEPT, "slot": other.pk, "course": other.course_id})

    assert Registration.objects.get(student=entry.student).slot == entry.offer_slot


def test_39_get_of_an_offer_link_changes_nothing(client, offered):
    entry, url = offered
    before = (written(), WaitlistEntry.objects.get(pk=entry.pk).updated_at)

    for _ in range(3):
        assert client.get(url).status_code == 200

    assert (written(), WaitlistEntry.objects.get(pk=entry.pk).updated_at) == before


# --- F. Auth, sessions, abuse -----------------------------------------------------------------------------------------


def test_45_posts_without_a_csrf_token_are_refused_with_403(slot, offered):
    _entry, offer_url = offered
    session = ClassSessionFactory(slot=slot, session_date=slot.class_dates()[0])
    before = written()
    browser = Client(enforce_csrf_checks=True)
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(User.objects.create_user(username="door", is_staff=True))

    responses = [
        browser.post(reverse("registrations:create", args=[slot.course.pk]), form(slot)),
        browser.post(reverse("waitlist:join", args=[slot.course_id]), form(slot)),
        browser.post(offer_url, ACCEPT),
        browser.post(reverse("portal:home"), {"email": "ana@example.org"}),
        staff.post(reverse("attendance:detail", args=[session.pk]), {}),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    assert written() == before


def test_46_pages_cannot_be_framed(client):
    response = client.get("/")

    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_47_host_header_poisoning_is_refused_and_emailed_links_use_site_url(
    client, slot, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://studio.example.org"

    # Committed: the email is rendered after the commit.
    with django_capture_on_commit_callbacks(execute=True):
        poisoned = client.post(
            reverse("registrations:create", args=[slot.course.pk]), form(slot), headers={"host": "evil.example"}
        )
        client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot), headers={"host": "localhost"})

    email = EmailLog.objects.get(kind="registration_received")
    assert poisoned.status_code == 400
    assert "https://studio.example.org/registrations/" in email.body_text
    assert "localhost" not in email.body_text + email.body_html
    assert "evil.example" not in email.body_text + email.body_html


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "https:/\\evil.example"])
def test_48_admin_login_ignores_an_offsite_next(client, target):
    User.objects.create_user(username="owner", password="a-long-staff-password-1", is_staff=True)

    response = client.post(
        reverse("admin:login") + f"?next={target}",
        {"username": "owner", "password": "a-long-staff-password-1", "next": target},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_49_staff_account_disabled_while_signed_in_is_sent_to_the_login_page():
    user = User.objects.create_user(username="door", is_staff=True)
    client = Client()
    client.force_login(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = client.get(reverse("attendance:list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_crew_member_signed_out_is_treated_as_general_on_a_crew_only_course(client):
    crew_slot = priced_slot(course=CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER))
    CrewMemberFactory(email="crew@example.org")

    response = client.post(
        reverse("registrations:create", args=[crew_slot.course.pk]), form(crew_slot, email="crew@example.org")
    )

    # Typing a crew member's address is not proof of being them (README "Registrations and seats"): the course stays
    # hidden.
    assert response.status_code == 404
    assert not Registration.objects.exists()
