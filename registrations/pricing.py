"""What a registration costs and which classes it covers (README "Registrations and seats", "Late joiners").

A registration covers the classes from its start onwards. A full package bought before a series starts covers every
class at the slot's full-package price. Bought once it has started (a late joiner), it covers the classes not started
yet, at the full price or prorated by the classes left (the studio setting `late_join_pricing`), and it is no longer
sold once the last class has started. A drop-in covers its one class at the drop-in price; a dated class its date.
A price of 0 is a free class: nothing to pay, confirmed at once.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from courses.models import CoursePricing, CourseSlot
from studio.config import StudioSettings, studio_settings

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """`value` rounded to the cent (half up), as money is kept."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def class_starts_at(slot: CourseSlot, day: datetime.date) -> datetime.datetime:
    """When the slot's class on `day` starts: local wall time in the studio's zone (DST-safe)."""
    return datetime.datetime.combine(day, slot.start_time, tzinfo=timezone.get_default_timezone())


def classes_not_started(slot: CourseSlot, *, now: datetime.datetime) -> list[datetime.date]:
    """The slot's class dates whose class has not started at `now`."""
    return [day for day in slot.class_dates() if class_starts_at(slot, day) > now]


@dataclass(frozen=True)
class Quote:
    """A registration's price and what it covers, worked out before it is made."""

    amount: Decimal
    first_class_date: datetime.date | None  # a late joiner's first class; None: from the slot's first class
    classes: int  # classes it covers
    of: int  # classes the slot has

    @property
    def is_late_join(self) -> bool:
        return self.first_class_date is not None

    @property
    def is_free(self) -> bool:
        return self.amount == 0


def quote(
    *, slot: CourseSlot, pricing_type: str, price: Decimal, now: datetime.datetime, studio: StudioSettings | None = None
) -> Quote | None:
    """What a registration for `slot` at `price` (its `pricing_type` price row) costs and covers at `now`; None when
    it can no longer be sold (a full package once the series' last class has started)."""
    if pricing_type != CoursePricing.PricingType.FULL_PACKAGE or slot.course.is_dated:
        return Quote(amount=price, first_class_date=None, classes=1, of=1)
    dates = slot.class_dates()
    left = classes_not_started(slot, now=now)
    if not left:
        return None
    if len(left) == len(dates):
        return Quote(amount=price, first_class_date=None, classes=len(dates), of=len(dates))
    amount = price
    if (studio if studio is not None else studio_settings()).late_join_pricing == "prorated":
        amount = cents(price * len(left) / len(dates))
    return Quote(amount=amount, first_class_date=left[0], classes=len(left), of=len(dates))


def covers_class(
    *,
    pricing_type: str,
    class_date: datetime.date | None,
    first_class_date: datetime.date | None,
    day: datetime.date,
    is_dated: bool,
) -> bool:
    """Whether a registration of a slot (its pricing type, class date and first class) is for the slot's class on
    `day`. A drop-in on a series covers its class date; a full package every class from its first (a late joiner's
    later one); a dated class its one date."""
    if class_date is not None:
        return class_date == day
    if first_class_date is not None and day < first_class_date:
        return False
    return pricing_type == CoursePricing.PricingType.FULL_PACKAGE or is_dated
