"""The door tablet: today's sessions, a roster with big present/late/absent buttons, course completion.

Staff only (the Instructor group is staff without superuser); anyone else is sent to the admin login page.
Every page works without JavaScript (one POST saves the roster). With it (static/js/attendance.js) each tap is kept
in the browser, in order, and sent at once or as soon as the connection is back; the server takes each tap once
(`services.mark_tap`) and answers a tap for a roster that changed meanwhile with 409 and the reason.
"""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from attendance import selectors, services
from attendance.forms import RosterMarksForm, StudentMarkForm
from attendance.models import AttendanceRecord, ClassSession
from courses.formatting import time_of_day
from courses.models import Course
from studio.csv import csv_response

DETAIL_TEMPLATE = "attendance/session_detail.html"
# Tells attendance.js that a response is our row (not a login page or a captive Wi-Fi portal).
ROW_HEADER = "X-Attendance-Row"
# Sent by attendance.js with each tap: answer with the row rather than redirect.
TAP_HEADER = "X-Attendance-Tap"
# The mark buttons of a roster row, in order, with their Bootstrap colour.
MARK_BUTTONS = [
    (AttendanceRecord.Status.PRESENT, "success"),
    (AttendanceRecord.Status.LATE, "warning"),
    (AttendanceRecord.Status.ABSENT, "danger"),
]


def staff_with(*permissions: str):
    """Staff who hold every one of `permissions` (by their group: README "Roles"). Anyone else is sent to the admin
    login; a staff user without them (in neither group, say) gets 403. Never is_staff alone."""

    def decorator(view):
        return staff_member_required(permission_required(permissions, raise_exception=True)(view))

    return decorator


VIEW = "attendance.view_classsession"
MARK = ("attendance.view_classsession", "attendance.add_attendancerecord", "attendance.change_attendancerecord")


def _sessions():
    return ClassSession.objects.select_related("course", "slot")


# A roster row: the student's name and badges, three mark buttons (radio inputs styled as big buttons) that save on
# change through htmx, and what was saved when. Printed here rather than in the template: a roster is 60 rows of three
# buttons, and the template engine's per-variable cost for them was most of the page's time (README "Performance").
_ROW = """<div id="row-{sid}" class="roster-row{row_class}" data-roster-row data-student="{sid}" data-saved="{saved}">
  <div class="roster-name">
    <span class="roster-student">{name}</span>
    {badges}
  </div>
  <fieldset class="roster-marks"{marking}>
    <legend class="visually-hidden">{legend}</legend>
{buttons}      <input type="hidden" name="was-{sid}" value="{was}">
  </fieldset>
  <div class="roster-state" aria-live="polite">
    {state}
  </div>
</div>
"""
_MARKING = ' data-mark-url="{url}"'
_BUTTON = """      <input type="radio" class="btn-check" name="mark-{sid}" id="mark-{sid}-{value}" value="{value}" \
autocomplete="off"{checked}>
      <label class="btn btn-outline-{colour} btn-mark" for="mark-{sid}-{value}">{label}</label>
"""


def _roster_rows(
    session: ClassSession,
    entries: list[selectors.RosterEntry],
    *,
    can_mark: bool,
    row_error: str | None = None,
    just_saved: bool = False,
) -> list[SafeString]:
    """The HTML of each roster row; `row_error` and `just_saved` describe the row a tap has just saved (or not)."""
    # The student id is the last part of the mark URL: reverse once, then append each id.
    mark_url_prefix = reverse("attendance:mark", args=[session.pk, 0]).removesuffix("0/")
    legend = _("Attendance of %(name)s")
    unpaid = format_html('<span class="badge text-bg-warning">{}</span>', _("Unpaid"))
    drop_in = format_html('<span class="badge text-bg-info">{}</span>', _("Drop-in"))
    makeup = format_html('<span class="badge text-bg-primary">{}</span>', _("Make-up"))
    excused = format_html('<span class="badge text-bg-secondary">{}</span>', _("Excused"))
    labels = [(status.value, conditional_escape(status.label), colour) for status, colour in MARK_BUTTONS]
    saved = _("Saved")
    rows = []
    for entry in entries:
        sid = entry.student.pk
        name = entry.student.full_name
        if row_error:
            state = format_html('<span class="text-danger">{}</span>', row_error)
        elif entry.record is not None:
            saved_at = time_of_day(timezone.localtime(entry.record.marked_at).time())
            state = format_html(
                '<span class="text-success">{}{} {}</span>', "✓ " if just_saved else "", saved, saved_at
            )
        elif entry.absence is not None:
            state = format_html('<span class="text-secondary">{}</span>', _("Can't make it (told us)"))
        else:
            state = format_html('<span class="text-secondary">{}</span>', _("Not marked"))
        buttons = "".join(
            _BUTTON.format(
                sid=sid, value=value, colour=colour, label=label, checked=" checked" if value == entry.selected else ""
            )
            for value, label, colour in labels
        )
        badges = (
            ([] if entry.is_paid else [unpaid])
            + ([drop_in] if entry.is_drop_in else [])
            + ([makeup] if entry.makeup else [])
            + ([excused] if entry.absence else [])
        )
        marking = _MARKING.format(url=f"{mark_url_prefix}{sid}/") if can_mark else " disabled"
        row_class = (
            ("" if entry.is_paid else " is-unpaid")
            + (" is-excused" if entry.absence and entry.record is None else "")
            + (" is-failed" if row_error else " is-saved" if just_saved else "")
        )
        # Ids, the URL and button values are digits and fixed words; labels and badges are escaped above.
        rows.append(
            format_html(
                _ROW,
                sid=sid,
                saved=entry.record.status if entry.record is not None else "",
                was=entry.was,
                row_class=row_class,
                name=name,
                badges=mark_safe("\n    ".join(badges)),
                marking=mark_safe(marking),
                legend=legend % {"name": name},
                buttons=mark_safe(buttons),
                state=state,
            )
        )
    return rows


def _page_context(session: ClassSession, roster: selectors.Roster) -> dict:
    today = timezone.localdate()
    return {
        "session": session,
        "roster": roster,
        "can_mark": not session.is_canceled and session.session_date <= today,
        "is_future": session.session_date > today,
        "oob": False,  # the marked count replaces the page's own out of band only in a tap's answer
    }


@staff_with(VIEW)
@require_safe
@never_cache
def session_list(request):
    """Today's sessions first, then the next 7 days, then the last 7 days."""
    context = {"sessions": selectors.door_sessions(), "today": timezone.localdate()}
    return render(request, "attendance/session_list.html", context)


@staff_with(VIEW)
@require_http_methods(["GET", "POST"])
@never_cache
def session_detail(request, session_id):
    """The roster; a POST saves every mark at once (and "All present" fills the unmarked paid students)."""
    if request.method == "POST" and not request.user.has_perms(MARK):
        raise PermissionDenied
    session = get_object_or_404(_sessions(), pk=session_id)
    roster = selectors.session_roster(session)
    form = RosterMarksForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        marks = form.cleaned_data["marks"]
        if form.cleaned_data["all_present"]:
            # Not the students who told us they can't make it.
            marks = {
                **{
                    entry.student.pk: AttendanceRecord.Status.PRESENT
                    for entry in roster.paid
                    if not entry.is_accounted_for
                },
                **marks,
            }
        try:
            saved = services.mark_attendance(
                session=session, marks=marks, marked_by=request.user, was=form.cleaned_data["was"]
            )
        except services.AttendanceError as error:
            form.add_error(None, str(error))
        else:
            written = saved.written
            messages.success(
                request,
                ngettext("Saved %(count)d mark.", "Saved %(count)d marks.", len(written)) % {"count": len(written)}
                if written
                else _("Saved. Nothing had changed."),
            )
            for record in saved.changed_meanwhile:
                messages.warning(
                    request,
                    _("%(name)s: not saved. %(change)s Mark again to change it.")
                    % {"name": record.student.full_name, "change": services.changed_by(record)},
                )
            return redirect("attendance:detail", session_id=session.pk)
    if form.is_bound:
        # Show what was posted (and keep the marks the page had shown), so pressing Save again after fixing the
        # problem loses nothing and still overwrites no one.
        posted = form.cleaned_data.get("marks", {})
        shown = form.cleaned_data.get("was", {})
        for entry in roster.entries:
            entry.posted = posted.get(entry.student.pk, "")
            entry.posted_was = shown.get(entry.student.pk)
    context = _page_context(session, roster)
    context |= {
        "paid_rows": _roster_rows(session, roster.paid, can_mark=context["can_mark"]),
        "unpaid_rows": _roster_rows(session, roster.unpaid, can_mark=context["can_mark"]),
        "form": form,
    }
    return render(request, DETAIL_TEMPLATE, context, status=400 if form.is_bound else 200)


def _changed_meanwhile(session: ClassSession, student_id: int, refusal: services.AttendanceError) -> bool:
    """A refusal because the roster changed since the tablet showed it: the class canceled, the mark changed by
    someone else, or a student who was on the roster and no longer is (someone never on it is a bad request)."""
    if isinstance(refusal, services.NotOnRoster):
        return selectors.was_on_roster(session, student_id)
    return isinstance(refusal, services.SessionCanceled | services.MarkChanged)


@staff_with(*MARK)
@require_POST
def mark_student(request, session_id, student_id):
    """One tap: save one student's mark and answer with that row (and the new count); a repeated tap (the same `tap`
    id) changes nothing. 409 with the reason on the row when the roster changed meanwhile, 400 for bad input."""
    session = get_object_or_404(_sessions(), pk=session_id)
    form = StudentMarkForm(request.POST, student_id=student_id)
    error, status = None, 200
    if form.is_valid():
        try:
            services.mark_tap(
                session=session,
                student_id=student_id,
                status=form.status,
                marked_by=request.user,
                tap_id=form.cleaned_data["tap"],
                was=form.cleaned_data["was"],
            )
        except services.AttendanceError as refusal:
            error, status = str(refusal), 409 if _changed_meanwhile(session, student_id, refusal) else 400
    else:
        error, status = next(iter(form.errors.values()))[0], 400
    if not (request.htmx or request.headers.get(TAP_HEADER)):
        # Without JavaScript the roster form posts to the detail page; this answers a hand-made request.
        if error:
            messages.error(request, error)
        return redirect("attendance:detail", session_id=session.pk)
    roster = selectors.session_roster(session)
    entry = roster.entry_for(student_id)
    context = _page_context(session, roster)
    context |= {
        "row": (
            _roster_rows(session, [entry], can_mark=context["can_mark"], row_error=error, just_saved=error is None)[0]
            if entry
            else None
        ),
        "student_id": student_id,
        "row_error": error,
        "oob": True,
    }
    response = render(request, f"{DETAIL_TEMPLATE}#tap-response", context, status=status)
    response[ROW_HEADER] = str(student_id)
    return response


@staff_with(VIEW)
@require_safe
@never_cache
def course_completion(request, course_id):
    """Students × held sessions of a course, with each student's completion."""
    course = get_object_or_404(Course, pk=course_id)
    return render(request, "attendance/course_completion.html", {"matrix": selectors.completion_for_course(course)})


def _cell_text(cell: selectors.CompletionCell) -> str:
    """A completion cell in the CSV: ISO dates, plain words."""
    if cell.makeup_for is not None:
        missed = cell.makeup_for
        text = _("Make-up for %(course)s %(date)s") % {
            "course": missed.course.name,
            "date": missed.session_date.isoformat(),
        }
        return f"{text} ({cell.status_label})" if cell.status else text
    if not cell.expected:
        return ""
    if cell.made_up_at is not None:
        return _("Excused, made up %(date)s") % {"date": cell.made_up_at.session_date.isoformat()}
    if cell.status:
        return cell.status_label
    return _("Excused") if cell.excused else _("not marked")


@staff_with(VIEW, "students.export_contacts")
@require_safe
def course_completion_csv(request, course_id):
    """The completion matrix as CSV (UTF-8 with a BOM so Excel reads accents), safe against formula injection."""
    course = get_object_or_404(Course, pk=course_id)
    matrix = selectors.completion_for_course(course)
    header = [_("First name"), _("Last name"), _("Email")]
    header += [f"{s.session_date:%Y-%m-%d} {s.start_time:%H:%M}" for s in matrix.sessions]
    header += [_("Attended"), _("Excused"), _("Absent"), _("Expected"), _("Completion %")]
    rows = (
        [row.student.first_name, row.student.last_name, row.student.email]
        + [_cell_text(cell) for cell in row.cells]
        + [row.attended, row.excused, row.absent, row.expected, "" if row.percent is None else row.percent]
        for row in matrix.rows
    )
    return csv_response(f"attendance-course-{course.pk}.csv", header, rows)
