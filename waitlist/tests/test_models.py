import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from courses.tests.factories import CourseSlotFactory
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

Status = WaitlistEntry.Status


def offered(**kwargs) -> WaitlistEntry:
    """An entry with an outstanding offer for a seat in a slot of its course."""
    slot = CourseSlotFactory()
    return WaitlistEntryFactory(
        course=slot.course,
        status=Status.OFFERED,
        offer_slot=slot,
        offer_token_hash="0" * 64,
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + datetime.timedelta(hours=48),
        **kwargs,
    )


def test_second_waiting_entry_for_the_same_student_and_course_is_rejected():
    entry = WaitlistEntryFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        WaitlistEntryFactory(student=entry.student, course=entry.course)


def test_waiting_entry_next_to_an_outstanding_offer_is_rejected():
    entry = offered()

    with pytest.raises(IntegrityError), transaction.atomic():
        WaitlistEntryFactory(student=entry.student, course=entry.course)


@pytest.mark.parametrize("old_status", [Status.LEFT, Status.REMOVED, Status.DECLINED, Status.EXPIRED, Status.ACCEPTED])
def test_finished_entry_does_not_block_joining_the_waitlist_again(old_status):
    old = WaitlistEntryFactory(status=old_status, waitlist_position=None)

    again = WaitlistEntryFactory(student=old.student, course=old.course)

    assert again.pk != old.pk


def test_second_entry_at_the_same_position_in_a_course_is_rejected():
    entry = WaitlistEntryFactory(waitlist_position=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        WaitlistEntryFactory(course=entry.course, waitlist_position=1)


def test_entries_without_a_position_do_not_clash():
    entry = WaitlistEntryFactory(status=Status.LEFT, waitlist_position=None)

    other = WaitlistEntryFactory(course=entry.course, status=Status.REMOVED, waitlist_position=None)

    assert other.pk is not None


def test_waitlist_position_zero_is_rejected():
    with pytest.raises(IntegrityError, match="waitlist_waitlistentry_position_positive"), transaction.atomic():
        WaitlistEntryFactory(waitlist_position=0)


@pytest.mark.parametrize("missing", ["offer_slot", "offer_token_hash", "offer_expires_at"])
def test_offer_without_its_seat_token_or_expiry_is_rejected(missing):
    entry = offered()

    with pytest.raises(IntegrityError, match="waitlist_waitlistentry_offer_complete"), transaction.atomic():
        WaitlistEntry.objects.filter(pk=entry.pk).update(**{missing: None})


def test_waitlist_status_rejects_unknown_value():
    entry = WaitlistEntryFactory()

    with pytest.raises(IntegrityError, match="waitlist_waitlistentry_status_valid"), transaction.atomic():
        WaitlistEntry.objects.filter(pk=entry.pk).update(status="maybe", waitlist_position=None)


def test_two_entries_of_one_course_at_the_same_position_are_rejected():
    entry = WaitlistEntryFactory(waitlist_position=1)

    with pytest.raises(IntegrityError, match="one_entry_per_position|UNIQUE|unique"), transaction.atomic():
        WaitlistEntryFactory(course=entry.course, waitlist_position=1)


def test_entries_without_a_position_and_of_other_courses_do_not_clash():
    entry = WaitlistEntryFactory(waitlist_position=1)

    WaitlistEntryFactory(course=entry.course, status=Status.LEFT, waitlist_position=None)
    WaitlistEntryFactory(course=entry.course, status=Status.REMOVED, waitlist_position=None)
    WaitlistEntryFactory(waitlist_position=1)


def test_each_entry_gets_its_own_unguessable_public_id_for_its_page():
    first, second = WaitlistEntryFactory(), WaitlistEntryFactory()

    assert first.public_id != second.public_id
    assert first.get_absolute_url() == f"/waitlist/{first.public_id}/"


def test_a_finished_entry_with_a_place_in_line_is_rejected():
    entry = WaitlistEntryFactory()

    with pytest.raises(IntegrityError, match="finished_has_no_position"), transaction.atomic():
        WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistEntry.Status.LEFT)


def test_an_answer_without_its_time_is_rejected():
    entry = WaitlistEntryFactory()

    with pytest.raises(IntegrityError, match="answer_has_responded_at"), transaction.atomic():
        WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistEntry.Status.DECLINED, waitlist_position=None)
