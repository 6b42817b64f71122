import csv
import datetime
import io

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from attendance.models import AttendanceRecord, ClassSession
from attendance.tests.factories import AbsenceFactory, AttendanceRecordFactory, ClassSessionFactory, MakeUpFactory
from courses.formatting import day, time_of_day
from courses.tests.factories import CourseFactory, CourseSlotFactory
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

Status = AttendanceRecord.Status
PaymentStatus = Registration.PaymentStatus
DAY = datetime.timedelta(days=1)
HTMX = {"HTTP_HX_REQUEST": "true"}
# Roster page for one staff user: auth session + user, the user's and their groups' permissions (access goes by
# permission, README "Roles"), the session, the roster's registrations, make-up students, records and excused
# absences, the studio settings and the logo's URL of base.html. The same for 10 and 60 students.
ROSTER_PAGE_QUERIES = 11


def session_on(date: datetime.date, *, name=None) -> ClassSession:
    course = CourseFactory(start_date=date - 14 * DAY, end_date=date + 14 * DAY, **({"name": name} if name else {}))
    slot = CourseSlotFactory(course=course, day_of_week=date.weekday())
    return ClassSessionFactory(slot=slot, session_date=date)


def paid(session, **kwargs) -> Registration:
    return RegistrationFactory(slot=session.slot, payment_status=PaymentStatus.COMPLETED, payment_due_at=None, **kwargs)


@pytest.fixture
def instructor(db) -> User:
    """A staff user in the Instructor group, not a superuser."""
    user = User.objects.create_user(username="door", is_staff=True)  # no password: hashing is slow
    user.groups.add(Group.objects.get_or_create(name="Instructor")[0])
    return user


@pytest.fixture
def door(client, instructor) -> Client:
    client.force_login(instructor)
    return client


@pytest.fixture
def owner(db) -> Client:
    """A client signed in as a staff user in the Studio admin group (exports with contact details are theirs)."""
    user = User.objects.create_user(username="owner", is_staff=True)
    user.groups.add(Group.objects.get(name="Studio admin"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def today_session() -> ClassSession:
    return session_on(timezone.localdate())


def detail_url(session) -> str:
    return reverse("attendance:detail", args=[session.pk])


def mark_url(session, student) -> str:
    return reverse("attendance:mark", args=[session.pk, student.pk])


# --- who may see the pages -----------------------------------------------------------------------------------------


def staff_urls(session):
    return [
        ("get", reverse("attendance:list")),
        ("get", detail_url(session)),
        ("post", detail_url(session)),
        ("post", reverse("attendance:mark", args=[session.pk, 1])),
        ("get", reverse("attendance:completion", args=[session.course_id])),
        ("get", reverse("attendance:export", args=[session.course_id])),
    ]


def test_attendance_pages_send_anonymous_visitors_to_the_admin_login(client, today_session):
    for method, url in staff_urls(today_session):
        response = getattr(client, method)(url)

        assert response.status_code == 302
        assert response["Location"] == f"/admin/login/?next={url}"
    assert not AttendanceRecord.objects.exists()


def test_attendance_pages_send_non_staff_users_to_the_admin_login(client, today_session):
    student_user = User.objects.create_user(username="student")
    client.force_login(student_user)
    student = paid(today_session).student

    for method, url in staff_urls(today_session):
        response = getattr(client, method)(url, {f"mark-{student.pk}": Status.PRESENT} if method == "post" else None)

        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/?next=")
    assert not AttendanceRecord.objects.exists()


def test_attendance_pages_send_a_deactivated_staff_user_to_the_admin_login(door, instructor, today_session):
    User.objects.filter(pk=instructor.pk).update(is_active=False)

    response = door.get(reverse("attendance:list"))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_attendance_pages_open_for_an_instructor_who_is_not_a_superuser(door, instructor, today_session):
    assert not instructor.is_superuser
    for method, url in staff_urls(today_session):
        if method == "get":
            # The completion CSV carries students' emails: Studio admins only.
            expected = 403 if url.endswith(".csv") else 200
            assert door.get(url).status_code == expected, url


def test_a_staff_user_in_neither_group_cannot_use_the_attendance_pages(client, today_session):
    client.force_login(User.objects.create_user(username="staff-only", is_staff=True))

    for method, url in staff_urls(today_session):
        assert getattr(client, method)(url).status_code == 403, url
    assert not AttendanceRecord.objects.exists()


def test_attendance_post_without_csrf_token_is_refused(instructor, today_session):
    client = Client(enforce_csrf_checks=True)
    client.force_login(instructor)
    student = paid(today_session).student

    response = client.post(detail_url(today_session), {f"mark-{student.pk}": Status.PRESENT})

    assert response.status_code == 403
    assert not AttendanceRecord.objects.exists()


# --- session list --------------------------------------------------------------------------------------------------


def test_session_list_shows_today_first_then_next_and_last_week(door):
    today = timezone.localdate()
    session_on(today - DAY, name="Yesterday class")
    session_on(today + DAY, name="Tomorrow class")
    session_on(today, name="Today class")
    session_on(today + 30 * DAY, name="Far away class")

    html = door.get(reverse("attendance:list")).content.decode()

    assert html.index("Today class") < html.index("Tomorrow class") < html.index("Yesterday class")
    assert "Far away class" not in html


def test_session_list_marks_canceled_sessions_and_counts_marks(door, today_session):
    canceled = session_on(timezone.localdate() + DAY, name="Called off")
    ClassSession.objects.filter(pk=canceled.pk).update(is_canceled=True, canceled_at=timezone.now())
    ana = paid(today_session).student
    paid(today_session)
    AttendanceRecordFactory(session=today_session, student=ana)

    html = door.get(reverse("attendance:list")).content.decode()

    assert "1/2 marked" in html
    assert "Canceled" in html


# --- roster page ---------------------------------------------------------------------------------------------------


def test_roster_page_lists_paid_students_and_unpaid_ones_apart(door, today_session):
    paid(today_session, student=StudentFactory(first_name="Paula", last_name="Paid"))
    RegistrationFactory(slot=today_session.slot, student=StudentFactory(first_name="Uma", last_name="Unpaid"))
    RegistrationFactory(
        slot=today_session.slot,
        student=StudentFactory(first_name="Cara", last_name="Canceled"),
        payment_status=PaymentStatus.CANCELED,
    )

    response = door.get(detail_url(today_session))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Paula Paid") < html.index("Unpaid – payment not confirmed yet") < html.index("Uma Unpaid")
    assert "Cara Canceled" not in html
    assert "0/2 marked" in html
    assert html.count('type="radio"') == 6
    assert html.count('data-mark-url="/attendance/') == 2


def test_roster_page_shows_stored_marks_checked_and_the_count(door, today_session):
    ana = paid(today_session).student
    paid(today_session)
    AttendanceRecordFactory(session=today_session, student=ana, status=Status.LATE)

    html = door.get(detail_url(today_session)).content.decode()

    assert f'id="mark-{ana.pk}-late" value="late" autocomplete="off" checked' in html
    assert "1/2 marked" in html


def test_roster_page_escapes_names(door, today_session):
    paid(today_session, student=StudentFactory(first_name="<script>alert(1)</script>", last_name="Zoë 💃"))

    html = door.get(detail_url(today_session)).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt; Zoë 💃" in html
    assert "<script>alert(1)" not in html


def test_roster_page_of_an_unknown_session_is_a_404(door):
    response = door.get(reverse("attendance:detail", args=[999999]))

    assert response.status_code == 404
    assert "We couldn't find that page" in response.content.decode()


def test_roster_page_of_a_canceled_session_says_so_and_disables_marking(door, today_session):
    ClassSession.objects.filter(pk=today_session.pk).update(is_canceled=True, canceled_at=timezone.now())
    paid(today_session)

    html = door.get(detail_url(today_session)).content.decode()

    assert "This class was canceled" in html
    assert "disabled" in html
    assert "data-mark-url" not in html


def test_roster_page_of_a_future_session_disables_marking(door):
    session = session_on(timezone.localdate() + DAY)
    paid(session)

    html = door.get(detail_url(session)).content.decode()

    assert "has not happened yet" in html
    assert "data-mark-url" not in html


def normalized(html: str) -> str:
    return " ".join(html.split())


def row_markup(session, student, *, name, badges="", checked="", state, row_class="", saved=None) -> str:
    """A roster row as the page has always printed it (ids, names, the tap's URL, labels), whitespace aside."""
    sid = student.pk
    buttons = "".join(
        f'<input type="radio" class="btn-check" name="mark-{sid}" id="mark-{sid}-{value}" value="{value}" '
        f'autocomplete="off"{" checked" if value == checked else ""}> '
        f'<label class="btn btn-outline-{colour} btn-mark" for="mark-{sid}-{value}">{label}</label> '
        for value, label, colour in [
            ("present", "Present", "success"),
            ("late", "Late", "warning"),
            ("absent", "Absent", "danger"),
        ]
    )
    row_class = (" is-unpaid" if "Unpaid" in badges else "") + row_class
    saved = checked if saved is None else saved
    return normalized(
        f'<div id="row-{sid}" class="roster-row{row_class}" data-roster-row data-student="{sid}" '
        f'data-saved="{saved}"> <div class="roster-name"> '
        f'<span class="roster-student">{name}</span> {badges} </div> '
        f'<fieldset class="roster-marks" data-mark-url="{mark_url(session, student)}"> '
        f'<legend class="visually-hidden">Attendance of {name}</legend> {buttons}'
        f'<input type="hidden" name="was-{sid}" value="{saved}"> </fieldset> <div class="roster-state" aria-live="polite"> {state} </div> </div>'
    )


def test_roster_rows_keep_their_markup(door, today_session):
    paula = paid(today_session, student=StudentFactory(first_name="Paula", last_name="O'Paid")).student
    uma = RegistrationFactory(
        slot=today_session.slot,
        student=StudentFactory(first_name="Uma", last_name="Unpaid"),
        pricing_type="drop_in",
        class_date=today_session.session_date,
    ).student
    nine_oh_five = timezone.make_aware(datetime.datetime.combine(today_session.session_date, datetime.time(9, 5)))
    AttendanceRecordFactory(session=today_session, student=uma, status=Status.LATE, marked_at=nine_oh_five)

    html = normalized(door.get(detail_url(today_session)).content.decode())

    assert (
        row_markup(
            today_session, paula, name="Paula O&#x27;Paid", state='<span class="text-secondary">Not marked</span>'
        )
        in html
    )
    assert (
        row_markup(
            today_session,
            uma,
            name="Uma Unpaid",
            badges='<span class="badge text-bg-warning">Unpaid</span> <span class="badge text-bg-info">Drop-in</span>',
            checked="late",
            state='<span class="text-success">Saved 9:05 am</span>',
        )
        in html
    )


def test_roster_page_shows_posted_marks_checked_after_a_refused_save(door, today_session):
    ana, ben = paid(today_session).student, paid(today_session).student
    AttendanceRecordFactory(session=today_session, student=ben, status=Status.ABSENT)
    ClassSession.objects.filter(pk=today_session.pk).update(is_canceled=True, canceled_at=timezone.now())

    response = door.post(detail_url(today_session), {f"mark-{ana.pk}": Status.LATE, f"mark-{ben.pk}": Status.PRESENT})

    html = response.content.decode()
    assert response.status_code == 400
    assert f'id="mark-{ana.pk}-late" value="late" autocomplete="off" checked' in html
    assert f'id="mark-{ben.pk}-present" value="present" autocomplete="off" checked' in html
    assert f'id="mark-{ben.pk}-absent" value="absent" autocomplete="off">' in html


@pytest.mark.parametrize("students", [10, 60])
def test_roster_page_runs_a_constant_number_of_queries(students, door, today_session, django_assert_max_num_queries):
    for index in range(students):
        registration = paid(today_session) if index % 3 else RegistrationFactory(slot=today_session.slot)
        if index % 2:
            AttendanceRecordFactory(session=today_session, student=registration.student)

    with django_assert_max_num_queries(ROSTER_PAGE_QUERIES):
        response = door.get(detail_url(today_session))

    assert response.status_code == 200
    assert response.content.decode().count('class="btn-check"') == 3 * students


# --- bulk save (no JavaScript) -------------------------------------------------------------------------------------


def test_bulk_save_writes_every_mark_and_redirects_back(door, instructor, today_session):
    ana, ben, uma = (
        paid(today_session).student,
        paid(today_session).student,
        RegistrationFactory(slot=today_session.slot).student,
    )

    response = door.post(
        detail_url(today_session),
        {f"mark-{ana.pk}": Status.PRESENT, f"mark-{ben.pk}": Status.ABSENT, f"mark-{uma.pk}": Status.LATE},
        follow=True,
    )

    assert response.redirect_chain == [(detail_url(today_session), 302)]
    assert "Saved 3 marks." in response.content.decode()
    assert dict(AttendanceRecord.objects.values_list("student_id", "status")) == {
        ana.pk: Status.PRESENT,
        ben.pk: Status.ABSENT,
        uma.pk: Status.LATE,
    }
    assert set(AttendanceRecord.objects.values_list("marked_by", flat=True)) == {instructor.pk}


def test_bulk_save_changes_an_existing_mark(door, today_session):
    ana = paid(today_session).student
    AttendanceRecordFactory(session=today_session, student=ana, status=Status.ABSENT)

    door.post(detail_url(today_session), {f"mark-{ana.pk}": Status.LATE})

    assert list(AttendanceRecord.objects.values_list("status", flat=True)) == [Status.LATE]


def test_all_present_marks_unmarked_paid_students_and_keeps_other_marks(door, today_session):
    ana, ben, cleo = (paid(today_session).student for _ in range(3))
    uma = RegistrationFactory(slot=today_session.slot).student
    AttendanceRecordFactory(session=today_session, student=ana, status=Status.ABSENT)

    door.post(detail_url(today_session), {"all_present": "1", f"mark-{ben.pk}": Status.LATE})

    assert dict(AttendanceRecord.objects.values_list("student_id", "status")) == {
        ana.pk: Status.ABSENT,
        ben.pk: Status.LATE,
        cleo.pk: Status.PRESENT,
    }
    assert uma.pk not in AttendanceRecord.objects.values_list("student_id", flat=True)


def test_the_page_posts_the_marks_it_showed(door, today_session):
    ana, ben = paid(today_session).student, paid(today_session).student
    AttendanceRecordFactory(session=today_session, student=ana, status=Status.LATE)

    html = door.get(detail_url(today_session)).content.decode()

    assert f'<input type="hidden" name="was-{ana.pk}" value="late">' in html
    assert f'<input type="hidden" name="was-{ben.pk}" value="">' in html


def test_all_present_keeps_a_mark_another_tablet_changed_meanwhile_and_says_so(door, today_session):
    ana, ben = paid(today_session).student, paid(today_session).student
    record = AttendanceRecordFactory(session=today_session, student=ana, status=Status.PRESENT)
    # The page showed Ana present (checked) and Ben unmarked; then another tablet marked Ana absent.
    other_tablet = User.objects.create_user(username="front-desk", is_staff=True)
    AttendanceRecord.objects.filter(pk=record.pk).update(status=Status.ABSENT, marked_by=other_tablet)

    response = door.post(
        detail_url(today_session),
        {"all_present": "1", f"mark-{ana.pk}": Status.PRESENT, f"was-{ana.pk}": Status.PRESENT, f"was-{ben.pk}": ""},
        follow=True,
    )

    html = response.content.decode()
    assert dict(AttendanceRecord.objects.values_list("student_id", "status")) == {
        ana.pk: Status.ABSENT,
        ben.pk: Status.PRESENT,
    }
    assert "Saved 1 mark." in html
    assert f"{ana.full_name}: not saved. Marked “Absent” by front-desk at" in html
    assert "Mark again to change it." in html


def test_a_refused_save_keeps_the_marks_its_page_had_shown(door, today_session):
    ana = paid(today_session).student
    AttendanceRecordFactory(session=today_session, student=ana, status=Status.ABSENT)  # changed meanwhile
    ClassSession.objects.filter(pk=today_session.pk).update(is_canceled=True, canceled_at=timezone.now())

    html = door.post(detail_url(today_session), {f"mark-{ana.pk}": Status.LATE, f"was-{ana.pk}": ""}).content.decode()

    assert f'<input type="hidden" name="was-{ana.pk}" value="">' in html


@pytest.mark.parametrize("was", ["maybe", "PRESENT"])
def test_bulk_save_with_an_unreadable_shown_mark_is_a_form_error(door, today_session, was):
    ana = paid(today_session).student

    response = door.post(detail_url(today_session), {f"mark-{ana.pk}": Status.PRESENT, f"was-{ana.pk}": was})

    assert response.status_code == 400
    assert "This page could not be read: reload it." in response.content.decode()
    assert not AttendanceRecord.objects.exists()


def test_bulk_save_with_someone_not_on_the_roster_saves_nothing_and_keeps_the_marks_on_the_page(door, today_session):
    ana = paid(today_session).student
    gone = RegistrationFactory(
        slot=today_session.slot,
        student=StudentFactory(first_name="Gina", last_name="Gone"),
        payment_status=PaymentStatus.CANCELED,
    ).student

    response = door.post(detail_url(today_session), {f"mark-{ana.pk}": Status.LATE, f"mark-{gone.pk}": Status.PRESENT})

    html = response.content.decode()
    assert response.status_code == 400
    assert "Gina Gone is not on this class&#x27;s roster" in html
    assert "Nothing was saved" in html
    assert f'id="mark-{ana.pk}-late" value="late" autocomplete="off" checked' in html
    assert not AttendanceRecord.objects.exists()


@pytest.mark.parametrize("status", ["excused", "", "PRESENT"])
def test_bulk_save_with_an_unknown_status_is_a_form_error(door, today_session, status):
    ana = paid(today_session).student

    response = door.post(detail_url(today_session), {f"mark-{ana.pk}": status})

    assert response.status_code == 400
    assert "Choose present, late or absent" in response.content.decode()
    assert not AttendanceRecord.objects.exists()


def test_bulk_save_on_a_canceled_session_is_refused(door, today_session):
    ana = paid(today_session).student
    ClassSession.objects.filter(pk=today_session.pk).update(is_canceled=True, canceled_at=timezone.now())

    response = door.post(detail_url(today_session), {f"mark-{ana.pk}": Status.PRESENT})

    assert response.status_code == 400
    assert "This class was canceled; attendance cannot be marked." in response.content.decode()
    assert not AttendanceRecord.objects.exists()


def test_bulk_save_on_a_future_session_is_refused(door):
    session = session_on(timezone.localdate() + DAY)
    ana = paid(session).student

    response = door.post(detail_url(session), {f"mark-{ana.pk}": Status.PRESENT})

    assert response.status_code == 400
    assert "attendance can be marked from that day on" in response.content.decode()
    assert not AttendanceRecord.objects.exists()


def test_bulk_save_on_an_unknown_session_is_a_404(door):
    response = door.post(reverse("attendance:detail", args=[999999]), {"mark-1": Status.PRESENT})

    assert response.status_code == 404


def test_bulk_save_ignores_fields_that_are_not_marks(door, today_session):
    ana = paid(today_session).student

    response = door.post(
        detail_url(today_session),
        {f"mark-{ana.pk}": Status.PRESENT, "marked_by": "1", "mark-0": "present", "mark-x": "present"},
    )

    assert response.status_code == 302
    assert list(AttendanceRecord.objects.values_list("student_id", flat=True)) == [ana.pk]


# --- one tap (htmx) ------------------------------------------------------------------------------------------------


def test_tap_saves_one_mark_and_returns_the_row_with_the_new_count(door, instructor, today_session):
    ana = paid(today_session).student
    paid(today_session)

    response = door.post(mark_url(today_session, ana), {f"mark-{ana.pk}": Status.LATE}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert response["X-Attendance-Row"] == str(ana.pk)
    assert html.lstrip().startswith(f'<div id="row-{ana.pk}"')
    assert "<html" not in html
    assert "Saved" in html
    assert f'id="mark-{ana.pk}-late" value="late" autocomplete="off" checked' in html
    assert 'id="marked-count"' in html and 'hx-swap-oob="true"' in html and "1/2 marked" in html
    record = AttendanceRecord.objects.get()
    assert (record.student, record.status, record.marked_by) == (ana, Status.LATE, instructor)


def test_tap_answers_with_the_row_as_the_page_prints_it_marked_just_saved(door, today_session):
    ana = paid(today_session, student=StudentFactory(first_name="Ana", last_name="Ávila")).student

    response = door.post(mark_url(today_session, ana), {f"mark-{ana.pk}": Status.ABSENT}, **HTMX)

    saved_at = AttendanceRecord.objects.get().marked_at
    time_text = time_of_day(timezone.localtime(saved_at).time())
    assert row_markup(
        today_session,
        ana,
        name="Ana Ávila",
        checked="absent",
        state=f'<span class="text-success">✓ Saved {time_text}</span>',
        row_class=" is-saved",
    ) in normalized(response.content.decode())


def test_tap_for_someone_not_on_the_roster_is_a_400_and_writes_nothing(door, today_session):
    outsider = RegistrationFactory(
        slot=CourseSlotFactory(), payment_status=PaymentStatus.COMPLETED, student=StudentFactory(first_name="Otto")
    ).student

    response = door.post(mark_url(today_session, outsider), {f"mark-{outsider.pk}": Status.PRESENT}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 400
    assert response["X-Attendance-Row"] == str(outsider.pk)
    assert f'id="row-{outsider.pk}"' in html
    assert "is not on this class&#x27;s roster" in html
    assert not AttendanceRecord.objects.exists()


def test_tap_for_an_unknown_student_is_a_400(door, today_session):
    url = reverse("attendance:mark", args=[today_session.pk, 424242])

    response = door.post(url, {"mark-424242": "present"}, **HTMX)

    assert response.status_code == 400
    assert not AttendanceRecord.objects.exists()


def test_tap_on_a_session_canceled_meanwhile_is_a_409_with_the_reason(door, today_session):
    ana = paid(today_session).student
    ClassSession.objects.filter(pk=today_session.pk).update(is_canceled=True, canceled_at=timezone.now())

    response = door.post(mark_url(today_session, ana), {f"mark-{ana.pk}": Status.PRESENT}, **HTMX)

    assert response.status_code == 409
    assert "This class was canceled" in response.content.decode()
    assert not AttendanceRecord.objects.exists()


def test_tap_on_a_future_session_is_a_400(door):
    session = session_on(timezone.localdate() + 2 * DAY)
    ana = paid(session).student

    response = door.post(mark_url(session, ana), {f"mark-{ana.pk}": Status.PRESENT}, **HTMX)

    assert response.status_code == 400
    assert not AttendanceRecord.objects.exists()


def test_tap_with_a_bad_status_is_a_400(door, today_session):
    ana = paid(today_session).student

    response = door.post(mark_url(today_session, ana), {f"mark-{ana.pk}": "<b>maybe</b>"}, **HTMX)

    assert response.status_code == 400
    assert "Choose present, late or absent." in response.content.decode()
    assert not AttendanceRecord.objects.exists()


def test_tap_on_an_unknown_session_is_a_404(door):
    response = door.post(reverse("attendance:mark", args=[999999, 1]), {"mark-1": "present"}, **HTMX)

    assert response.status_code == 404


def test_tap_only_answers_post(door, today_session):
    ana = paid(today_session).student

    assert door.get(mark_url(today_session, ana)).status_code == 405


def test_tap_without_htmx_saves_and_redirects_to_the_roster(door, today_session):
    ana = paid(today_session).student

    response = door.post(mark_url(today_session, ana), {f"mark-{ana.pk}": Status.PRESENT})

    assert response.status_code == 302
    assert response["Location"] == detail_url(today_session)
    assert AttendanceRecord.objects.get().student == ana


# --- completion page and CSV ---------------------------------------------------------------------------------------


def course_with_history():
    today = timezone.localdate()
    course = CourseFactory(start_date=today - 14 * DAY, end_date=today + 7 * DAY)
    slot = CourseSlotFactory(course=course, day_of_week=today.weekday())
    sessions = [ClassSessionFactory(slot=slot, session_date=date) for date in slot.class_dates()]
    return course, slot, sessions


def test_completion_page_shows_the_matrix_and_percentages(door):
    course, slot, sessions = course_with_history()
    student = RegistrationFactory(
        slot=slot, payment_status=PaymentStatus.COMPLETED, student=StudentFactory(first_name="Lia", last_name="Ng")
    ).student
    AttendanceRecordFactory(session=sessions[0], student=student, status=Status.PRESENT)
    AttendanceRecordFactory(session=sessions[1], student=student, status=Status.ABSENT)

    response = door.get(reverse("attendance:completion", args=[course.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Lia Ng" in html
    assert "33%" in html and "(1/3)" in html
    # The CSV carries emails: only a Studio admin is offered it.
    assert reverse("attendance:export", args=[course.pk]) not in html


def test_completion_page_of_an_unknown_course_is_a_404(door, owner):
    assert door.get(reverse("attendance:completion", args=[999999])).status_code == 404
    assert owner.get(reverse("attendance:export", args=[999999])).status_code == 404


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_completion_csv_has_one_row_per_student_with_marks_and_percent(owner):
    course, slot, sessions = course_with_history()
    student = RegistrationFactory(
        slot=slot,
        payment_status=PaymentStatus.COMPLETED,
        student=StudentFactory(first_name="Zoë 💃", last_name="Ng"),
    ).student
    AttendanceRecordFactory(session=sessions[0], student=student, status=Status.PRESENT)
    AttendanceRecordFactory(session=sessions[1], student=student, status=Status.LATE)

    response = owner.get(reverse("attendance:export", args=[course.pk]))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="attendance-course-{course.pk}.csv"'
    assert response.content.startswith("\ufeff".encode())
    header, row = read_csv(response)
    assert header[:3] == ["First name", "Last name", "Email"]
    assert header[3] == f"{sessions[0].session_date:%Y-%m-%d} {sessions[0].start_time:%H:%M}"
    assert header[-5:] == ["Attended", "Excused", "Absent", "Expected", "Completion %"]
    assert row == ["Zoë 💃", "Ng", student.email, "Present", "Late", "not marked", "2", "0", "0", "3", "67"]


@pytest.mark.parametrize(
    ("first_name", "cell"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1+cmd", "'+1+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rReturn", "'\rReturn"),
        ("Ordinary", "Ordinary"),
        ("Zoë-Anne", "Zoë-Anne"),
    ],
)
def test_completion_csv_defuses_spreadsheet_formulas(owner, first_name, cell):
    course, slot, _ = course_with_history()
    RegistrationFactory(
        slot=slot, payment_status=PaymentStatus.COMPLETED, student=StudentFactory(first_name=first_name, last_name="Ng")
    )

    response = owner.get(reverse("attendance:export", args=[course.pk]))

    assert read_csv(response)[1][0] == cell


# --- taps kept offline: idempotent, and clear about a roster that changed meanwhile -------------------------------


def test_the_same_tap_sent_twice_is_saved_once(door, instructor, today_session):
    ana = paid(today_session).student
    tap = {f"mark-{ana.pk}": Status.LATE, "tap": "0b0e8c5e-2f4e-4d3c-9a55-7f3f0b5a1c01", "was": ""}
    first = door.post(mark_url(today_session, ana), tap, HTTP_X_ATTENDANCE_TAP="1")
    record = AttendanceRecord.objects.get()

    again = door.post(mark_url(today_session, ana), tap, HTTP_X_ATTENDANCE_TAP="1")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again["X-Attendance-Row"] == str(ana.pk)
    stored = AttendanceRecord.objects.get()
    assert (stored.status, stored.marked_at, str(stored.tap_id)) == (Status.LATE, record.marked_at, tap["tap"])


def test_a_repeated_tap_does_not_undo_a_later_one(door, today_session):
    ana = paid(today_session).student
    late = {f"mark-{ana.pk}": Status.LATE, "tap": "0b0e8c5e-2f4e-4d3c-9a55-7f3f0b5a1c01", "was": ""}
    present = {f"mark-{ana.pk}": Status.PRESENT, "tap": "1b0e8c5e-2f4e-4d3c-9a55-7f3f0b5a1c02", "was": "late"}
    door.post(mark_url(today_session, ana), late, **HTMX)
    door.post(mark_url(today_session, ana), present, **HTMX)

    response = door.post(mark_url(today_session, ana), late, **HTMX)  # the first tap's answer was lost: sent again

    assert response.status_code == 409
    assert AttendanceRecord.objects.get().status == Status.PRESENT


def test_a_tap_on_a_mark_changed_meanwhile_is_a_409_with_the_reason_and_changes_nothing(door, today_session):
    ana = paid(today_session).student
    other_tablet = User.objects.create_user(username="front-desk", is_staff=True)
    AttendanceRecordFactory(session=today_session, student=ana, status=Status.ABSENT, marked_by=other_tablet)

    response = door.post(
        mark_url(today_session, ana),
        {f"mark-{ana.pk}": Status.PRESENT, "tap": "2b0e8c5e-2f4e-4d3c-9a55-7f3f0b5a1c03", "was": ""},
        HTTP_X_ATTENDANCE_TAP="1",
    )

    html = response.content.decode()
    assert response.status_code == 409
    assert f'id="row-{ana.pk}"' in html and "is-failed" in html
    assert "Marked “Absent” by front-desk at" in html and "Tap again to change it." in html
    assert AttendanceRecord.objects.get().status == Status.ABSENT


def test_a_tap_that_agrees_with_a_mark_made_meanwhile_is_fine(door, today_session):
    ana = paid(today_session).student
    AttendanceRecordFactory(session=today_session, student=ana, status=Status.PRESENT)

    response = door.post(
        mark_url(today_session, ana),
        {f"mark-{ana.pk}": Status.PRESENT, "tap": "3b0e8c5e-2f4e-4d3c-9a55-7f3f0b5a1c04", "was": ""},
        **HTMX,
    )

    assert response.status_code == 200


def test_a_tap_for_a_student_who_left_the_roster_meanwhile_is_a_409(door, today_session):
    registration = paid(today_session)
    ana = registration.student
    Registration.objects.filter(pk=registration.pk).update(
        payment_status=PaymentStatus.CANCELED, canceled_at=timezone.now()
    )

    response = door.post(
        mark_url(today_session, ana),
        {f"mark-{ana.pk}": Status.PRESENT, "tap": "4b0e8c5e-2f4e-4d3c-9a55-7f3f0b5a1c05", "was": ""},
        HTTP_X_ATTENDANCE_TAP="1",
    )

    assert response.status_code == 409
    assert "is not on this class&#x27;s roster" in response.content.decode()
    assert not AttendanceRecord.objects.exists()


@pytest.mark.parametrize(("field", "value"), [("tap", "not-a-uuid"), ("was", "maybe")])
def test_a_tap_that_cannot_be_read_is_a_400(door, today_session, field, value):
    ana = paid(today_session).student

    response = door.post(mark_url(today_session, ana), {f"mark-{ana.pk}": Status.PRESENT, field: value}, **HTMX)

    assert response.status_code == 400
    assert "This tap could not be read" in response.content.decode()
    assert not AttendanceRecord.objects.exists()


def test_the_roster_shows_make_up_students_and_the_excused_and_all_present_leaves_the_excused_alone(
    door, today_session
):
    ana = paid(today_session, student=StudentFactory(first_name="Ana", last_name="Excused"))
    AbsenceFactory(session=today_session, registration=ana)
    ben = paid(today_session, student=StudentFactory(first_name="Ben", last_name="Here")).student
    guest = MakeUpFactory(
        session=today_session, absence__registration__student=StudentFactory(first_name="Gus")
    ).student

    html = door.get(detail_url(today_session)).content.decode()
    assert '<span class="badge text-bg-secondary">Excused</span>' in html
    assert "Can&#x27;t make it (told us)" in html
    assert '<span class="badge text-bg-primary">Make-up</span>' in html
    assert "1/3 marked" in html

    door.post(detail_url(today_session), {"all_present": "1"})

    assert dict(AttendanceRecord.objects.values_list("student_id", "status")) == {
        ben.pk: Status.PRESENT,
        guest.pk: Status.PRESENT,
    }


def test_completion_page_and_csv_show_excused_and_make_up_attendance(door, owner):
    course, _slot, sessions = course_with_history()  # three classes held, one to come
    registration = paid(sessions[0], student=StudentFactory(first_name="Ana", last_name="Ng"))
    made_up = AbsenceFactory(session=sessions[0], registration=registration)
    AbsenceFactory(session=sessions[1], registration=registration)
    other_course, _other_slot, other = course_with_history()
    MakeUpFactory(absence=made_up, session=other[1])
    AttendanceRecordFactory(session=other[1], student=registration.student, status=Status.PRESENT)

    page = door.get(reverse("attendance:completion", args=[course.pk])).content.decode()
    _header, row = read_csv(owner.get(reverse("attendance:export", args=[course.pk])))
    _host_header, host_row = read_csv(owner.get(reverse("attendance:export", args=[other_course.pk])))

    assert f"Made up {day(other[1].session_date)}" in page
    assert 'class="text-center cell-excused">Excused</td>' in page
    assert row == ["Ana", "Ng", registration.student.email] + [
        f"Excused, made up {other[1].session_date:%Y-%m-%d}",
        "Excused",
        "not marked",
        *["1", "1", "0", "3", "33"],  # attended (made up), excused, absent, expected, %
    ]
    made_up_cell = f"Make-up for {course.name} {sessions[0].session_date:%Y-%m-%d} (Present)"
    assert host_row[3:] == ["", made_up_cell, "", "0", "0", "0", "0", ""]
    host_page = door.get(reverse("attendance:completion", args=[other_course.pk])).content.decode()
    assert '<span class="badge text-bg-primary">Make-up</span>' in host_page
