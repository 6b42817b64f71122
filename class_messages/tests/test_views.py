"""Message a class from the admin, and the student's link that stops such messages (README "The studio's admin")."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from attendance.tests.factories import ClassSessionFactory
from class_messages import services
from class_messages.admin import compose_url
from class_messages.models import ClassMessage, MessageOptOut
from courses.tests.factories import CourseFactory, CourseSlotFactory
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.services import anonymise_student
from students.tests.factories import StudentFactory
from studio.models import EmailLog

pytestmark = pytest.mark.django_db

PaymentStatus = Registration.PaymentStatus


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


@pytest.fixture
def course():
    course = CourseFactory(name="House <L1>")
    slot = CourseSlotFactory(course=course)
    for name in ["Ana", "Ben"]:
        RegistrationFactory(slot=slot, student=StudentFactory(first_name=name), payment_status=PaymentStatus.COMPLETED)
    RegistrationFactory(slot=slot, student=StudentFactory(first_name="Cleo"))  # pending, holding a seat
    return course


def compose(client, about, **data):
    fields = {"audience": "paid", "subject": "Room change", "body": "Studio B tonight.", **data}
    return client.post(compose_url(about), fields)


# --- composing and sending ---------------------------------------------------------------------------------------------


def test_compose_page_shows_how_many_students_each_choice_reaches(admin_client, course):
    html = admin_client.get(compose_url(course)).content.decode()

    assert "Paid students (2 students)" in html
    assert "Paid students and those who have not paid yet (3 students)" in html
    assert "Also the waitlist (0 students)" in html
    assert "House &lt;L1&gt;" in html


def test_seeing_who_gets_it_sends_nothing_and_offers_to_send_to_that_many(admin_client, course):
    response = compose(admin_client, course, preview="1")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Goes to 2 students" in html
    assert 'value="Send to 2 students"' in html
    assert '<input type="hidden" name="expected_count" value="2">' in html
    assert not ClassMessage.objects.exists() and not EmailLog.objects.exists()


def test_sending_emails_each_student_and_shows_the_recorded_message(admin_client, course):
    response = compose(admin_client, course, audience="paid_and_pending", send="1", expected_count="3")

    message = ClassMessage.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:class_messages_classmessage_change", args=[message.pk])
    assert message.recipient_count == 3 and message.sent_by.username == "admin"
    assert EmailLog.objects.filter(kind="class_message").count() == 3
    page = admin_client.get(response["Location"]).content.decode()
    assert "Sent “Room change” to 3 students." in page


def test_a_class_that_changed_since_the_count_shows_the_new_count_instead_of_sending(admin_client, course):
    response = compose(admin_client, course, send="1", expected_count="5")

    assert response.status_code == 200
    assert "The class changed while you wrote" in response.content.decode()
    assert not ClassMessage.objects.exists()


@pytest.mark.parametrize(
    "data, field",
    [({"body": ""}, "body"), ({"body": "x" * 100_000}, "body"), ({"subject": ""}, "subject")],
    ids=["empty", "100-kB", "no-subject"],
)
def test_an_empty_or_100_kb_message_gets_a_clear_error_and_sends_nothing(admin_client, course, data, field):
    response = compose(admin_client, course, send="1", expected_count="2", **data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not ClassMessage.objects.exists() and not EmailLog.objects.exists()


def test_a_slot_and_a_session_can_be_messaged_too(admin_client, course):
    slot = course.slots.get()
    session = ClassSessionFactory(slot=slot)

    for about in (slot, session):
        assert compose(admin_client, about, send="1", expected_count="2").status_code == 302

    assert list(ClassMessage.objects.order_by("pk").values_list("slot", "session")) == [
        (slot.pk, None),
        (slot.pk, session.pk),
    ]
    assert {log.about for log in EmailLog.objects.filter(kind="class_message")} == {slot, session}


def test_course_slot_and_session_pages_have_the_button_and_the_action(admin_client, course):
    slot = course.slots.get()
    session = ClassSessionFactory(slot=slot)

    for about in (course, slot, session):
        opts = about._meta
        page = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[about.pk]))
        assert f'<a href="{compose_url(about)}">Message this class</a>' in page.content.decode()
        action = admin_client.post(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
            {"action": "message_class", "_selected_action": [about.pk]},
        )
        assert action.status_code == 302 and action["Location"] == compose_url(about)


def test_the_action_messages_one_class_at_a_time(admin_client, course):
    other = CourseFactory()

    response = admin_client.post(
        reverse("admin:courses_course_changelist"),
        {"action": "message_class", "_selected_action": [course.pk, other.pk]},
    )

    assert response.status_code == 302 and response["Location"] == reverse("admin:courses_course_changelist")


def test_an_instructor_may_not_message_a_class(client, django_user_model, course):
    instructor = django_user_model.objects.create_user(username="door", is_staff=True)
    instructor.groups.add(Group.objects.get(name="Instructor"))
    client.force_login(instructor)

    assert client.get(compose_url(course)).status_code == 403
    assert compose(client, course, send="1", expected_count="2").status_code == 403
    assert not EmailLog.objects.exists()


def test_compose_for_an_unknown_class_is_404(admin_client):
    assert admin_client.get("/admin/class_messages/classmessage/compose/course/99999/").status_code == 404
    assert admin_client.get("/admin/class_messages/classmessage/compose/student/1/").status_code == 404


# --- the student's link ----------------------------------------------------------------------------------------------


def stop_url(student):
    return services.unsubscribe_url(student).removeprefix("http://127.0.0.1:8000")


def test_opening_the_link_changes_nothing_and_the_button_stops_class_messages(client, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    student = StudentFactory()

    opened = client.get(stop_url(student))
    stopped = client.post(stop_url(student), {"choice": "stop"})
    resumed = client.post(stop_url(student), {"choice": "resume"})

    assert opened.status_code == 200 and "Stop messages to my classes" in opened.content.decode()
    assert "Done: the studio will not send you messages to your classes any more." in stopped.content.decode()
    assert "Done: you will get the studio" in resumed.content.decode()
    assert not MessageOptOut.objects.exists()


def test_a_stopped_student_sees_the_way_back(client, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    student = StudentFactory()
    services.stop_class_messages(student=student)

    html = client.get(stop_url(student)).content.decode()

    assert "Get them again" in html


def test_an_erased_students_link_stops_working(client, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    student = StudentFactory()
    url = stop_url(student)
    anonymise_student(student=student)

    response = client.get(url)

    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()
    assert client.post(url, {"choice": "stop"}).status_code == 404
    assert not MessageOptOut.objects.exists()


def test_the_preview_says_who_is_left_out_because_their_data_is_erased(admin_client, course):
    ben = Registration.objects.get(course=course, student__first_name="Ben").student
    anonymise_student(student=ben)

    html = compose(admin_client, course, preview="1").content.decode()

    assert "Goes to 1 student" in html
    assert "Left out: 1 student whose personal data is erased" in html


@pytest.mark.parametrize("token", ["garbage", "MQ:1abc:def", "x" * 5000])
def test_a_bad_link_gets_the_friendly_page(client, token):
    response = client.get(reverse("class_messages:unsubscribe", args=[token]))

    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()
    assert client.post(reverse("class_messages:unsubscribe", args=[token]), {"choice": "stop"}).status_code == 404
    assert not MessageOptOut.objects.exists()
