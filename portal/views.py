"""The student portal at /me/: a signed-in student's registrations, waitlist places, profile and calendar.

Signing in (the emailed link) is the students app's. Every page here starts from `signed_in_student(request)`; rows
of other students are 404, whatever id is put in the URL (docs/bad-inputs.md #6).
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
