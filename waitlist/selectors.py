"""Reads of the waitlist: the seats its outstanding offers hold and the students waiting, as the seat rule counts them.

`WaitlistClaims` is what registrations/seats.py counts besides registrations (connected in WaitlistConfig.ready()).
Who waits for a slot: the course's waiting entries that prefer this slot or none.
"""

import datetime
from collections import defaultdict

from django.db.models import Count, Min, Q

from courses.models import CourseSlot
from registrations.seats import SeatClaims
from waitlist.models import WaitlistEntry

Status = WaitlistEntry.Status


def outstanding_offers(now: datetime.datetime) -> Q:
    """Offers that hold a seat at `now`: sent and neither answered nor run out."""
    return Q(status=Status.OFFERED, offer_expires_at__gt=now)


def waiting_for(slot: CourseSlot) -> Q:
    """Entries waiting for a seat in `slot`: of its course, for this slot or for any."""
    return Q(status=Status.WAITING, course_id=slot.course_id) & (
        Q(preferred_slot_id=slot.pk) | Q(preferred_slot__isnull=True)
    )


class WaitlistClaims(SeatClaims):
    """Outstanding offers hold a seat each in their slot; waiting entries wait for one."""

    def held_by_slot(self, slot_ids, *, now):
        rows = (
            WaitlistEntry.objects.filter(outstanding_offers(now), offer_slot_id__in=slot_ids)
            .values("offer_slot_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        return {row["offer_slot_id"]: row["n"] for row in rows}

    def waiting_by_slot(self, slots):
        rows = (
            WaitlistEntry.objects.filter(status=Status.WAITING, course_id__in={slot.course_id for slot in slots})
            .values("course_id", "preferred_slot_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        waiting: dict[tuple[int, int | None], int] = defaultdict(int)
        for row in rows:
            waiting[(row["course_id"], row["preferred_slot_id"])] = row["n"]
        # The same rule as waiting_for(), on the grouped counts: this slot's own entries and those for any slot.
        return {slot.pk: waiting[(slot.course_id, slot.pk)] + waiting[(slot.course_id, None)] for slot in slots}

    def held_and_waiting(self, slot, *, now):
        counts = WaitlistEntry.objects.filter(Q(offer_slot_id=slot.pk) | Q(course_id=slot.course_id)).aggregate(
            held=Count("pk", filter=outstanding_offers(now) & Q(offer_slot_id=slot.pk)),
            waiting=Count("pk", filter=waiting_for(slot)),
        )
        return counts["held"], counts["waiting"]

    def next_release(self, *, now):
        return WaitlistEntry.objects.filter(outstanding_offers(now)).aggregate(end=Min("offer_expires_at"))["end"]
