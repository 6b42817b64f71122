"""Crew eligibility (README "The studio's admin"): who attends enough in chosen courses over a chosen period, from the
completion the attendance app computes, and "Make crew member" through the one classification service, recorded."""

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from attendance.models import AttendanceRecord
from attendance.tests.factories import AttendanceRecordFactory, ClassSessionFactory
from courses.tests.factories import CourseFactory, CourseSlotFactory
from dance_portal.crew import crew_eligibility
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.models import Student
from students.tests.factories import CrewMemberFactory, StudentFactory

pytestmark = pytest.mark.django_db

Status = AttendanceRecord.Status
REPORT = reverse("admin:students_student_crew_eligibility")
DAY = datetime.timedelta(days=1)
TODAY = timezone.localdate()


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


def a_course(name: str, weeks: int = 5):
    """A weekly course whose `weeks` classes were all held, the last one a week ago; sessions in date order."""
    start = TODAY - DAY * 7 * weeks
    course = CourseFactory(name=name, start_date=start, end_date=TODAY + 30 * DAY)
    slot = CourseSlotFactory(course=course, day_of_week=start.weekday())
    sessions = [ClassSessionFactory(slot=slot, session_date=start + 7 * DAY * n) for n in range(weeks)]
    return course, slot, sessions


def dancer(slot, sessions, marks: str, **student):
    """A paid student of `slot` marked P(resent), L(ate), A(bsent) or . (not marked) at each session."""
    person = StudentFactory(**student)
    RegistrationFactory(student=person, slot=slot, payment_status=Registration.PaymentStatus.COMPLETED)
    codes = {"P": Status.PRESENT, "L": Status.LATE, "A": Status.ABSENT}
    for session, mark in zip(sessions, marks, strict=True):
        if mark in codes:
            AttendanceRecordFactory(session=session, student=person, status=codes[mark])
    return person


@pytest.fixture
def studio():
    house, house_slot, house_sessions = a_course("House L1")
    waacking, waacking_slot, waacking_sessions = a_course("Waacking")
    people = {
        "ana": dancer(house_slot, house_sessions, "PPPLP", first_name="Ana"),  # 5/5
        "ben": dancer(house_slot, house_sessions, "PPPPA", first_name="Ben"),  # 4/5 = 80 %
        "cy": dancer(house_slot, house_sessions, "PPPAA", first_name="Cy"),  # 3/5
        "dee": dancer(house_slot, house_sessions, "P....", first_name="Dee"),  # 1/5: unmarked counts as missed
    }
    # Two courses summed: 3/5 in House and 5/5 in Waacking = 8/10.
    people["eve"] = dancer(house_slot, house_sessions, "PPAAP", first_name="Eve")
    RegistrationFactory(student=people["eve"], slot=waacking_slot, payment_status=Registration.PaymentStatus.COMPLETED)
    for session in waacking_sessions:
        AttendanceRecordFactory(session=session, student=people["eve"], status=Status.PRESENT)
    return {"house": house, "waacking": waacking, "house_sessions": house_sessions, **people}


def names(candidates):
    return [candidate.student.first_name for candidate in candidates]


# --- who reaches the threshold -----------------------------------------------------------------------------------------


def test_students_reaching_the_threshold_best_first_present_and_late_counting_as_attended(studio):
    found = crew_eligibility(courses=[studio["house"]], start=TODAY - 365 * DAY, end=TODAY, threshold=80)

    assert names(found) == ["Ana", "Ben"]
    assert [(c.attended, c.held, c.percent) for c in found] == [(5, 5, 100), (4, 5, 80)]


def test_attendance_is_summed_over_the_chosen_courses(studio):
    one = crew_eligibility(courses=[studio["house"]], start=TODAY - 365 * DAY, end=TODAY, threshold=80)
    both = crew_eligibility(
        courses=[studio["house"], studio["waacking"]], start=TODAY - 365 * DAY, end=TODAY, threshold=80
    )

    assert "Eve" not in names(one)
    eve = next(c for c in both if c.student.first_name == "Eve")
    assert (eve.attended, eve.held) == (8, 10)
    assert [(row.course.name, row.attended, row.held) for row in eve.courses] == [
        ("House L1", 3, 5),
        ("Waacking", 5, 5),
    ]


def test_only_classes_held_in_the_period_count(studio):
    sessions = studio["house_sessions"]
    # The last two classes only: Cy was absent at both, Dee unmarked at both; Ben absent at the last.
    found = crew_eligibility(courses=[studio["house"]], start=sessions[3].session_date, end=TODAY, threshold=50)

    assert {c.student.first_name: (c.attended, c.held) for c in found} == {"Ana": (2, 2), "Ben": (1, 2), "Eve": (1, 2)}
    assert names(found)[0] == "Ana"


def test_canceled_and_future_classes_do_not_count(studio):
    sessions = studio["house_sessions"]
    sessions[4].is_canceled, sessions[4].canceled_at = True, timezone.now()
    sessions[4].save()
    ClassSessionFactory(slot=sessions[0].slot, session_date=TODAY + 7 * DAY)

    found = crew_eligibility(courses=[studio["house"]], start=TODAY - 365 * DAY, end=TODAY + 60 * DAY, threshold=100)

    # Ben missed only the canceled class: 4 of 4 held.
    assert sorted(names(found)) == ["Ana", "Ben"]
    assert {c.held for c in found} == {4}


def test_threshold_zero_lists_everyone_held_to_a_class_and_nobody_else(studio):
    StudentFactory(first_name="Nobody")

    found = crew_eligibility(courses=[studio["house"]], start=TODAY - 365 * DAY, end=TODAY, threshold=0)

    assert sorted(names(found)) == ["Ana", "Ben", "Cy", "Dee", "Eve"]


# --- the page ----------------------------------------------------------------------------------------------------------


def report(client, studio, **params):
    query = {"courses": [studio["house"].pk], "start": TODAY - 365 * DAY, "end": TODAY, "threshold": 80, **params}
    return client.get(REPORT, query)


def test_the_student_list_links_to_the_report(admin_client):
    html = admin_client.get(reverse("admin:students_student_changelist")).content.decode()

    assert f'<a href="{REPORT}">Crew eligibility</a>' in html


def test_the_report_shows_who_reaches_the_threshold_with_their_figures(admin_client, studio):
    html = report(admin_client, studio).content.decode()

    assert "2 students reach the threshold" in html
    assert '100% <span class="quiet">(5/5)</span>' in html
    assert "House L1: 4/5" in html
    assert f'name="student" value="{studio["ben"].pk}"' in html


@pytest.mark.parametrize("threshold", ["-1", "101", "abc", "80.5", ""])
def test_a_threshold_outside_0_to_100_is_refused_next_to_the_field(admin_client, studio, threshold):
    response = report(admin_client, studio, threshold=threshold)

    assert response.status_code == 200
    assert "threshold" in response.context["form"].errors
    assert response.context["candidates"] is None


def test_a_period_ending_before_it_starts_is_refused(admin_client, studio):
    response = report(admin_client, studio, start=TODAY, end=TODAY - DAY)

    assert "end" in response.context["form"].errors


def test_make_crew_member_classifies_the_ticked_students_and_records_who_and_why(admin_client, studio):
    ana, ben, cy = studio["ana"], studio["ben"], studio["cy"]
    query = f"?courses={studio['house'].pk}&start={TODAY - 365 * DAY}&end={TODAY}&threshold=80"

    # Cy is ticked but below the threshold: the report's own students only.
    response = admin_client.post(REPORT + query, {"student": [ana.pk, ben.pk, cy.pk]})

    assert response.status_code == 302 and response["Location"] == REPORT + query
    for student in (ana, ben):
        student.refresh_from_db()
        assert student.student_type == Student.StudentType.CREW_MEMBER
        assert student.admin_classified and student.classified_at
    cy.refresh_from_db()
    assert cy.student_type == Student.StudentType.GENERAL
    entry = LogEntry.objects.get(object_id=str(ben.pk))
    assert entry.user.username == "admin"
    assert "Made a crew member from the crew eligibility report: 80% (4 of 5 classes) in House L1" in (
        entry.get_change_message()
    )


def test_make_crew_member_leaves_crew_members_alone(admin_client, studio):
    crew = CrewMemberFactory()
    RegistrationFactory(
        student=crew, slot=studio["house_sessions"][0].slot, payment_status=Registration.PaymentStatus.COMPLETED
    )
    query = f"?courses={studio['house'].pk}&start={TODAY - 365 * DAY}&end={TODAY}&threshold=0"

    response = admin_client.post(REPORT + query, {"student": [crew.pk]})

    assert response.status_code == 302
    assert not LogEntry.objects.exists()


def test_an_instructor_may_read_the_report_but_not_make_crew_members(client, django_user_model, studio):
    instructor = django_user_model.objects.create_user(username="door", is_staff=True)
    instructor.groups.add(Group.objects.get(name="Instructor"))
    client.force_login(instructor)
    query = f"?courses={studio['house'].pk}&start={TODAY - 365 * DAY}&end={TODAY}&threshold=80"

    page = client.get(REPORT + query)
    post = client.post(REPORT + query, {"student": [studio["ana"].pk]})

    assert page.status_code == 200 and 'name="student"' not in page.content.decode()
    assert post.status_code == 403
    studio["ana"].refresh_from_db()
    assert studio["ana"].student_type == Student.StudentType.GENERAL


def test_the_student_lists_make_crew_member_action_is_recorded_on_each_student_too(admin_client):
    student = StudentFactory()

    admin_client.post(
        reverse("admin:students_student_changelist"), {"action": "make_crew_member", "_selected_action": [student.pk]}
    )

    entry = LogEntry.objects.get(object_id=str(student.pk))
    assert (entry.user.username, entry.get_change_message()) == ("admin", "Classified as “Crew member”.")


def test_a_make_up_attended_counts_for_the_class_it_made_up(studio):
    from attendance.tests.factories import AbsenceFactory, MakeUpFactory

    house_sessions = studio["house_sessions"]
    fay = dancer(house_sessions[0].slot, house_sessions, "PPPP.", first_name="Fay")  # 4/5 without the make-up
    absence = AbsenceFactory(
        session=house_sessions[4], registration=Registration.objects.get(student=fay), makeup_granted=True
    )
    makeup = MakeUpFactory(absence=absence, session=ClassSessionFactory(session_date=TODAY - DAY))
    AttendanceRecordFactory(session=makeup.session, student=fay, status=Status.PRESENT)

    (candidate,) = [
        c
        for c in crew_eligibility(courses=[studio["house"]], start=TODAY - 60 * DAY, end=TODAY, threshold=100)
        if c.student == fay
    ]

    assert (candidate.attended, candidate.held) == (5, 5)
