"""The formatting filters and tags of courses/formatting.py for templates: {% load course_tags %}."""

from django import template
from django.utils.html import format_html

from courses import formatting

register = template.Library()

register.filter("moment", formatting.moment)
register.filter("day", formatting.day)
register.filter("time_of_day", formatting.time_of_day)
register.filter("session_when", formatting.session_when)
register.filter("slot_when", formatting.slot_when)
register.filter("money", formatting.money)
register.filter("price_summary", formatting.price_summary)
register.filter("price_parts", formatting.price_parts)
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
