"""The seat rule, written once (README "Registrations and seats"), and who may take a seat.

Seats taken in a slot on a date = completed registrations + pending ones whose hold has not run out + seats held
outside registrations, which the apps above report through `connect_claims`: outstanding waitlist offers (a seat on
every date), booked make-up classes (a seat on their date) and excused absences (a seat given back on their date). A
registration without a class date (a full package, or any registration of a dated class) takes a seat on every date
of its slot; a drop-in on a series takes one on its class date only. Every count compares `payment_due_at` with now:
nothing waits for a background sweep.

Students waiting on the waitlist come first for the seats they could take: a seat free on every date of the slot
(what a waitlist offer needs). A seat free on one date only (a student's excused absence) is not one they could take,
so it is a walk-up seat at once, for a drop-in or a make-up class.

Every write that takes a seat locks the slot row (`lock_slot`), counts, then writes, in one transaction. Every write
that frees one calls `announce_freed_seats`: after the commit `courses.signals.seats_freed` is sent, and the waitlist,
which connects to it, offers the seat to the next student first (while anyone waits, a walk-up cannot take a freed seat).

Every other module reads seats through the public names here; nothing else writes the rule down.
"""

import datetime
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from courses.models import Course, CourseSlot
from courses.signals import seats_freed
from registrations.errors import ClientHoldLimitReached, NotEligible, RegistrationClosed, RegistrationLimitReached
from registrations.models import Registration
from students.models import Student
from studio.config import StudioSettings, studio_settings

PaymentStatus = Registration.PaymentStatus


# --- holds -----------------------------------------------------------------------------------------------------------


def hold_deadline(*, now: datetime.datetime) -> datetime.datetime:
    """Until when a registration made or re-opened at `now` holds its seat unpaid (payment_hold_hours; 0: not at all)."""
    return now + datetime.timedelta(hours=studio_settings().payment_hold_hours)


def hold_running(now: datetime.datetime) -> Q:
    """Pending registrations whose hold has not run out at `now`: they hold their seat unpaid."""
    return Q(payment_status=PaymentStatus.PENDING, payment_due_at__gt=now)


def holds_seat(now: datetime.datetime) -> Q:
    """Registrations that take a seat at `now`: paid, or pending with a hold that has not run out."""
    return Q(payment_status=PaymentStatus.COMPLETED) | hold_running(now)


def hold_ran_out(now: datetime.datetime) -> Q:
    """Pending registrations whose hold has run out at `now`: they hold nothing, whether or not they are expired yet."""
    return Q(payment_status=PaymentStatus.PENDING, payment_due_at__lte=now)


def is_holding_seat(registration: Registration, *, now: datetime.datetime) -> bool:
    """`holds_seat` for one registration in memory."""
    if registration.payment_status == PaymentStatus.COMPLETED:
        return True
    return registration.payment_status == PaymentStatus.PENDING and registration.payment_due_at > now


def has_hold_run_out(registration: Registration, *, now: datetime.datetime) -> bool:
    """`hold_ran_out` for one registration in memory: pending, and its seat is no longer held."""
    return registration.payment_status == PaymentStatus.PENDING and registration.payment_due_at <= now


# --- seats held outside registrations ----------------------------------------------------------------------------------


class SeatClaims:
    """Seats held outside registrations, and the students waiting for a seat. This base holds none and has nobody
    waiting; the apps above connect their own in their AppConfig.ready(): the waitlist (outstanding offers, waiting
    entries), attendance (make-up classes, excused absences)."""

    def held_by_slot(self, slot_ids: list[int], *, now: datetime.datetime) -> dict[int, int]:
        """Seats held in each slot (on every one of its dates) at `now`."""
        return {}

    def held_by_date(self, slot_ids: list[int], *, now: datetime.datetime) -> dict[int, dict[datetime.date, int]]:
        """Seats held in each slot on single dates from today on (slot id -> date -> seats): positive for a seat
        taken on that date, negative for a seat given back on it."""
        return {}

    def waiting_by_slot(self, slots: list[CourseSlot]) -> dict[int, int]:
        """Students waiting for a seat in each slot."""
        return {}

    def held_and_waiting(self, slot: CourseSlot, *, now: datetime.datetime) -> tuple[int, int]:
        """(seats held, students waiting) of one slot, in one query: it runs under the slot lock of every walk-up."""
        return 0, 0

    def next_release(self, *, now: datetime.datetime) -> datetime.datetime | None:
        """When the earliest seat held at `now` is released by itself (None: nothing is held)."""
        return None


_sources: list[SeatClaims] = []


def connect_claims(claims: SeatClaims) -> None:
    """Count `claims` in every seat count from now on, besides the sources connected before (one of each class:
    connecting a second of the same class replaces the first)."""
    _sources[:] = [source for source in _sources if type(source) is not type(claims)] + [claims]


def _held_by_slot(slot_ids: list[int], *, now: datetime.datetime) -> dict[int, int]:
    held: dict[int, int] = defaultdict(int)
    for source in _sources:
        for slot_id, n in source.held_by_slot(slot_ids, now=now).items():
            held[slot_id] += n
    return held


def _held_by_date(slot_ids: list[int], *, now: datetime.datetime) -> dict[int, dict[datetime.date, int]]:
    held: dict[int, dict[datetime.date, int]] = defaultdict(lambda: defaultdict(int))
    for source in _sources:
        for slot_id, dates in source.held_by_date(slot_ids, now=now).items():
            for day, n in dates.items():
                held[slot_id][day] += n
    return held


def _add_date_holds(
    slot: CourseSlot, every_date: int, by_date: dict[datetime.date, int], held: dict[datetime.date, int]
) -> int:
    """Add seats held on single dates to a slot's counts; returns its new every-date count. A dated slot has one
    date, so a seat held or given back on it counts on every date (where its registrations count too)."""
    for day, n in held.items():
        if slot.practice_date is not None:
            every_date += n
        else:
            by_date[day] = by_date.get(day, 0) + n
    return every_date


# --- counting ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeatCounts:
    """The seats of one slot at one moment."""

    capacity: int
    every_date: int  # registrations without a class date + seats held elsewhere: a seat on every date
    # Per class date of a series: drop-ins and make-up classes (+), excused absences (−).
    by_date: dict[datetime.date, int] = field(default_factory=dict)
    waiting: int = 0  # students waiting for a seat here (counted only when asked for)

    def taken(self, class_date: datetime.date | None = None) -> int:
        """Seats taken on `class_date`, or on the busiest date (what a full package needs: a seat on every date; a
        date with a seat given back is no busier than a date with nothing on it)."""
        if class_date:
            return self.every_date + self.by_date.get(class_date, 0)
        return self.every_date + max([0, *self.by_date.values()])

    def left(self, class_date: datetime.date | None = None) -> int:
        """Seats free on `class_date` (every date without one), never below 0."""
        return max(0, self.capacity - self.taken(class_date))

    def walk_up_left(self, class_date: datetime.date | None = None) -> int:
        """Seats a public registration may take: the students waiting come first for the seats free on every date
        (the only ones a waitlist offer can hold); a seat free on `class_date` only is a walk-up's."""
        if class_date is None:
            return max(0, self.left() - self.waiting)
        return max(0, self.left(class_date) - min(self.waiting, self.left()))


def seat_counts(
    slots: list[CourseSlot], *, now: datetime.datetime | None = None, with_waiting: bool = False
) -> dict[int, SeatCounts]:
    """Seat counts of many slots (slot id -> SeatCounts): one query, one more per connected source and kind of seat
    held (every date, single dates) and, `with_waiting`, one for the students waiting."""
    now = now or timezone.now()
    slot_ids = [slot.pk for slot in slots]
    every_date: dict[int, int] = defaultdict(int)
    by_date: dict[int, dict[datetime.date, int]] = defaultdict(dict)
    rows = (
        Registration.objects.filter(holds_seat(now), slot_id__in=slot_ids)
        .values("slot_id", "class_date")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        if row["class_date"] is None:
            every_date[row["slot_id"]] += row["n"]
        else:
            by_date[row["slot_id"]][row["class_date"]] = row["n"]
    for slot_id, held in _held_by_slot(slot_ids, now=now).items():
        every_date[slot_id] += held
    held_by_date = _held_by_date(slot_ids, now=now)
    waiting: dict[int, int] = defaultdict(int)
    for source in _sources if with_waiting else ():
        for slot_id, n in source.waiting_by_slot(slots).items():
            waiting[slot_id] += n
    counts = {}
    for slot in slots:
        dates = by_date[slot.pk]
        every = _add_date_holds(slot, every_date[slot.pk], dates, held_by_date.get(slot.pk, {}))
        counts[slot.pk] = SeatCounts(capacity=slot.capacity, every_date=every, by_date=dates, waiting=waiting[slot.pk])
    return counts


def seats_left(
    slot: CourseSlot, *, class_date: datetime.date | None = None, now: datetime.datetime | None = None
) -> int:
    """Seats free in `slot` (on `class_date`, or on every date for a full package), never below 0."""
    return seat_counts([slot], now=now)[slot.pk].left(class_date)


def walk_up_seats_left(
    slot: CourseSlot, *, class_date: datetime.date | None = None, now: datetime.datetime | None = None
) -> int:
    """Seats a public registration may take in `slot`: while anyone waits, seats free on every date go to the
    waitlist first.

    Few queries (it runs under the slot lock of every registration): the registrations, and per connected source the
    seats held elsewhere with the students waiting, and the seats held on single dates."""
    now = now or timezone.now()
    rows = (
        Registration.objects.filter(holds_seat(now), slot_id=slot.pk)
        .values("class_date")
        .annotate(n=Count("pk"))
        .order_by()
    )
    every_date = sum(row["n"] for row in rows if row["class_date"] is None)
    by_date = {row["class_date"]: row["n"] for row in rows if row["class_date"] is not None}
    held = waiting = 0
    for source in _sources:
        source_held, source_waiting = source.held_and_waiting(slot, now=now)
        held, waiting = held + source_held, waiting + source_waiting
    every_date = _add_date_holds(slot, every_date + held, by_date, _held_by_date([slot.pk], now=now).get(slot.pk, {}))
    counts = SeatCounts(capacity=slot.capacity, every_date=every_date, by_date=by_date, waiting=waiting)
    return counts.walk_up_left(class_date)


def seats_taken(slot: CourseSlot, *, now: datetime.datetime | None = None) -> int:
    """Seats taken in `slot` on its busiest date: the lowest capacity it can have without turning anyone away."""
    return seat_counts([slot], now=now)[slot.pk].taken()


def next_seat_release(*, now: datetime.datetime) -> datetime.datetime | None:
    """When the earliest seat taken at `now` frees by itself (a pending hold or an offer running out), or None."""
    hold_end = (
        Registration.objects.filter(hold_running(now))
        .order_by("payment_due_at")
        .values_list("payment_due_at", flat=True)
        .first()
    )
    ends = [end for end in (hold_end, *(source.next_release(now=now) for source in _sources)) if end is not None]
    return min(ends, default=None)


# --- locking and announcing --------------------------------------------------------------------------------------------


def lock_slot(slot: CourseSlot) -> CourseSlot:
    """Lock and re-read the slot row (with its course): two requests racing for its last seat queue up here.

    Call it inside the transaction that counts and writes. Lock order: a course (the waitlist's lock) before its slot,
    a slot before its registrations, its student (lock_student) and the client's key (lock_client)."""
    # of=("self",): the slot row only, not its course, which the waitlist locks before a slot.
    locked = CourseSlot.objects.select_related("course").select_for_update(of=("self",)).get(pk=slot.pk)
    if hasattr(slot, "_closed_dates"):  # the studio's closures, when the caller has read them already
        locked.closed_dates = slot._closed_dates
    return locked


def lock_student(student: Student) -> None:
    """Lock the student's row until the commit, so that two registrations of one student for different slots (each
    holding only its own slot's lock) count the student's seats in turn. FOR NO KEY UPDATE: rows referring to the
    student are still written meanwhile. Lock order: a slot before its student."""
    list(Student.objects.select_for_update(no_key=True).filter(pk=student.pk).values_list("pk", flat=True))


def lock_client(client_key: str) -> None:
    """Lock a client's key (studio.clients.client_key) until the commit, so that two registrations from one client for
    different slots count its holds in turn. There is no row per client to lock: on PostgreSQL a transaction-level
    advisory lock on the key; SQLite runs one write transaction at a time already (IMMEDIATE). After the slot lock."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"client-holds:{client_key}".encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def announce_freed_seats(slot: CourseSlot | int) -> None:
    """Send `courses.signals.seats_freed` for `slot` once the current transaction commits: the waitlist, connected to
    it, offers the seat first. A receiver's failure is logged, not raised: the freeing write has committed."""
    slot_id = slot if isinstance(slot, int) else slot.pk
    transaction.on_commit(partial(seats_freed.send, sender=CourseSlot, slot_id=slot_id), robust=True)


# --- who may take a seat -----------------------------------------------------------------------------------------------


def is_eligible(student: Student | None, course: Course) -> bool:
    """The crew rule: a crew-only course is for crew members; anything else for anyone (a new student included)."""
    return not course.is_crew_only or (student is not None and student.is_crew_member)


def check_may_register(*, student: Student | None, course: Course, studio: StudioSettings | None = None) -> None:
    """May `student` (None: someone new) register for, join the waitlist of, or accept an offer for `course`?

    Raises RegistrationClosed while registration is closed and NotEligible by the crew rule. The limit per student is
    `check_registration_limit`, counted inside the write's transaction.
    """
    studio = studio or studio_settings()
    if not studio.registration_open:
        raise RegistrationClosed()
    if not is_eligible(student, course):
        raise NotEligible()


def check_registration_limit(*, student: Student, now: datetime.datetime, studio: StudioSettings | None = None) -> None:
    """Raises RegistrationLimitReached when the student already holds max_registrations_per_student seats (0: no
    limit). A registration whose hold ran out holds nothing and does not count. The student's row is locked before
    counting (the caller holds one slot's lock; the count spans every slot)."""
    limit = (studio or studio_settings()).max_registrations_per_student
    if not limit:
        return
    lock_student(student)
    if Registration.objects.filter(holds_seat(now), student=student).count() >= limit:
        raise RegistrationLimitReached()


def check_client_holds(*, client_key: str, now: datetime.datetime, studio: StudioSettings | None = None) -> None:
    """Raises ClientHoldLimitReached when the client that is registering (studio.clients.client_key) already holds
    max_unpaid_holds_per_client unpaid seats (0: no limit). A hold that ran out, or a paid registration, does not count;
    registrations without a client (the studio's own, accepted offers) are never capped. Counted under the slot lock and
    the client's (lock_client: the count spans every slot)."""
    limit = (studio or studio_settings()).max_unpaid_holds_per_client
    if not (limit and client_key):
        return
    lock_client(client_key)
    if Registration.objects.filter(hold_running(now), client_key=client_key).count() >= limit:
        raise ClientHoldLimitReached()
