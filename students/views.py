"""The student portal at /me/: sign in with an emailed link, then see and manage one's own registrations.

Every page that shows or changes something starts from `signed_in_student(request)`; rows of other students are
404, whatever id is put in the URL (BAD-INPUTS #6).
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
from django_ratelimit.core import is_ratelimited

from studio.config import studio_settings
from registrations import selectors as registration_selectors
from registrations import services as registration_services
from registrations.models import Registration
from students import calendar, portal, selectors, services
from students.forms import ProfileForm, SignInLinkForm, strip_typed_email
from students.models import Student, normalize_email
from waitlist import services as waitlist_services
from waitlist.models import WaitlistEntry

# Rate limits (settings.RATELIMIT_SIGN_IN*): link requests per client IP (a shared studio Wi-Fi still has room) and
# per address (no inbox flooding); following links, per IP: tokens are unforgeable, this only stops hammering.


def ratelimited(request, exception=None):
    """The friendly 429 page for every rate-limited request (settings.RATELIMIT_VIEW)."""
    return render(request, "429.html", status=429)


def _email_key(group, request) -> str:
    return normalize_email(strip_typed_email(request.POST.get("email", "")))[:254]


def _sign_in_link_limited(request) -> bool:
    """Count this sign-in link request against both limits; True when either is over."""
    by_ip = is_ratelimited(
        request,
        group="students.sign_in_link.ip",
        key="ip",
        rate=settings.RATELIMIT_SIGN_IN_LINK,
        method="POST",
        increment=True,
    )
    by_email = is_ratelimited(
        request,
        group="students.sign_in_link.email",
        key=_email_key,
        rate=settings.RATELIMIT_SIGN_IN_LINK_PER_EMAIL,
        method="POST",
        increment=True,
    )
    return by_ip or by_email


def _sign_in_first(request):
    messages.info(request, _("Please sign in first: we email you a link."))
    return redirect("students:portal")


@never_cache
@require_http_methods(["GET", "POST"])
def portal_home(request):
    """Signed out: ask for a sign-in link by email (the same answer for every address). Signed in: the portal."""
    student = portal.signed_in_student(request)
    if student is not None:
        return _portal_page(request, student)
    form = SignInLinkForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if _sign_in_link_limited(request):
            return ratelimited(request)
        if form.is_valid():
            services.request_sign_in_link(email=form.cleaned_data["email"])
            return redirect("students:link_sent")
    return render(request, "students/sign_in_request.html", {"form": form})


@never_cache
def link_sent(request):
    """The one answer to a sign-in link request, whether or not the address is known (BAD-INPUTS #44)."""
    return render(request, "students/link_sent.html", {"valid_minutes": services.SIGN_IN_LINK_MINUTES})


def _link_problem(request, error: services.SignInLinkError):
    status = 404 if isinstance(error, services.SignInLinkInvalid) else 410
    return render(
        request, "students/link_invalid.html", {"error": error, "form": SignInLinkForm()}, status=status
    )


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request, token):
    """GET shows a "Sign in" button and changes nothing (mail scanners prefetch links); POST uses the link once."""
    if is_ratelimited(request, group="students.sign_in.ip", key="ip", rate=settings.RATELIMIT_SIGN_IN, increment=True):
        return ratelimited(request)
    try:
        if request.method == "POST":
            student = services.redeem_sign_in_link(token=token)
        else:
            student = services.check_sign_in_link(token=token)
    except services.SignInLinkError as error:
        return _link_problem(request, error)
    if request.method == "GET":
        return render(request, "students/sign_in_confirm.html", {"token": token})
    portal.sign_in(request, student)
    messages.success(request, _("You're signed in."))
    return redirect("students:portal")


@require_POST
def sign_out(request):
    portal.sign_out(request)
    messages.success(request, _("You're signed out."))
    return redirect("students:portal")


def _portal_page(request, student: Student, *, profile_form: ProfileForm | None = None):
    registrations = list(selectors.student_registrations(student))
    active = [r for r in registrations if r.payment_status in Registration.ACTIVE_STATUSES]
    now = timezone.now()
    for registration in active:
        registration.is_pending = registration.payment_status == Registration.PaymentStatus.PENDING
        registration.hold_ran_out = (
            registration.is_pending and registration.payment_due_at is not None and registration.payment_due_at <= now
        )
        registration.schedule = registration_selectors.schedule_text(registration)
    token = services.ensure_calendar_token(student=student)
    feed_url = settings.SITE_URL + reverse("students:calendar_feed", args=[token])
    context = {
        "student": student,
        "studio": studio_settings(),
        "active_registrations": active,
        "past_registrations": [r for r in registrations if r.payment_status not in Registration.ACTIVE_STATUSES],
        "waitlist_entries": list(selectors.student_waitlist_entries(student)),
        "profile_form": profile_form or ProfileForm.for_student(student),
        "feed_url": feed_url,
        "webcal_url": "webcal://" + feed_url.split("://", 1)[1],
    }
    return render(request, "students/portal.html", context)


def _own_registration(student: Student, public_id) -> Registration:
    try:
        return selectors.student_registration(student, public_id)
    except Registration.DoesNotExist:
        raise Http404("No such registration of this student") from None


@never_cache
@require_http_methods(["GET", "POST"])
def cancel_registration(request, public_id):
    """GET asks "cancel this registration?"; POST cancels it (only the student's own, only while pending)."""
    student = portal.signed_in_student(request)
    if student is None:
        return _sign_in_first(request)
    registration = _own_registration(student, public_id)
    if request.method == "GET":
        if registration.payment_status != Registration.PaymentStatus.PENDING:
            messages.info(request, _("Only a registration waiting for payment can be canceled here."))
            return redirect("students:portal")
        context = {
            "registration": registration,
            "course": registration.course,
            "schedule": registration_selectors.schedule_text(registration),
        }
        return render(request, "students/cancel_registration.html", context)
    try:
        canceled = registration_services.cancel_registration(registration=registration, by_student=True)
    except registration_services.RegistrationError as error:
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
    return redirect("students:portal")


@require_POST
def leave_waitlist(request, public_id):
    """Leave one of the student's own waitlist places; others' are 404."""
    student = portal.signed_in_student(request)
    if student is None:
        return _sign_in_first(request)
    entry = WaitlistEntry.objects.filter(student=student, public_id=public_id).select_related("course").first()
    if entry is None:
        raise Http404("No such waitlist entry of this student")
    if entry.status not in WaitlistEntry.ACTIVE_STATUSES:
        messages.info(request, _("You are no longer on this waitlist."))
        return redirect("students:portal")
    waitlist_services.leave_waitlist(entry=entry, by_student=True)
    messages.success(request, _("You left the waitlist for %(course)s.") % {"course": entry.course.name})
    return redirect("students:portal")


@require_POST
def update_profile(request):
    """Save the signed-in student's profile; the email is never changed here."""
    student = portal.signed_in_student(request)
    if student is None:
        return _sign_in_first(request)
    form = ProfileForm.for_student(student, data=request.POST)
    if form.is_valid():
        try:
            services.update_profile(student=student, **form.cleaned_data)
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                for message in field_errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("Your profile is saved."))
            return redirect(reverse("students:portal") + "#profile")
    return _portal_page(request, student, profile_form=form)


@require_POST
def renew_calendar(request):
    """Give the student a new calendar feed address; the old one stops working."""
    student = portal.signed_in_student(request)
    if student is None:
        return _sign_in_first(request)
    services.renew_calendar_token(student=student)
    messages.success(
        request, _("Your calendar has a new address. Subscribe to it again; the old address no longer works.")
    )
    return redirect(reverse("students:portal") + "#calendar")


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
