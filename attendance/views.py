"""The door tablet: today's sessions, a roster with big present/late/absent buttons, course completion.

Staff only (the Instructor group is staff without superuser); anyone else is sent to the admin login page.
Every page works without JavaScript (one POST saves the roster); with htmx each tap saves at once.
"""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import time_format
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from attendance import selectors, services
from attendance.forms import RosterMarksForm, StudentMarkForm
from attendance.models import AttendanceRecord, ClassSession
from courses.models import Course
from dance_portal.csv import csv_response

DETAIL_TEMPLATE = "attendance/session_detail.html"
# Tells attendance.js that an htmx response is our row (not a login page or a captive Wi-Fi portal).
ROW_HEADER = "X-Attendance-Row"
# The mark buttons of a roster row, in order, with their Bootstrap colour.
MARK_BUTTONS = [
    (AttendanceRecord.Status.PRESENT, "success"),
    (AttendanceRecord.Status.LATE, "warning"),
    (AttendanceRecord.Status.ABSENT, "danger"),
]


def _sessions():
    return ClassSession.objects.select_related("course", "slot")


def _roster_rows(session: ClassSession, entries: list[selectors.RosterEntry]) -> list[dict]:
    """What each roster row shows, ready to print: ids, mark URL, legend, "saved at" time and the three buttons.

    A roster renders 60 rows of 3 buttons, and per-row work in the template (`{% url %}`, translation, number and time
    formatting, deep lookups) was most of the page's time. Ids, URLs and button values are digits and fixed words,
    so they are SafeStrings the template need not escape; labels are escaped once here; names stay plain strings.
    """
    # The student id is the last part of the mark URL: reverse once, then append each id.
    mark_url_prefix = reverse("attendance:mark", args=[session.pk, 0]).removesuffix("0/")
    legend = _("Attendance of %(name)s")
    buttons = [
        (SafeString(status.value), conditional_escape(status.label), SafeString(colour))
        for status, colour in MARK_BUTTONS
    ]
    rows = []
    for entry in entries:
        sid = SafeString(entry.student.pk)
        name = entry.student.full_name
        selected = entry.selected
        record = entry.record
        rows.append(
            {
                "sid": sid,
                "name": name,
                "is_paid": entry.is_paid,
                "is_drop_in": entry.is_drop_in,
                "mark_url": SafeString(f"{mark_url_prefix}{sid}/"),
                "legend": legend % {"name": name},
                "saved_at": time_format(timezone.localtime(record.marked_at), "g:i A") if record else "",
                "buttons": [
                    {
                        "id": SafeString(f"mark-{sid}-{value}"),
                        "value": value,
                        "label": label,
                        "colour": colour,
                        "checked": value == selected,
                    }
                    for value, label, colour in buttons
                ],
            }
        )
    return rows


def _page_context(session: ClassSession, roster: selectors.Roster) -> dict:
    today = timezone.localdate()
    return {
        "session": session,
        "roster": roster,
        "can_mark": not session.is_canceled and session.session_date <= today,
        "is_future": session.session_date > today,
        # The row partial's tap-only flags, set here too: a missing variable costs a lookup failure per row.
        "row_error": None,
        "just_saved": False,
        "oob": False,
    }


@staff_member_required
@require_safe
@never_cache
def session_list(request):
    """Today's sessions first, then the next 7 days, then the last 7 days."""
    return render(request, "attendance/session_list.html", {"sessions": selectors.door_sessions()})


@staff_member_required
@require_http_methods(["GET", "POST"])
@never_cache
def session_detail(request, session_id):
    """The roster; a POST saves every mark at once (and "All present" fills the unmarked paid students)."""
    session = get_object_or_404(_sessions(), pk=session_id)
    roster = selectors.session_roster(session)
    form = RosterMarksForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        marks = form.cleaned_data["marks"]
        if form.cleaned_data["all_present"]:
            marks = {
                **{entry.student.pk: AttendanceRecord.Status.PRESENT for entry in roster.paid if entry.record is None},
                **marks,
            }
        try:
            written = services.mark_attendance(session=session, marks=marks, marked_by=request.user)
        except services.AttendanceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                ngettext("Saved %(count)d mark.", "Saved %(count)d marks.", len(written)) % {"count": len(written)}
                if written
                else _("Saved. Nothing had changed."),
            )
            return redirect("attendance:detail", session_id=session.pk)
    if form.is_bound:
        # Show what was posted, so pressing Save again after fixing the problem loses nothing.
        posted = form.cleaned_data.get("marks", {})
        for entry in roster.entries:
            entry.posted = posted.get(entry.student.pk, "")
    context = {
        **_page_context(session, roster),
        "paid_rows": _roster_rows(session, roster.paid),
        "unpaid_rows": _roster_rows(session, roster.unpaid),
        "form": form,
    }
    return render(request, DETAIL_TEMPLATE, context, status=400 if form.is_bound else 200)


@staff_member_required
@require_POST
def mark_student(request, session_id, student_id):
    """One tap (htmx): save one student's mark and answer with that row; 400 with the reason when refused."""
    session = get_object_or_404(_sessions(), pk=session_id)
    form = StudentMarkForm(request.POST, student_id=student_id)
    error = None
    if form.is_valid():
        try:
            services.mark_attendance(session=session, marks={student_id: form.status}, marked_by=request.user)
        except services.AttendanceError as refusal:
            error = str(refusal)
    else:
        error = form.errors[form.field_name][0]
    if not request.htmx:
        # Without JavaScript the roster form posts to the detail page; this answers a hand-made request.
        if error:
            messages.error(request, error)
        return redirect("attendance:detail", session_id=session.pk)
    roster = selectors.session_roster(session)
    entry = roster.entry_for(student_id)
    context = {
        **_page_context(session, roster),
        "row": _roster_rows(session, [entry])[0] if entry else None,
        "student_id": student_id,
        "row_error": error,
        "just_saved": error is None,
        "oob": True,
    }
    response = render(request, f"{DETAIL_TEMPLATE}#tap-response", context, status=400 if error else 200)
    response[ROW_HEADER] = str(student_id)
    return response


@staff_member_required
@require_safe
@never_cache
def course_completion(request, course_id):
    """Students × held sessions of a course, with each student's completion."""
    course = get_object_or_404(Course, pk=course_id)
    return render(
        request, "attendance/course_completion.html", {"matrix": selectors.completion_for_course(course)}
    )


@staff_member_required
@require_safe
def course_completion_csv(request, course_id):
    """The completion matrix as CSV (UTF-8 with a BOM so Excel reads accents), safe against formula injection."""
    course = get_object_or_404(Course, pk=course_id)
    matrix = selectors.completion_for_course(course)
    header = [_("First name"), _("Last name"), _("Email")]
    header += [f"{s.session_date:%Y-%m-%d} {s.start_time:%H:%M}" for s in matrix.sessions]
    header += [_("Attended"), _("Expected"), _("Completion %")]
    labels = dict(AttendanceRecord.Status.choices)
    rows = (
        [row.student.first_name, row.student.last_name, row.student.email]
        + [
            str(labels[cell.status]) if cell.status else (_("not marked") if cell.expected else "")
            for cell in row.cells
        ]
        + [row.attended, row.expected, "" if row.percent is None else row.percent]
        for row in matrix.rows
    )
    return csv_response(f"attendance-course-{course.pk}.csv", header, rows)

