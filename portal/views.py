"""The student portal at /me/: a signed-in student's registrations, next classes, make-ups, waitlist places, profile
and calendar; and the "can't make it" page of the reminder email's signed link, which needs no sign-in.

Signing in (the emailed link) is the students app's. Every page here but the signed link's starts from
`signed_in_student(request)`; rows of other students are 404, whatever id is put in the URL (docs/bad-inputs.md #6).
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from attendance import absences, makeups
from attendance.models import Absence, ClassSession, MakeUp
from courses.formatting import schedule_text
from courses.selectors import studio_today
from portal import calendar, selectors
from registrations import ledger, seats, transitions
from registrations.errors import RegistrationError
from registrations.models import Registration
from students import services as student_services
from students.forms import ProfileForm
from students.models import Student
from students.session import signed_in_student
from students.views import request_sign_in_link
from studio.config import studio_settings
from waitlist import services as waitlist_services
from waitlist.models import WaitlistEntry


def _sign_in_first(request):
    messages.info(request, _("Please sign in first: we email you a link."))
    return redirect("portal:home")


@never_cache
@require_http_methods(["GET", "POST"])
def home(request):
    """Signed out: ask for a sign-in link by email (the same answer for every address). Signed in: the portal."""
    student = signed_in_student(request)
    if student is None:
        return request_sign_in_link(request)
    return _portal_page(request, student)


def _portal_page(request, student: Student, *, profile_form: ProfileForm | None = None):
    registrations = list(ledger.with_balances(selectors.student_registrations(student)))
    today = studio_today()
    # Upcoming: active with a class still to come. History: canceled, expired, and classes that are over.
    active = [r for r in registrations if r.payment_status in Registration.ACTIVE_STATUSES and _last_class(r) >= today]
    now = timezone.now()
    for registration in active:
        registration.balance = ledger.balance_from(registration)
        registration.is_pending = registration.payment_status == Registration.PaymentStatus.PENDING
        registration.hold_ran_out = seats.has_hold_run_out(registration, now=now)
        registration.schedule = schedule_text(registration.slot, registration.class_date, registration.first_class_date)
    token = student_services.ensure_calendar_token(student=student)
    feed_url = settings.SITE_URL + reverse("portal:calendar_feed", args=[token])
    context = {
        "student": student,
        "studio": studio_settings(),
        "active_registrations": active,
        "past_registrations": sorted(
            (r for r in registrations if r not in active), key=lambda r: (r.created_at, r.pk), reverse=True
        ),
        "waitlist_entries": list(selectors.student_waitlist_entries(student)),
        "credit": ledger.credit_balance(student, now=now),
        "credit_history": ledger.credit_history(student),
        "upcoming_classes": selectors.upcoming_classes(student, now=now),
        "open_makeups": makeups.open_makeups(student, now=now),
        "profile_form": profile_form or ProfileForm.for_student(student),
        "feed_url": feed_url,
        "webcal_url": "webcal://" + feed_url.split("://", 1)[1],
    }
    return render(request, "portal/portal.html", context)


def _last_class(registration: Registration):
    """The date of the last class a registration covers (a drop-in's own)."""
    if registration.class_date is not None:
        return registration.class_date
    dates = registration.slot.class_dates()
    return dates[-1] if dates else registration.course.end_date


def _own_registration(student: Student, public_id) -> Registration:
    try:
        return selectors.student_registration(student, public_id)
    except Registration.DoesNotExist:
        raise Http404("No such registration of this student") from None


@never_cache
@require_http_methods(["GET", "POST"])
def cancel_registration(request, public_id):
    """GET asks "cancel this registration?"; POST cancels it (only the student's own, only while pending)."""
    student = signed_in_student(request)
    if student is None:
        return _sign_in_first(request)
    registration = _own_registration(student, public_id)
    if request.method == "GET":
        if registration.payment_status != Registration.PaymentStatus.PENDING:
            messages.info(request, _("Only a registration waiting for payment can be canceled here."))
            return redirect("portal:home")
        context = {
            "registration": registration,
            "course": registration.course,
            "schedule": schedule_text(registration.slot, registration.class_date, registration.first_class_date),
        }
        return render(request, "portal/cancel_registration.html", context)
    try:
        canceled = transitions.cancel_registration(registration=registration, by_student=True)
    except RegistrationError as error:
        messages.error(request, str(error))
    else:
        if canceled:
            messages.success(
                request,
                _("Your registration %(reference)s for %(course)s is canceled.")
                % {"reference": registration.reference, "course": registration.course.name},
            )
        else:
            messages.info(request, _("This registration was already canceled."))
    return redirect("portal:home")


@require_POST
def leave_waitlist(request, public_id):
    """Leave one of the student's own waitlist places; others' are 404."""
    student = signed_in_student(request)
    if student is None:
        return _sign_in_first(request)
    entry = WaitlistEntry.objects.filter(student=student, public_id=public_id).select_related("course").first()
    if entry is None:
        raise Http404("No such waitlist entry of this student")
    if entry.status not in WaitlistEntry.ACTIVE_STATUSES:
        messages.info(request, _("You are no longer on this waitlist."))
        return redirect("portal:home")
    waitlist_services.leave_waitlist(entry=entry, by_student=True)
    messages.success(request, _("You left the waitlist for %(course)s.") % {"course": entry.course.name})
    return redirect("portal:home")


@require_POST
def update_profile(request):
    """Save the signed-in student's profile; the email is never changed here."""
    student = signed_in_student(request)
    if student is None:
        return _sign_in_first(request)
    form = ProfileForm.for_student(student, data=request.POST)
    if form.is_valid():
        try:
            student_services.update_profile(student=student, **form.cleaned_data)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                for message in field_errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("Your profile is saved."))
            return redirect(reverse("portal:home") + "#profile")
    return _portal_page(request, student, profile_form=form)


@require_POST
def renew_calendar(request):
    """Give the student a new calendar feed address; the old one stops working."""
    student = signed_in_student(request)
    if student is None:
        return _sign_in_first(request)
    student_services.renew_calendar_token(student=student)
    messages.success(
        request, _("Your calendar has a new address. Subscribe to it again; the old address no longer works.")
    )
    return redirect(reverse("portal:home") + "#calendar")


def calendar_feed(request, token):
    """The student's classes as text/calendar; an unknown or revoked token is 404."""
    if not token or len(token) > 64:
        raise Http404("No such calendar")
    student = Student.objects.filter(calendar_token=token).first()
    if student is None:
        raise Http404("No such calendar")
    response = HttpResponse(calendar.student_calendar(student), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="classes.ics"'
    response["Cache-Control"] = "private, max-age=900"
    response["X-Robots-Tag"] = "noindex"
    return response


# --- can't make it (the reminder email's signed link, and the portal's button) -------------------------------------


# A class that has started or is canceled: the link has done its time (410); the student told us twice: 409.
_ABSENCE_STATUS = {"started": 410, "canceled": 410, "not_registered": 410, "already": 409, "undo": 409}


def _absence_page(request, state: absences.AbsenceState, token: str, *, error=None, status=200):
    studio = studio_settings()
    context = {
        "state": state,
        "token": token,
        "studio": studio,
        "course": state.session.course,
        "session": state.session,
        "problem": state.problem,
        "error": error,
        "makeup_window_days": studio.makeup_window_days,
        "signed_in": signed_in_student(request) == state.student,
    }
    return render(request, "portal/cant_make_it.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def cant_make_it(request, token):
    """GET shows the class and what will happen, changing nothing (mail scanners open links); POST `action=report`
    records the excused absence, `action=undo` takes it back. A tampered or garbled link gets the friendly link page;
    a class that has started or is canceled answers why, and changes nothing."""
    found = absences.read_token(token)
    if found is None:
        return render(request, "portal/cant_make_it_invalid.html", status=404)
    session, student = found
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "report":
                channel = Absence.Channel.PORTAL if signed_in_student(request) == student else Absence.Channel.EMAIL
                absence = absences.report_absence(session=session, student=student, channel=channel)
                if absence.makeup_granted:
                    messages.success(request, _("Thanks for telling us. Your seat went back, and you get a make-up."))
                else:
                    messages.success(request, _("Thanks for telling us. Your seat went back to the class."))
            elif action == "undo":
                absence = absences.standing_absence(session, student)
                if absence is None:
                    raise absences.UndoRefused(_("There is nothing to undo: you are expected in class."))
                absences.undo_absence(absence=absence)
                messages.success(request, _("Done: your seat is yours again. See you in class!"))
            else:
                raise absences.AbsenceError(_("Choose one of the buttons below."))
        except absences.AbsenceError as error:
            state = absences.absence_state(session, student)
            return _absence_page(request, state, token, error=error, status=_ABSENCE_STATUS.get(error.reason, 400))
        return redirect("portal:cant_make_it", token=token)
    state = absences.absence_state(session, student)
    problem = state.problem
    return _absence_page(request, state, token, status=_ABSENCE_STATUS[problem.reason] if problem else 200)


# --- make-up classes ---------------------------------------------------------------------------------------------


def _own_absence(student: Student, public_id) -> Absence:
    absence = (
        Absence.objects.filter(student=student, public_id=public_id)
        .select_related("session__course", "session__slot", "student", "registration")
        .first()
    )
    if absence is None:
        raise Http404("No such missed class of this student")
    return absence


@never_cache
@require_http_methods(["GET", "POST"])
def makeup_picker(request, public_id):
    """The classes a missed one may be made up at (GET); POST `session=<id>` books one of them."""
    student = signed_in_student(request)
    if student is None:
        return _sign_in_first(request)
    absence = _own_absence(student, public_id)
    error, status = None, 200
    if request.method == "POST":
        session_id = request.POST.get("session", "")
        session = (
            ClassSession.objects.select_related("course", "slot").filter(pk=int(session_id)).first()
            if session_id.isascii() and session_id.isdecimal() and len(session_id) < 19
            else None
        )
        if session is None:
            error, status = _("Choose one of the classes below."), 400
        else:
            try:
                makeups.book_makeup(absence=absence, session=session)
            except makeups.MakeupError as refusal:
                error, status = str(refusal), 409
            else:
                messages.success(
                    request,
                    _("Your make-up class is booked: %(course)s. We emailed you the details.")
                    % {"course": session.course.name},
                )
                return redirect("portal:home")
    now = timezone.now()
    context = {
        "absence": absence,
        "missed": absence.session,
        "problem": makeups.makeup_problem(absence, now=now),
        "choices": makeups.makeup_choices(absence, now=now),
        "usable_until": makeups.usable_until(absence),
        "error": error,
        "studio": studio_settings(),
    }
    return render(request, "portal/makeup_picker.html", context, status=status)


@require_POST
def cancel_makeup(request, public_id):
    """Cancel one of the student's own make-up classes before its cut-off: the make-up is returned."""
    student = signed_in_student(request)
    if student is None:
        return _sign_in_first(request)
    makeup = MakeUp.objects.filter(student=student, public_id=public_id).select_related("session__course").first()
    if makeup is None:
        raise Http404("No such make-up of this student")
    try:
        canceled = makeups.cancel_makeup(makeup=makeup)
    except makeups.MakeupError as error:
        messages.error(request, str(error))
    else:
        if canceled:
            messages.success(
                request,
                _("Your make-up class %(course)s is cancelled. The make-up is yours again: pick another one.")
                % {"course": makeup.session.course.name},
            )
        else:
            messages.info(request, _("This make-up was already cancelled."))
    return redirect("portal:home")
