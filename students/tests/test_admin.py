import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from courses.tests.factories import CourseFactory
from registrations.tests.factories import RegistrationFactory
from students.models import Student
from students.services import classify_students
from students.tests.factories import CrewMemberFactory, StudentFactory
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:students_student_changelist")
SCRIPT_NAME = "<script>alert(1)</script>"


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


INLINE_PREFIXES = ["registrations", "waitlist_entries", "credit_entries"]


def student_data(**changes):
    return {
        "first_name": "Zoë 💃",
        "last_name": "O'Brien",
        "email": "zoe@example.org",
        "phone": "+1 415 555 0100",
        "instagram_handle": "zoe.dances",
        "dance_experience": Student.DanceExperience.BEGINNER,
        "student_type": Student.StudentType.GENERAL,
        # The read-only inlines' management forms, as the browser sends them.
        **{f"{prefix}-{name}": "0" for prefix in INLINE_PREFIXES for name in ("TOTAL_FORMS", "INITIAL_FORMS")},
        **changes,
    }


def test_student_changelist_shows_script_in_name_escaped(admin_client):
    StudentFactory(first_name=SCRIPT_NAME, last_name='<img src=x onerror="alert(2)">')

    html = admin_client.get(CHANGELIST).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT_NAME not in html
    assert "<img src=x" not in html


@pytest.mark.parametrize(
    "query", ["Zoë", "o'brien", "ZOE@EXAMPLE", "555 0100", "zoe.dances"], ids=["first", "last", "email", "phone", "ig"]
)
def test_student_search_finds_by_name_email_phone_and_instagram(admin_client, query):
    zoe = StudentFactory(
        first_name="Zoë",
        last_name="O'Brien",
        email="zoe@example.org",
        phone="+1 415 555 0100",
        instagram_handle="zoe.dances",
    )
    StudentFactory(first_name="Sam", last_name="Lee", phone="+1 212 000 1111", instagram_handle="sam")

    response = admin_client.get(CHANGELIST, {"q": query})

    assert list(response.context["cl"].result_list) == [zoe]


def test_student_add_stores_email_lower_case_and_name_as_typed(admin_client):
    response = admin_client.post(reverse("admin:students_student_add"), student_data(email="  Zoe@Example.ORG "))

    assert response.status_code == 302
    student = Student.objects.get()
    assert (student.email, student.first_name, student.last_name) == ("zoe@example.org", "Zoë 💃", "O'Brien")


def test_student_add_rejects_an_email_that_exists_in_another_case(admin_client):
    StudentFactory(email="zoe@example.org")

    response = admin_client.post(reverse("admin:students_student_add"), student_data(email="ZOE@example.org"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == ["A student with this email address already exists."]
    assert Student.objects.count() == 1


def test_student_change_keeps_own_email(admin_client):
    student = StudentFactory(email="zoe@example.org")

    response = admin_client.post(
        reverse("admin:students_student_change", args=[student.pk]), student_data(email="zoe@example.org")
    )

    assert response.status_code == 302


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_student_add_rejects_too_long_or_nul_names(admin_client, field):
    too_long = admin_client.post(reverse("admin:students_student_add"), student_data(**{field: "x" * 101}))
    nul = admin_client.post(reverse("admin:students_student_add"), student_data(**{field: "Ana\x00"}))

    assert field in too_long.context["adminform"].form.errors
    assert field in nul.context["adminform"].form.errors
    assert not Student.objects.exists()


def test_admin_making_a_student_crew_member_classifies_them(admin_client):
    student = StudentFactory(email="zoe@example.org")
    assert not student.admin_classified

    response = admin_client.post(
        reverse("admin:students_student_change", args=[student.pk]),
        student_data(student_type=Student.StudentType.CREW_MEMBER),
    )

    assert response.status_code == 302
    student.refresh_from_db()
    assert student.is_crew_member
    assert student.admin_classified
    assert student.classified_at is not None


def test_unclassified_filter_lists_students_to_classify(admin_client):
    new = StudentFactory()
    StudentFactory(admin_classified=True)

    response = admin_client.get(CHANGELIST, {"admin_classified__exact": "0"})

    assert list(response.context["cl"].result_list) == [new]


def test_student_audit_fields_are_read_only(admin_client):
    student = StudentFactory()

    form = admin_client.get(reverse("admin:students_student_change", args=[student.pk])).context["adminform"].form

    assert not {"created_at", "updated_at", "classified_at"} & set(form.fields)


# --- classification ---------------------------------------------------------------------------------------------------


def test_to_classify_filter_lists_students_no_admin_has_reviewed(admin_client):
    new = StudentFactory()
    CrewMemberFactory()

    to_classify = admin_client.get(CHANGELIST, {"to_classify": "yes"})
    classified = admin_client.get(CHANGELIST, {"to_classify": "no"})

    assert list(to_classify.context["cl"].result_list) == [new]
    assert new not in classified.context["cl"].result_list


@pytest.mark.parametrize(
    ("action", "student_type"),
    [("make_crew_member", Student.StudentType.CREW_MEMBER), ("make_general", Student.StudentType.GENERAL)],
)
def test_classify_actions_set_the_type_and_mark_the_students_classified(admin_client, action, student_type):
    students = [StudentFactory(), StudentFactory(student_type=Student.StudentType.GENERAL)]

    response = admin_client.post(CHANGELIST, {"action": action, "_selected_action": [s.pk for s in students]})

    assert response.status_code == 302
    for student in students:
        student.refresh_from_db()
        assert (student.student_type, student.admin_classified) == (student_type, True)
        assert student.classified_at is not None


def test_classify_students_refuses_an_unknown_type():
    student = StudentFactory()

    with pytest.raises(ValueError):
        classify_students(students=[student], student_type="vip", by=None)

    student.refresh_from_db()
    assert student.admin_classified is False


def test_an_instructor_cannot_classify_students(client, django_user_model):
    user = django_user_model.objects.create_user(username="door", is_staff=True)
    user.groups.add(Group.objects.get(name="Instructor"))
    client.force_login(user)
    student = StudentFactory()

    changelist = client.get(CHANGELIST)
    client.post(CHANGELIST, {"action": "make_crew_member", "_selected_action": [student.pk]})

    assert changelist.status_code == 200
    assert changelist.context["action_form"] is None
    student.refresh_from_db()
    assert student.student_type == Student.StudentType.GENERAL


def test_student_page_shows_registrations_and_waitlist_entries_read_only(admin_client):
    student = StudentFactory()
    registration = RegistrationFactory(student=student)
    WaitlistEntryFactory(student=student, course=CourseFactory(name="Waacking <b>L2</b>"))

    response = admin_client.get(reverse("admin:students_student_change", args=[student.pk]))

    html = response.content.decode()
    assert registration.reference in html
    assert "Waacking &lt;b&gt;L2&lt;/b&gt;" in html
    formsets = {formset.formset.prefix: formset for formset in response.context["inline_admin_formsets"]}
    assert set(formsets) == set(INLINE_PREFIXES)
    assert not any(formset.has_add_permission or formset.has_change_permission for formset in formsets.values())


def test_deleting_a_student_with_registrations_says_why_not_and_keeps_everything(admin_client):
    registration = RegistrationFactory()
    student = registration.student

    response = admin_client.post(
        reverse("admin:students_student_delete", args=[student.pk]), {"post": "yes"}, follow=True
    )

    html = response.content.decode()
    assert "cannot be deleted: 1 registration" in html
    assert "the studio" in html and "records" in html
    assert "permission" not in html
    assert Student.objects.filter(pk=student.pk).exists()
    assert registration.__class__.objects.filter(pk=registration.pk).exists()


def test_the_bulk_delete_deletes_students_without_records_and_explains_the_others(admin_client):
    kept, gone = RegistrationFactory().student, StudentFactory()

    response = admin_client.post(
        CHANGELIST, {"action": "delete_students", "_selected_action": [kept.pk, gone.pk]}, follow=True
    )

    assert "cannot be deleted" in response.content.decode()
    assert list(Student.objects.all()) == [kept]
    assert 'value="delete_selected"' not in admin_client.get(CHANGELIST).content.decode()
