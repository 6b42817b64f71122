"""The formatting filters and tags of courses/formatting.py for templates: {% load course_tags %}."""

from django import template
from django.utils.html import format_html

from courses import formatting

register = template.Library()

register.filter("moment", formatting.moment)
register.filter("money", formatting.money)
register.filter("price_summary", formatting.price_summary)
register.filter("seats_text", formatting.seats_text)


@register.simple_tag
def class_hours(slot) -> str:
    """{% class_hours slot %}: "7–8:30 pm"."""
    return formatting.time_range(slot.start_time, slot.end_time)


@register.simple_tag(name="slot_schedule")
def slot_schedule_tag(slot, course) -> str:
    """{% slot_schedule slot course %}: the schedule, each part kept whole when a narrow screen wraps the line.

    The course is passed in so that no query is made for slot.course.
    """
    first, second = formatting.schedule_parts(slot, course)
    return format_html('<span class="text-nowrap">{}</span>, <span class="text-nowrap">{}</span>', first, second)


@register.simple_tag(name="class_when")
def class_when_tag(session) -> str:
    """{% class_when session %}: one class (anything with a date and times, e.g. a ClassSession): "Tue, Sep 8,
    7–8:30 pm"."""
    return formatting.class_when(session.session_date, session.start_time, session.end_time)
