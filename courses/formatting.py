"""How the portal writes classes in words, in one place: times ("7–8:30 pm", "10:30 am"), dates ("Tue, Sep 1"),
schedules ("Tuesdays 7–8:30 pm, Sep 1 – Sep 22"), moments ("Fri, Nov 27, 10:30 am"), money ("$2,058.00"), prices and
seats. Pages, emails, forms and the admin's lists and detail pages all use these (templates through
courses/templatetags/course_tags.py); CSV exports keep ISO dates and plain numbers.
"""

import datetime
from decimal import Decimal

from django.utils import dateformat, timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from courses.models import CoursePricing


def _weekday_plural(day: int) -> str:
    # Built per call so the names follow the active language.
    names = [
        pgettext("every week", "Mondays"),
        pgettext("every week", "Tuesdays"),
        pgettext("every week", "Wednesdays"),
        pgettext("every week", "Thursdays"),
        pgettext("every week", "Fridays"),
        pgettext("every week", "Saturdays"),
        pgettext("every week", "Sundays"),
    ]
    return names[day]


def _clock(value: datetime.time) -> str:
    """7, 8:30, 12 — the hour on a 12-hour clock, minutes only when there are some."""
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d}" if value.minute else str(hour)


def _meridiem(value: datetime.time) -> str:
    return _("am") if value.hour < 12 else _("pm")


def time_of_day(value: datetime.time | None) -> str:
    """ "7 pm", "10:30 am"; "" for None."""
    if value is None:
        return ""
    return f"{_clock(value)} {_meridiem(value)}"


def time_range(start: datetime.time, end: datetime.time) -> str:
    """ "7–8:30 pm", or "11:30 am–1 pm" when the class crosses noon."""
    if _meridiem(start) == _meridiem(end):
        return f"{_clock(start)}–{_clock(end)} {_meridiem(end)}"
    return f"{_clock(start)} {_meridiem(start)}–{_clock(end)} {_meridiem(end)}"


def _day(value: datetime.date, *, with_year: bool) -> str:
    return dateformat.format(value, "M j, Y" if with_year else "M j")


def day(value: datetime.date | None, *, today: datetime.date | None = None) -> str:
    """A date with its weekday: "Tue, Sep 1" ("Tue, Sep 1, 2027" when it is not this year); "" for None."""
    if value is None:
        return ""
    this_year = (today or timezone.localdate()).year
    return dateformat.format(value, "D, M j" if value.year == this_year else "D, M j, Y")


def session_when(session) -> str:
    """When a class session meets: "Tue, Dec 8, 7–8:30 pm"."""
    return f"{day(session.session_date)}, {time_range(session.start_time, session.end_time)}"


def slot_when(slot) -> str:
    """When a time slot meets, without its course's dates: "Tuesdays 7–8:30 pm" or "Sat, Oct 3, 2–4 pm"."""
    hours = time_range(slot.start_time, slot.end_time)
    if slot.practice_date is not None:
        return f"{day(slot.practice_date)}, {hours}"
    return f"{_weekday_plural(slot.day_of_week)} {hours}"


def class_start(slot, class_date: datetime.date | None = None) -> str:
    """When a registration's class starts: "Tuesdays 7 pm" (a series), "Tue, Dec 8, 7 pm" (one class)."""
    one_date = class_date or slot.practice_date
    if one_date is not None:
        return f"{day(one_date)}, {time_of_day(slot.start_time)}"
    return f"{_weekday_plural(slot.day_of_week)} {time_of_day(slot.start_time)}"


def date_range(start: datetime.date, end: datetime.date, *, today: datetime.date | None = None) -> str:
    """ "Sep 1 – Sep 22"; the year is added when it is not this year."""
    this_year = (today or timezone.localdate()).year
    if start == end:
        return _day(start, with_year=start.year != this_year)
    if start.year != end.year:
        return f"{_day(start, with_year=True)} – {_day(end, with_year=True)}"
    return f"{_day(start, with_year=False)} – {_day(end, with_year=end.year != this_year)}"


def schedule_parts(slot, course, *, today: datetime.date | None = None) -> tuple[str, str]:
    """("Tuesdays 7–8:30 pm", "Sep 1 – Sep 22") for a weekly slot, ("Sat, Oct 3", "2–4 pm") for a dated one."""
    hours = time_range(slot.start_time, slot.end_time)
    if slot.practice_date is not None:
        return day(slot.practice_date, today=today), hours
    # The first and last class on the slot's weekday, computed rather than read through slot.course (no query).
    first = course.start_date + datetime.timedelta(days=(slot.day_of_week - course.start_date.weekday()) % 7)
    last = course.end_date - datetime.timedelta(days=(course.end_date.weekday() - slot.day_of_week) % 7)
    if first > last:
        first, last = course.start_date, course.end_date
    return f"{_weekday_plural(slot.day_of_week)} {hours}", date_range(first, last, today=today)


def slot_schedule(slot, course, *, today: datetime.date | None = None) -> str:
    """A slot's schedule: "Tuesdays 7–8:30 pm, Sep 1 – Sep 22" (weekly) or "Sat, Oct 3, 2–4 pm" (dated)."""
    return ", ".join(schedule_parts(slot, course, today=today))


def moment(value: datetime.datetime | None) -> str:
    """An aware datetime in the studio's words: "Fri, Nov 27, 10:30 am" (the year only when it is not this year)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return f"{day(local.date())}, {time_of_day(local.time())}"


def money(value) -> str:
    """Dollars and cents with a thousands separator: Decimal("2058") → "$2,058.00"; "-5" → "-$5.00"; "" for None."""
    if value is None or value == "":
        return ""
    amount = Decimal(value)
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def price_summary(prices: dict) -> str:
    """ "$120.00 full package · $35.00 drop-in", "Free", or "" when the slot has no price."""
    return " · ".join(price_parts(prices))


def price_parts(prices: dict) -> list[str]:
    """["$120.00 full package", "$35.00 drop-in"], ["Free"], or [] when the slot has no price.

    Pages show each part unbroken, so a phone never wraps "drop-" from "in".
    """
    if not prices:
        return []
    if all(Decimal(price) == 0 for price in prices.values()):
        return [_("Free")]
    labels = {
        CoursePricing.PricingType.FULL_PACKAGE: _("full package"),
        CoursePricing.PricingType.DROP_IN: _("drop-in"),
    }
    parts = []
    for pricing_type in CoursePricing.PricingType.values:
        if pricing_type in prices:
            price = prices[pricing_type]
            amount = _("free") if Decimal(price) == 0 else money(price)
            parts.append(f"{amount} {labels[pricing_type]}")
    return parts


class SeatsLater(int):
    """A seat count whose words are written in later: seats_text gives `mark` for it, which a page cached with it
    replaces by each visitor's current count in words (registrations/page_cache.py)."""

    mark: str

    def __new__(cls, value: int, mark: str):
        count = super().__new__(cls, value)
        count.mark = mark
        return count


def seats_text(seats: int) -> str:
    """ "4 seats left", "1 seat left" or "Full – join the waitlist"."""
    if isinstance(seats, SeatsLater):
        return seats.mark
    if seats <= 0:
        return _("Full – join the waitlist")
    return ngettext("%(count)d seat left", "%(count)d seats left", seats) % {"count": seats}


def plain_date(value: datetime.date) -> str:
    """A date in plain words for notes and emails, e.g. "Sep 1"."""
    return date_format(value, "M j")


def class_dates_text(
    slot, class_date: datetime.date | None = None, first_class_date: datetime.date | None = None
) -> str:
    """The dates a registration covers: "Sep 1" for one class (`class_date`, or a dated slot), "Sep 1 – Oct 6" for
    a series (from `first_class_date` for a late joiner)."""
    if class_date is not None:
        return plain_date(class_date)
    dates = [day for day in slot.class_dates() if first_class_date is None or day >= first_class_date]
    if not dates:
        return ""
    if len(dates) == 1:
        return plain_date(dates[0])
    return f"{plain_date(dates[0])} – {plain_date(dates[-1])}"


def schedule_text(slot, class_date: datetime.date | None = None, first_class_date: datetime.date | None = None) -> str:
    """When a registration's class meets: "Tue, Sep 1, 7–8:30 pm" (one class) or "Tuesdays 7–8:30 pm, Sep 1 – Oct 6"
    (a series; from `first_class_date` for a late joiner)."""
    one_date = class_date or slot.practice_date
    if one_date is not None:
        return f"{day(one_date)}, {time_range(slot.start_time, slot.end_time)}"
    return f"{slot_when(slot)}, {class_dates_text(slot, first_class_date=first_class_date)}"
