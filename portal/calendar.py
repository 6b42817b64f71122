"""A student's classes as an iCalendar feed (RFC 5545) that phone calendars subscribe to: an alarm before each class
(as long before it as the reminder email, `class_reminder_hours`), make-up classes, and the classes the student told
us they can't make shown as cancelled."""

import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Event
from icalendar.enums import STATUS

from courses.formatting import plain_date
from portal import selectors
from registrations.models import Registration
from students.models import Student
from studio.config import studio_settings

REFRESH = datetime.timedelta(hours=6)


def _description(occurrence: selectors.ClassOccurrence) -> str:
    registration = occurrence.registration
    lines = [_("Reference: %(reference)s") % {"reference": registration.reference}]
    if occurrence.makeup is not None:
        missed = occurrence.makeup.absence.session
        lines.insert(
            0,
            _("Make-up for %(course)s on %(date)s")
            % {"course": missed.course.name, "date": plain_date(missed.session_date)},
        )
    if occurrence.is_excused:
        lines.insert(0, _("You told us you can't make it: your seat went to someone else."))
    if registration.payment_status == Registration.PaymentStatus.PENDING:
        lines.append(
            _("Waiting for your payment. How to pay: %(url)s")
            % {"url": settings.SITE_URL + registration.get_absolute_url()}
        )
    if occurrence.course.instructor:
        lines.append(_("Instructor: %(name)s") % {"name": occurrence.course.instructor})
    if occurrence.notes:
        lines.append(occurrence.notes)
    return "\n".join(lines)


def _event(occurrence: selectors.ClassOccurrence, *, stamp: datetime.datetime, alarm_hours: int) -> Event:
    registration = occurrence.registration
    name = occurrence.course.name
    if occurrence.is_canceled:
        status, summary = STATUS.CANCELLED, _("Canceled: %(course)s") % {"course": name}
    elif occurrence.is_excused:
        status, summary = STATUS.CANCELLED, _("Not going: %(course)s") % {"course": name}
    elif occurrence.makeup is not None:
        status, summary = STATUS.CONFIRMED, _("Make-up: %(course)s") % {"course": name}
    elif registration.payment_status == Registration.PaymentStatus.PENDING:
        status, summary = STATUS.TENTATIVE, name
    else:
        status, summary = STATUS.CONFIRMED, name
    event = Event.new(
        uid=occurrence.uid,
        stamp=stamp,
        start=occurrence.starts_at,
        end=occurrence.ends_at,
        summary=summary,
        location=occurrence.location or None,
        description=_description(occurrence),
        status=status,
        url=settings.SITE_URL + registration.get_absolute_url(),
    )
    if alarm_hours and status != STATUS.CANCELLED:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", -datetime.timedelta(hours=alarm_hours))
        event.add_component(alarm)
    return event


def student_calendar(student: Student) -> bytes:
    """The student's classes as an .ics file: one VEVENT per class, local times with a VTIMEZONE (DST-correct)."""
    studio = studio_settings()
    studio_name = studio.studio_name
    stamp = timezone.now().replace(microsecond=0)
    calendar = Calendar.new(
        name=_("%(studio)s: my classes") % {"studio": studio_name},
        prodid=f"-//{studio_name}//Dance portal//EN",
        uid=f"student-{student.pk}-classes@{settings.SITE_URL.split('://', 1)[-1].split('/', 1)[0]}",
        url=settings.SITE_URL + reverse("portal:home"),
        refresh_interval=REFRESH,
    )
    calendar.add("X-WR-TIMEZONE", settings.TIME_ZONE)
    calendar.add("X-PUBLISHED-TTL", REFRESH)
    occurrences = selectors.class_occurrences(student)
    for occurrence in occurrences:
        calendar.add_component(_event(occurrence, stamp=stamp, alarm_hours=studio.class_reminder_hours))
    if occurrences:
        # Only the rules around these classes, not the zone's whole history.
        calendar.add_missing_timezones(
            first_date=occurrences[0].starts_at.date() - datetime.timedelta(days=366),
            last_date=occurrences[-1].ends_at.date() + datetime.timedelta(days=366),
        )
    return calendar.to_ical()
