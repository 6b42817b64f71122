import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from courses.tests.factories import CourseSlotFactory
from registrations.models import Registration
from students.tests.factories import StudentFactory
from studio.models import EmailLog, SystemSetting
from waitlist import offers, services
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory, full_slot, student_details

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
    assert (
        admin_client.post(reverse("admin:waitlist_waitlistentry_delete", args=[entry.pk]), {"post": "yes"}).status_code
        == 403
    )
    actions = [value for value, _label in admin_client.get(CHANGELIST).context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions
    assert WaitlistEntry.objects.filter(pk=entry.pk).exists()


def test_waitlist_changelist_search_and_escaping(admin_client):
    wanted = WaitlistEntryFactory(student=StudentFactory(first_name="<script>alert(1)</script>", last_name="Okafor"))
    WaitlistEntryFactory()

    response = admin_client.get(CHANGELIST, {"q": "okafor"})

    html = response.content.decode()
    assert list(response.context["cl"].result_list) == [wanted]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html


# --- actions (they call the waitlist services) -------------------------------------------------------------------------


def waiting(slot, names="abc"):
    return [services.join_waitlist(course=slot.course, details=student_details(n)) for n in names]


def run_action(client, action, entries, **extra):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [entry.pk for entry in entries], **extra}, follow=True
    )


def statuses(entries):
    return [WaitlistEntry.objects.get(pk=entry.pk).status for entry in entries]


def emails_in_order(course):
    return list(
        WaitlistEntry.objects.filter(course=course, status__in=WaitlistEntry.ACTIVE_STATUSES)
        .order_by("waitlist_position")
        .values_list("student__email", flat=True)
    )


def test_changelist_lists_each_course_in_position_order(admin_client):
    slot = full_slot()
    a, b, c = waiting(slot)
    services.move_entry(entry=c, up=True)

    rows = list(admin_client.get(CHANGELIST, {"course__id__exact": slot.course.pk}).context["cl"].result_list)

    assert rows == [a, c, b]


def test_send_offer_action_offers_only_as_many_as_there_are_free_seats(admin_client):
    SystemSetting.objects.create(setting_key="waitlist_auto_offer", setting_value="off")
    slot = full_slot()
    a, b, c = waiting(slot)
    Registration.objects.filter(slot=slot).update(
        payment_status=Registration.PaymentStatus.CANCELED, canceled_at=timezone.now()
    )

    response = run_action(admin_client, "send_offer", [a, b, c])

    assert statuses([a, b, c]) == ["offered", "waiting", "waiting"]
    html = response.content.decode()
    assert "Sent 1 offer." in html
    assert "the time slot is full" in html
    assert EmailLog.objects.filter(kind="waitlist_offer").count() == 1


def test_send_offer_over_capacity_action_offers_a_full_slot(admin_client):
    slot = full_slot()
    a, b, _c = waiting(slot)

    run_action(admin_client, "send_offer_over_capacity", [a, b])

    assert statuses([a, b]) == ["offered", "offered"]


def test_move_up_and_down_actions_reorder_the_list(admin_client):
    slot = full_slot()
    a, b, c = waiting(slot)

    run_action(admin_client, "move_up", [c])
    assert emails_in_order(slot.course) == [f"waiter{n}@example.org" for n in "acb"]
    run_action(admin_client, "move_down", [a])
    assert emails_in_order(slot.course) == [f"waiter{n}@example.org" for n in "cab"]
    run_action(admin_client, "move_down", [a, b])  # bottom first: b cannot move, a swaps with b
    assert emails_in_order(slot.course) == [f"waiter{n}@example.org" for n in "cba"]


def test_remove_action_removes_and_renumbers(admin_client):
    slot = full_slot()
    a, b, c = waiting(slot)

    response = run_action(admin_client, "remove", [b])

    assert "Removed 1 entry." in response.content.decode()
    assert statuses([a, b, c]) == ["waiting", "removed", "waiting"]
    assert emails_in_order(slot.course) == ["waitera@example.org", "waiterc@example.org"]


def test_revoke_offer_action_returns_the_entry_to_waiting(admin_client):
    slot = full_slot()
    (a,) = waiting(slot, "a")
    offers.send_offers(entries=[a], over_capacity=True)

    response = run_action(admin_client, "revoke_offer", [a])

    assert "Revoked 1 offer" in response.content.decode()
    a.refresh_from_db()
    assert (a.status, a.waitlist_position, a.offer_expires_at) == ("waiting", 1, None)


def test_actions_need_the_change_permission(client, django_user_model):
    viewer = django_user_model.objects.create_user(username="viewer", password=None, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_waitlistentry"))
    client.force_login(viewer)
    slot = full_slot()
    (a,) = waiting(slot, "a")

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    # Not even the export: it carries contact details (students.export_contacts).
    assert response.context["action_form"] is None
    run_action(client, "send_offer_over_capacity", [a])
    assert statuses([a]) == ["waiting"]
