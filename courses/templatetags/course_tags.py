"""Class schedules, prices and seats in plain words: "Tuesdays 7–8:30 pm, Sep 1 – Sep 22", "$120 full package"."""

import datetime
from decimal import Decimal

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from courses.models import CoursePricing

register = template.Library()


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


def time_range(start: datetime.time, end: datetime.time) -> str:
    """"7–8:30 pm", or "11:30 am–1 pm" when the class crosses noon."""
    if _meridiem(start) == _meridiem(end):
        return f"{_clock(start)}–{_clock(end)} {_meridiem(end)}"
    return f"{_clock(start)} {_meridiem(start)}–{_clock(end)} {_meridiem(end)}"


def _day(value: datetime.date, *, with_year: bool) -> str:
    return dateformat.format(value, "M j, Y" if with_year else "M j")


def date_range(start: datetime.date, end: datetime.date, *, today: datetime.date | None = None) -> str:
    """"Sep 1 – Sep 22"; the year is added when it is not this year."""
    this_year = (today or timezone.localdate()).year
    if start == end:
        return _day(start, with_year=start.year != this_year)
    if start.year != end.year:
        return f"{_day(start, with_year=True)} – {_day(end, with_year=True)}"
    return f"{_day(start, with_year=False)} – {_day(end, with_year=end.year != this_year)}"


def _schedule_parts(slot, course, *, today: datetime.date | None = None) -> tuple[str, str]:
    """("Tuesdays 7–8:30 pm", "Sep 1 – Sep 22") for a weekly slot, ("Sat, Oct 3", "2–4 pm") for a dated one."""
    hours = time_range(slot.start_time, slot.end_time)
    if slot.practice_date is not None:
        this_year = (today or timezone.localdate()).year
        day = dateformat.format(slot.practice_date, "D, M j" if slot.practice_date.year == this_year else "D, M j, Y")
        return day, hours
    # The first and last class on the slot's weekday, computed rather than read through slot.course (no query).
    first = course.start_date + datetime.timedelta(days=(slot.day_of_week - course.start_date.weekday()) % 7)
    last = course.end_date - datetime.timedelta(days=(course.end_date.weekday() - slot.day_of_week) % 7)
    if first > last:
        first, last = course.start_date, course.end_date
    return f"{_weekday_plural(slot.day_of_week)} {hours}", date_range(first, last, today=today)


def slot_schedule(slot, course, *, today: datetime.date | None = None) -> str:
    """A slot's schedule: "Tuesdays 7–8:30 pm, Sep 1 – Sep 22" (weekly) or "Sat, Oct 3, 2–4 pm" (dated)."""
    return ", ".join(_schedule_parts(slot, course, today=today))


@register.filter
def moment(value: datetime.datetime | None) -> str:
    """An aware datetime in the studio's words: "Fri, Nov 27, 10:30 am" (the year only when it is not this year)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    this_year = timezone.localdate().year
    day = dateformat.format(local, "D, M j" if local.year == this_year else "D, M j, Y")
    return f"{day}, {_clock(local.time())} {_meridiem(local.time())}"


@register.simple_tag
def class_hours(slot) -> str:
    """{% class_hours slot %}: "7–8:30 pm"."""
    return time_range(slot.start_time, slot.end_time)


@register.simple_tag(name="slot_schedule")
def slot_schedule_tag(slot, course) -> str:
    """{% slot_schedule slot course %}: the schedule, each part kept whole when a narrow screen wraps the line.

    The course is passed in so that no query is made for slot.course.
    """
    first, second = _schedule_parts(slot, course)
    return format_html('<span class="text-nowrap">{}</span>, <span class="text-nowrap">{}</span>', first, second)


@register.filter
def money(value) -> str:
    """Decimal("120.00") → "$120"; Decimal("35.50") → "$35.50"."""
    if value is None or value == "":
        return ""
    amount = Decimal(value)
    if amount == amount.to_integral_value():
        return f"${amount:,.0f}"
    return f"${amount:,.2f}"


def price_summary(prices: dict) -> str:
    """"$120 full package · $35 drop-in", "Free", or "" when the slot has no price."""
    if not prices:
        return ""
    if all(Decimal(price) == 0 for price in prices.values()):
        return _("Free")
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
    return " · ".join(parts)


register.filter("price_summary", price_summary)


def seats_text(seats: int) -> str:
    """"4 seats left", "1 seat left" or "Full – join the waitlist"."""
    if seats <= 0:
        return _("Full – join the waitlist")
    return ngettext("%(count)d seat left", "%(count)d seats left", seats) % {"count": seats}


register.filter("seats_text", seats_text)
