"""Public waitlist pages: join a full course, see your place (and leave), and answer an offer."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from courses.models import Course
from registrations import ledger, selectors
from registrations.errors import NotEligible, RegistrationError
from registrations.forms import WaitlistJoinForm
from registrations.models import Registration
from registrations.payments import payment_methods
from registrations.views import render_course_page, student_details
from students.session import signed_in_student
from studio.config import studio_settings
from waitlist import offers, services
from waitlist.forms import OfferAnswerForm
from waitlist.models import WaitlistEntry


def _too_many(request, *, group: str, rate: str) -> bool:
    """Per client IP (settings.RATELIMIT_WAITLIST_*): a person joins a few waitlists and opens an offer a few times;
    a bot guessing tokens does not stop."""
    return is_ratelimited(request, group=group, key="ip", rate=rate, increment=True)


def _rate_limited(request):
    """The project's friendly 429 page (settings.RATELIMIT_VIEW)."""
    return import_string(settings.RATELIMIT_VIEW)(request)


# An offer whose answer is final gets 410 Gone, except the student's own "no, thanks" (shown after the redirect).
_GONE_STATUS = {
    services.OfferUnavailable.EXPIRED: 410,
    services.OfferUnavailable.USED: 410,
    services.OfferUnavailable.WITHDRAWN: 410,
    services.OfferUnavailable.STARTED: 410,
    services.OfferUnavailable.DECLINED: 200,
    services.OfferUnavailable.LEFT: 410,
}


@require_POST
def join(request, course_id):
    """Join a course's waitlist from its page; redirects to the student's waitlist page with their position (PRG)."""
    if _too_many(request, group="waitlist.join", rate=settings.RATELIMIT_WAITLIST_JOIN):
        return _rate_limited(request)
    student = signed_in_student(request)
    try:
        course = selectors.course_for_page(course_id=course_id, student=student)
    except Course.DoesNotExist:
        raise Http404("No such open course") from None
    form = WaitlistJoinForm(request.POST, course=course)
    if form.is_valid():
        data = form.cleaned_data
        try:
            entry = services.join_waitlist(
                course=course,
                details=student_details(data),
                preferred_slot=data["preferred_slot"],
                verified_student=student,
            )
        except NotEligible:
            raise Http404("No such open course") from None
        except RegistrationError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, _("You're on the waitlist! We emailed you your place in line."))
            return redirect(entry)
    return render_course_page(request, course=course, student=student, waitlist_form=form)


def _entry(public_id) -> WaitlistEntry:
    return get_object_or_404(
        WaitlistEntry.objects.select_related("course", "preferred_slot", "offer_slot"), public_id=public_id
    )


@never_cache
def detail(request, public_id):
    """A waitlist entry's status and position, reached by its unguessable public id (shows no personal data)."""
    entry = _entry(public_id)
    context = {
        "entry": entry,
        "course": entry.course,
        "is_active": entry.status in WaitlistEntry.ACTIVE_STATUSES,
        "offer_open": entry.status == WaitlistEntry.Status.OFFERED and entry.offer_expires_at > timezone.now(),
    }
    return render(request, "waitlist/waitlistentry_detail.html", context)


@require_POST
def leave(request, public_id):
    """Leave the waitlist (an open offer is given up with it); leaving twice changes nothing."""
    entry = _entry(public_id)
    if entry.status in WaitlistEntry.ACTIVE_STATUSES:
        services.leave_waitlist(entry=entry, by_student=True)
        messages.success(request, _("You have left the waitlist."))
    return redirect(entry)


def _is_free(entry: WaitlistEntry) -> bool:
    quote = offers.offer_quote(entry.offer_slot) if entry.offer_slot_id else None
    return quote is not None and quote.is_free


def _offer_page(request, *, entry, form=None, problem=None, status=200):
    course, slot = entry.course, entry.offer_slot
    price = offers.offer_pricing(slot) if slot is not None and problem is None else None
    context = {
        "entry": entry,
        "course": course,
        "slot": slot,
        "price": price,
        "quote": offers.offer_quote(slot) if price is not None else None,
        # The link went to the student's own inbox: their credit, used when they accept, may be shown.
        "credit": ledger.credit_balance(entry.student) if price is not None and price.price else None,
        "seat_after": offers.seat_after_offer(entry) if problem is not None else None,
        "problem": problem,
        "form": form,
    }
    return render(request, "waitlist/offer.html", context, status=status)


@never_cache
def offer(request, token):
    """A waitlist offer: GET shows the class, price and expiry and changes nothing; POST accepts or declines.

    The course comes from the offer, never from the URL. Unknown or malformed tokens get 404, finished offers 410.
    """
    if _too_many(request, group="waitlist.offer", rate=settings.RATELIMIT_WAITLIST_OFFER):
        return _rate_limited(request)
    entry = offers.entry_for_token(token)
    if entry is None:
        return render(request, "waitlist/offer_invalid.html", status=404)
    methods = payment_methods(studio_settings())
    if request.method != "POST":
        problem = offers.offer_status(entry)
        if problem is not None:
            return _offer_page(request, entry=entry, problem=problem, status=_GONE_STATUS[problem.reason])
        return _offer_page(request, entry=entry, form=OfferAnswerForm(payment_methods=methods, free=_is_free(entry)))
    form = OfferAnswerForm(request.POST, payment_methods=methods, free=_is_free(entry))
    if not form.is_valid():
        return _offer_page(request, entry=entry, form=form)
    if form.cleaned_data["action"] == "decline":
        if offers.decline_offer(entry=entry):
            messages.success(request, _("Thanks for letting us know. We have offered the seat to the next person."))
        return redirect("waitlist:offer", token=token)
    try:
        registration = offers.accept_offer(entry=entry, payment_method=form.cleaned_data["payment_method"])
    except services.OfferUnavailable as problem:
        entry.refresh_from_db()
        return _offer_page(request, entry=entry, problem=problem, status=_GONE_STATUS[problem.reason])
    except RegistrationError as error:
        form.add_error(error.field if error.field in form.fields else None, str(error))
        return _offer_page(request, entry=entry, form=form)
    # A free class's page says "You're in" itself.
    if registration.payment_status != Registration.PaymentStatus.COMPLETED:
        messages.success(request, _("The seat is yours! Pay to keep it."))
    return redirect(registration)
