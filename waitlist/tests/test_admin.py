import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from courses.tests.factories import CourseSlotFactory
from students.tests.factories import StudentFactory
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:waitlist_waitlistentry_changelist")


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


def change_url(entry):
    return reverse("admin:waitlist_waitlistentry_change", args=[entry.pk])


def offered_entry():
    slot = CourseSlotFactory()
    return WaitlistEntryFactory(
        course=slot.course,
        status=WaitlistEntry.Status.OFFERED,
        waitlist_position=1,
        offer_slot=slot,
        offer_token_hash="a" * 64,
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + datetime.timedelta(hours=48),
    )


def test_waitlist_change_form_edits_only_the_preferred_slot(admin_client):
    entry = offered_entry()

    form = admin_client.get(change_url(entry)).context["adminform"].form

    assert list(form.fields) == ["preferred_slot"]


def test_waitlist_change_ignores_posted_status_position_and_token(admin_client):
    entry = offered_entry()
    slot = CourseSlotFactory(course=entry.course, day_of_week=(entry.offer_slot.day_of_week + 1) % 7)

    response = admin_client.post(
        change_url(entry),
        {
            "preferred_slot": slot.pk,
            "status": WaitlistEntry.Status.WAITING,
            "waitlist_position": "7",
            "offer_token_hash": "b" * 64,
        },
    )

    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.preferred_slot == slot
    assert (entry.status, entry.waitlist_position, entry.offer_token_hash) == ("offered", 1, "a" * 64)


def test_waitlist_change_rejects_a_preferred_slot_of_another_course(admin_client):
    entry = WaitlistEntryFactory()

    response = admin_client.post(change_url(entry), {"preferred_slot": CourseSlotFactory().pk})

    assert response.context["adminform"].form.errors["preferred_slot"] == ["Choose a time slot of this course."]
    entry.refresh_from_db()
    assert entry.preferred_slot is None


def test_waitlist_has_no_raw_add_or_delete(admin_client):
    entry = WaitlistEntryFactory()

    assert admin_client.get(reverse("admin:waitlist_waitlistentry_add")).status_code == 403
    assert admin_client.post(
        reverse("admin:waitlist_waitlistentry_delete", args=[entry.pk]), {"post": "yes"}
    ).status_code == 403
    assert admin_client.get(CHANGELIST).context["action_form"] is None
    assert WaitlistEntry.objects.filter(pk=entry.pk).exists()


def test_waitlist_changelist_search_and_escaping(admin_client):
    wanted = WaitlistEntryFactory(student=StudentFactory(first_name="<script>alert(1)</script>", last_name="Okafor"))
    WaitlistEntryFactory()

    response = admin_client.get(CHANGELIST, {"q": "okafor"})

    html = response.content.decode()
    assert list(response.context["cl"].result_list) == [wanted]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html
