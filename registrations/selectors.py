"""Reads shared by views, services and the admin: open courses, seats left, payment instructions.

Seats are counted, never stored (SPEC §3 "Registrations and seats"): a slot's seats taken on a date =
completed + pending whose hold has not run out + outstanding waitlist offers. A registration without a
class date (a full package, or a drop-in on a dated course) takes a seat on every date of the slot; a drop-in on a
series takes a seat on its class date only. Every count compares `payment_due_at` with now, so nothing depends
on a background sweep.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

import segno
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, Prefetch, Q, Value, When
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _

from courses.models import Course, CoursePricing, CourseSlot
from studio.config import studio_settings
from registrations.models import Registration
from students.models import Student
from waitlist.models import WaitlistEntry

# Course types in the order the catalog lists them (the enum's order, not the alphabet's).
_COURSE_TYPE_ORDER = Case(
    *[When(course_type=value, then=Value(n)) for n, value in enumerate(Course.CourseType.values)],
    default=Value(len(Course.CourseType.values)),
)


def studio_today() -> datetime.date:
    """Today in the studio's time zone (settings.TIME_ZONE), whatever zone is active."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def holds_seat(now: datetime.datetime) -> Q:
    """Registrations that take a seat: paid, or pending with a hold that has not run out at `now`."""
    return Q(payment_status=Registration.PaymentStatus.COMPLETED) | Q(
        payment_status=Registration.PaymentStatus.PENDING, payment_due_at__gt=now
    )


def outstanding_offers(now: datetime.datetime) -> Q:
    """Waitlist offers that still hold a seat at `now`."""
    return Q(status=WaitlistEntry.Status.OFFERED, offer_expires_at__gt=now)


@dataclass(frozen=True)
class _SeatCounts:
    capacity: int
    every_date: int  # registrations without a class date + outstanding offers: a seat on every date
    by_date: dict[datetime.date, int] = field(default_factory=dict)  # drop-ins on a series, per class date

    def taken(self, class_date: datetime.date | None = None) -> int:
        # A full package needs a seat on every date, so the busiest date decides.
        on_date = self.by_date.get(class_date, 0) if class_date else max(self.by_date.values(), default=0)
        return self.every_date + on_date

    def left(self, class_date: datetime.date | None = None) -> int:
        return max(0, self.capacity - self.taken(class_date))


def _seat_counts(
    slots: list[CourseSlot], now: datetime.datetime, *, offers: dict[int, int] | None = None
) -> dict[int, _SeatCounts]:
    """Seat counts of many slots in two queries (one when the caller counted the outstanding `offers` per slot)."""
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
    if offers is None:
        rows = (
            WaitlistEntry.objects.filter(outstanding_offers(now), offer_slot_id__in=slot_ids)
            .values("offer_slot_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        offers = {row["offer_slot_id"]: row["n"] for row in rows}
    for slot_id, n in offers.items():
        every_date[slot_id] += n
    return {
        slot.pk: _SeatCounts(capacity=slot.capacity, every_date=every_date[slot.pk], by_date=by_date[slot.pk])
        for slot in slots
    }


def seat_counts(slots: list[CourseSlot], *, now: datetime.datetime | None = None) -> dict[int, _SeatCounts]:
    """Seat counts of many slots in two queries: slot id -> counts with `.capacity` and `.left(class_date=None)`."""
    return _seat_counts(slots, now or timezone.now())


def waiting_counts(course_ids: list[int]) -> dict[tuple[int, int | None], int]:
    """Waiting entries per (course id, preferred slot id or None), in one query."""
    return _waiting_counts(course_ids)


def _waiting_counts(course_ids: list[int]) -> dict[tuple[int, int | None], int]:
    """Waiting entries per (course id, preferred slot id or None), in one query."""
    rows = (
        WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING, course_id__in=course_ids)
        .values("course_id", "preferred_slot_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(row["course_id"], row["preferred_slot_id"]): row["n"] for row in rows}


def _waiting_for(slot: CourseSlot, waiting: dict[tuple[int, int | None], int]) -> int:
    return waiting.get((slot.course_id, slot.pk), 0) + waiting.get((slot.course_id, None), 0)


def seats_left(
    slot: CourseSlot, *, class_date: datetime.date | None = None, now: datetime.datetime | None = None
) -> int:
    """Seats free in `slot` (on `class_date`, or on every date for a full package), never below 0."""
    now = now or timezone.now()
    return _seat_counts([slot], now)[slot.pk].left(class_date)


def waiting_count(slot: CourseSlot) -> int:
    """Students waiting for a seat in `slot`: the course's waiting entries for this slot or for any slot."""
    return _waiting_for(slot, _waiting_counts([slot.course_id]))


def walk_up_seats_left(
    slot: CourseSlot, *, class_date: datetime.date | None = None, now: datetime.datetime | None = None
) -> int:
    """Seats a public registration may take: while anyone waits, freed seats go to the waitlist first.

    Two queries (it runs under the slot lock of every registration): the registrations, and in one the slot's
    outstanding offers with the course's waiting entries for this slot or any."""
    now = now or timezone.now()
    waitlist = WaitlistEntry.objects.filter(Q(offer_slot=slot) | Q(course_id=slot.course_id)).aggregate(
        offers=Count("pk", filter=outstanding_offers(now) & Q(offer_slot=slot)),
        waiting=Count(
            "pk",
            filter=Q(status=WaitlistEntry.Status.WAITING, course_id=slot.course_id)
            & (Q(preferred_slot=slot) | Q(preferred_slot__isnull=True)),
        ),
    )
    counts = _seat_counts([slot], now, offers={slot.pk: waitlist["offers"]})[slot.pk]
    return max(0, counts.left(class_date) - waitlist["waiting"])


def upcoming_class_dates(slot: CourseSlot, *, today: datetime.date | None = None) -> list[datetime.date]:
    """The slot's class dates from today on (studio time zone)."""
    today = today or studio_today()
    return [day for day in slot.class_dates() if day >= today]


def listed_courses(student: Student | None = None):
    """Active courses that have not ended, crew-only ones only for a crew member: a queryset in catalog order."""
    courses = Course.objects.filter(is_active=True, end_date__gte=studio_today())
    if student is None or not student.is_crew_member:
        courses = courses.filter(required_student_type=Course.RequiredStudentType.ANY)
    slots = CourseSlot.objects.order_by("day_of_week", "practice_date", "start_time", "pk").prefetch_related(
        Prefetch("prices", queryset=CoursePricing.objects.order_by("pricing_type"))
    )
    return courses.prefetch_related(Prefetch("slots", queryset=slots)).order_by(
        _COURSE_TYPE_ORDER, "start_date", "name", "pk"
    )


def _decorate(courses: list[Course], *, seats: bool = True) -> list[Course]:
    """Attach open slots, prices and (with `seats`) seats to each course with a fixed number of queries."""
    if not courses:
        return courses
    now, today = timezone.now(), studio_today()
    all_slots = [slot for course in courses for slot in course.slots.all()]
    if seats:
        counts_by_slot = _seat_counts(all_slots, now)
        waiting = _waiting_counts([course.pk for course in courses])
    for course in courses:
        course.seats_counted = seats
        course.open_slots = []
        for slot in course.slots.all():
            slot.upcoming_dates = upcoming_class_dates(slot, today=today)
            if not slot.upcoming_dates:
                continue
            # `slot.prices` is the reverse relation (it cannot be assigned), hence `price_by_type`.
            slot.price_by_type = {price.pricing_type: price.price for price in slot.prices.all()}
            if seats:
                counts, waiting_here = counts_by_slot[slot.pk], _waiting_for(slot, waiting)
                slot.waiting_count = waiting_here
                slot.seats_left = max(0, counts.left() - waiting_here)
                slot.seats_by_date = {day: max(0, counts.left(day) - waiting_here) for day in slot.upcoming_dates}
            course.open_slots.append(slot)
    return courses


def open_courses(*, student: Student | None = None) -> list[Course]:
    """Courses listed in the catalog for `student` (crew-only ones for a crew member), in a fixed number of queries.

    Each course carries `.open_slots` (slots with a class date from today on). Each slot carries `.price_by_type`
    (pricing type -> Decimal), `.seats_left` (seats a walk-up may take for a full package), `.upcoming_dates`,
    `.seats_by_date` (date -> seats a walk-up may take for a drop-in that day) and `.waiting_count`.
    """
    return _decorate(list(listed_courses(student)))


def open_courses_page(*, number: int, per_page: int, student: Student | None = None) -> Page:
    """Page `number` of `open_courses`, in the same order and decorated the same way, with one query more.

    Raises django.core.paginator.EmptyPage when `number` is past the last page.
    """
    page = Paginator(listed_courses(student), per_page).page(number)
    page.object_list = _decorate(list(page.object_list))
    return page


def course_for_page(*, course_id: int, student: Student | None = None, seats: bool = True) -> Course:
    """One course as `open_courses` lists it; raises Course.DoesNotExist when it is not listed for `student`.

    Without `seats` (three queries fewer) its slots carry no seat counts and `course.seats_counted` is False: enough
    to check a registration form, whose service counts the seats itself under a lock, not to show the page.
    """
    # Unordered: one row needs no ORDER BY (whose CASE expression costs more to build than the query takes).
    courses = _decorate(list(listed_courses(student).filter(pk=course_id).order_by()), seats=seats)
    if not courses:
        raise Course.DoesNotExist(f"No listed course with id {course_id!r}.")
    return courses[0]


def plain_date(day: datetime.date) -> str:
    """A date in plain words for notes and emails, e.g. "Sep 1"."""
    return date_format(day, "M j")


def class_dates_text(registration: Registration) -> str:
    """The dates a registration covers: "Sep 1" for one class, "Sep 1 – Oct 6" for a series."""
    if registration.class_date is not None:
        return plain_date(registration.class_date)
    dates = registration.slot.class_dates()
    if not dates:
        return ""
    if len(dates) == 1:
        return plain_date(dates[0])
    return f"{plain_date(dates[0])} – {plain_date(dates[-1])}"


def schedule_text(registration: Registration) -> str:
    """When the class meets in plain words: "Tue, Sep 1, 7:00 PM – 8:30 PM" or "Every Tuesday, Sep 1 – Oct 6"."""
    slot = registration.slot
    times = f"{time_format(slot.start_time, 'g:i A')} – {time_format(slot.end_time, 'g:i A')}"
    day = registration.class_date or slot.practice_date
    if day is not None:
        return f"{date_format(day, 'D, M j')}, {times}"
    weekday = _("Every %(day)s") % {"day": slot.get_day_of_week_display()}
    return f"{weekday}, {class_dates_text(registration)}, {times}"


@dataclass(frozen=True)
class PaymentInstructions:
    method: str
    amount: Decimal
    reference: str
    note: str
    venmo_username: str
    venmo_app_url: str
    venmo_web_url: str
    venmo_qr_svg: str
    zelle_recipient_name: str
    zelle_phone: str
    zelle_email: str

    @property
    def amount_text(self) -> str:
        return f"{self.amount:.2f}"


def venmo_qr_svg(url: str) -> str:
    """Inline SVG of a QR code for `url`, made on our server; no script and no style attribute (CSP)."""
    return segno.make(url, error="m").svg_inline(
        scale=4, svgclass="venmo-qr", lineclass=None, title=str(_("QR code to pay with Venmo"))
    )


def payment_instructions(registration: Registration) -> PaymentInstructions:
    """What the student needs to pay `registration`: amount, reference, note, and Venmo links or Zelle details."""
    studio = studio_settings()
    amount = registration.payment_amount
    amount_text = f"{amount:.2f}"
    dates = class_dates_text(registration)
    note = f"{registration.reference} {registration.course.name}" + (f" ({dates})" if dates else "")
    venmo_username = app_url = web_url = qr_svg = ""
    zelle_name = zelle_phone = zelle_email = ""
    if registration.payment_method == Registration.PaymentMethod.VENMO and studio.venmo_username:
        venmo_username = studio.venmo_username
        user, encoded_note = quote(venmo_username, safe=""), quote(note, safe="")
        app_url = f"venmo://paycharge?txn=pay&recipients={user}&amount={amount_text}&note={encoded_note}"
        web_url = f"https://venmo.com/{user}?txn=pay&amount={amount_text}&note={encoded_note}"
        qr_svg = venmo_qr_svg(web_url)
    elif registration.payment_method == Registration.PaymentMethod.ZELLE:
        zelle_name, zelle_phone, zelle_email = (
            studio.zelle_recipient_name,
            studio.zelle_phone,
            studio.zelle_email,
        )
    return PaymentInstructions(
        method=registration.payment_method,
        amount=amount,
        reference=registration.reference,
        note=note,
        venmo_username=venmo_username,
        venmo_app_url=app_url,
        venmo_web_url=web_url,
        venmo_qr_svg=qr_svg,
        zelle_recipient_name=zelle_name,
        zelle_phone=zelle_phone,
        zelle_email=zelle_email,
    )
