"""The student's registration journey: the catalog, a course page with its registration form (and the waitlist form
when a slot is full), the registration POST, and the registration's payment page.

The catalog and course pages compose courses, seats and the waitlist's form, so they live here, above the apps they
show. Anonymous visitors get them from the page cache (registrations/page_cache.py).
"""

from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.paginator import EmptyPage, Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from courses.models import Course
from registrations import ledger, page_cache, seats, selectors, services
from registrations.errors import NotEligible, RegistrationError, SlotFull
from registrations.forms import RegistrationForm, WaitlistJoinForm
from registrations.models import Registration
from registrations.payments import payment_instructions, payment_methods, venmo_qr_svg
from students.services import StudentDetails
from students.session import signed_in_student
from studio.clients import client_key
from studio.config import StudioSettings, studio_settings

# Catalog sections, in the order a visitor reads them.
SECTIONS = [
    (Course.CourseType.SERIES, gettext_lazy("Series")),
    (Course.CourseType.DROP_IN, gettext_lazy("Drop-in classes")),
    (Course.CourseType.CREW_PRACTICE, gettext_lazy("Crew practices")),
]
# Courses per catalog page: a phone scrolls through 24 cards comfortably, and a page costs the same at any size.
CATALOG_PAGE_SIZE = 24
MAX_ID = 2**63 - 1
# What a public form says about the student, by field name (the registration and the waitlist forms alike).
DETAIL_FIELDS = ("email", "first_name", "last_name", "phone", "instagram_handle")


def student_details(data: dict) -> StudentDetails:
    """The student's details from a valid registration or waitlist form."""
    return StudentDetails(**{name: data[name] for name in DETAIL_FIELDS})


def _prefill(student) -> dict:
    """Initial form values for a signed-in student: their own profile, never anyone else's."""
    if student is None:
        return {}
    return {name: getattr(student, name) for name in DETAIL_FIELDS}


# --- the catalog -------------------------------------------------------------------------------------------------------


class _NotACatalogPage(Exception):
    """The `page` asked for does not exist; `url` is the nearest one that does."""

    def __init__(self, url: str):
        super().__init__(url)
        self.url = url


def _catalog_url(number: int) -> str:
    url = reverse("registrations:catalog")
    return url if number == 1 else f"{url}?page={number}"


def _catalog_context(*, studio: StudioSettings, student, number: int) -> dict:
    try:
        page = selectors.open_courses_page(number=number, per_page=CATALOG_PAGE_SIZE, student=student)
    except EmptyPage:
        last = Paginator(selectors.catalog_courses(student), CATALOG_PAGE_SIZE).num_pages
        raise _NotACatalogPage(_catalog_url(last)) from None
    sections = [
        {"title": str(title), "courses": [c for c in page if c.course_type == course_type]}
        for course_type, title in SECTIONS
    ]
    return {
        "studio": studio,
        "sections": [section for section in sections if section["courses"]],
        "page": page,
        "previous_url": _catalog_url(page.previous_page_number()) if page.has_previous() else None,
        "next_url": _catalog_url(page.next_page_number()) if page.has_next() else None,
        "registration_open": studio.registration_open,
    }


def _page_number(request) -> int | None:
    """The catalog page asked for in `?page=` (1 without it), or None when it is not a page number."""
    raw = request.GET.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        return None
    return int(raw) or None


def catalog(request):
    """The catalog: open classes grouped by type, each with its schedule, prices and seats, CATALOG_PAGE_SIZE a page.

    A `page` that is not a number goes to the first page, one past the end to the last (so shared links keep working
    when courses end).
    """
    number = _page_number(request)
    if number is None:
        return redirect(_catalog_url(1))
    try:
        if page_cache.cacheable(request):
            response = page_cache.cached_page(
                request,
                name=f"catalog:{number}",
                course_id=None,
                template_name="registrations/course_list.html",
                context=lambda: _catalog_context(studio=studio_settings(), student=None, number=number),
                seat_slots=lambda context: [slot for course in context["page"] for slot in course.open_slots],
            )
            if response is not None:
                return response
        context = _catalog_context(studio=studio_settings(), student=signed_in_student(request), number=number)
    except _NotACatalogPage as error:
        return redirect(error.url)
    return render(request, "registrations/course_list.html", context)


# --- a course page and registering --------------------------------------------------------------------------------------


def _full_slots(course: Course) -> list:
    """Open slots without a full-package seat for a walk-up: the ones a student may wait for."""
    return [slot for slot in course.open_slots if slot.seats_left <= 0]


def _credit_of(student) -> Decimal:
    """A signed-in student's own account credit; 0 for anyone else (an anonymous visitor never sees anyone's)."""
    return ledger.credit_balance(student) if student is not None else Decimal("0")


def _course_page_context(*, course: Course, student, studio: StudioSettings, form=None, waitlist_form=None) -> dict:
    if form is None:
        form = RegistrationForm(
            course=course,
            payment_methods=payment_methods(studio),
            initial=_prefill(student),
            credit=_credit_of(student),
        )
    if waitlist_form is None and _full_slots(course):
        waitlist_form = WaitlistJoinForm(course=course, initial=_prefill(student))
    return {
        "studio": studio,
        "course": course,
        "form": form,
        "waitlist_form": waitlist_form,
        "registration_open": studio.registration_open,
        "signed_in": student is not None,
    }


def render_course_page(request, *, course: Course, student, form=None, waitlist_form=None, status: int = 200):
    """The course page: the registration form, and the waitlist form when a time slot is full (or registering
    failed because it filled up). Unbound forms are made here, prefilled for a signed-in student."""
    context = _course_page_context(
        course=course, student=student, studio=studio_settings(), form=form, waitlist_form=waitlist_form
    )
    return render(request, "registrations/course_detail.html", context, status=status)


def _open_course(course_id: int, *, student, with_seats: bool = True) -> Course:
    try:
        return selectors.course_for_page(course_id=course_id, student=student, seats=with_seats)
    except Course.DoesNotExist:
        raise Http404("No such open course") from None


def course_detail(request, course_id):
    """A course and its registration form, which posts to `create`.

    A POST here (a form rendered before the registration POST had its own address) is sent on to `create` as it is.
    """
    if request.method == "POST":
        return HttpResponseRedirect(reverse("registrations:create", args=[course_id]), status=307)
    if course_id > MAX_ID:  # a number no database row has (the page cache reads the id in raw SQL)
        raise Http404("No such open course")
    if page_cache.cacheable(request):
        response = _cached_course_page(request, course_id=course_id)
        if response is not None:
            return response
    student = signed_in_student(request)
    return render_course_page(request, course=_open_course(course_id, student=student), student=student)


def _cached_course_page(request, *, course_id: int):
    """The course page as every anonymous visitor sees it, from the cache (see catalog)."""

    def context() -> dict:
        course = _open_course(course_id, student=None)
        return _course_page_context(course=course, student=None, studio=studio_settings())

    return page_cache.cached_page(
        request,
        name=f"course:{course_id}",
        course_id=course_id,
        template_name="registrations/course_detail.html",
        context=context,
        seat_slots=lambda context: context["course"].open_slots,
    )


@require_POST
def create(request, course_id):
    """Register for a course: a valid POST registers and redirects to the payment page (PRG); a refusal shows the
    course page again with what was typed and what was wrong.

    Rate-limited per client IP (settings.RATELIMIT_REGISTRATION; docs/bad-inputs.md #43).
    """
    if is_ratelimited(
        request, group="courses.register", key="ip", rate=settings.RATELIMIT_REGISTRATION, increment=True
    ):
        return import_string(settings.RATELIMIT_VIEW)(request)
    student = signed_in_student(request)
    # No seat counts for checking the form: the service counts them itself, under the slot lock.
    course = _open_course(course_id, student=student, with_seats=False)
    form = RegistrationForm(
        request.POST, course=course, payment_methods=payment_methods(studio_settings()), credit=_credit_of(student)
    )
    refusal = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            registration = services.register_student(
                course=course,
                slot=data["slot"],
                pricing_type=data["pricing_type"],
                payment_method=data["payment_method"],
                class_date=data.get("class_date"),
                details=student_details(data),
                verified_student=student,
                client_key=client_key(request),
            )
        except NotEligible:
            raise Http404("No such open course") from None
        except RegistrationError as error:
            refusal = error
        else:
            # A free class's page says "You're in" itself; a paid one's says what to do next.
            if registration.payment_status != Registration.PaymentStatus.COMPLETED:
                messages.success(request, _("You're registered! Your seat is held while you pay."))
            return redirect(registration)
    return _course_page_after_refusal(request, course_id=course_id, student=student, refusal=refusal)


def _course_page_after_refusal(request, *, course_id: int, student, refusal: RegistrationError | None):
    """The course page again, with the seats as they are now, the student's input and what was wrong with it.

    `refusal`: why the service refused a valid form (None: the form itself was invalid). Refused because the slot
    is full, the page also shows the waitlist form, filled in with what was typed.
    """
    course = _open_course(course_id, student=student)  # closed or deleted since the form was checked: 404
    form = RegistrationForm(
        request.POST, course=course, payment_methods=payment_methods(studio_settings()), credit=_credit_of(student)
    )
    waitlist_form = None
    if form.is_valid() and refusal is not None:
        if isinstance(refusal, SlotFull):
            form.add_error(None, str(refusal))
            waitlist_form = _waitlist_form_after_full(form, course=course)
        else:
            form.add_error(refusal.field if refusal.field in form.fields else None, str(refusal))
    return render_course_page(request, course=course, student=student, form=form, waitlist_form=waitlist_form)


def _waitlist_form_after_full(form: RegistrationForm, *, course: Course) -> WaitlistJoinForm:
    """The waitlist form, unbound, with what the student typed and the slot they wanted."""
    data = form.cleaned_data
    initial = {name: data.get(name, "") for name in DETAIL_FIELDS}
    initial["preferred_slot"] = data["slot"].pk if data.get("slot") else None
    return WaitlistJoinForm(course=course, initial=initial)


# --- a registration's own page -------------------------------------------------------------------------------------------


def _registration(public_id):
    """The registration of a public id with its ledger balance read in the same query (ledger.balance_from)."""
    registration = get_object_or_404(
        ledger.with_balances(Registration.objects.select_related("slot__course")), public_id=public_id
    )
    if registration.course_id == registration.slot.course_id:
        registration.course = registration.slot.course  # one join less: the slot's course is the registration's
    return registration


@never_cache
def registration_detail(request, public_id):
    """One registration's status and payment instructions, reached by its unguessable public id.

    Shows nothing of the student's stored profile: whoever typed an email may land here (privacy, README "Students").
    """
    registration = _registration(public_id)
    is_pending = registration.payment_status == Registration.PaymentStatus.PENDING
    balance = ledger.balance_from(registration)
    context = {
        "registration": registration,
        "course": registration.course,
        "slot": registration.slot,
        "is_pending": is_pending,
        "balance": balance,
        "hold_ran_out": seats.has_hold_run_out(registration, now=timezone.now()),
        "instructions": payment_instructions(registration, due=balance.due) if is_pending else None,
    }
    return render(request, "registrations/registration_detail.html", context)


# The QR's address names what it encodes (?v=...): a browser keeps the picture a year, and asks again if it changes.
QR_CACHE_CONTROL = "private, max-age=31536000, immutable"


def registration_qr(request, public_id):
    """The Venmo QR code of a registration waiting for payment, as an SVG file: the payment page shows it with an
    <img>, so the page itself never draws it and a browser fetches it once (`?v=` names the link it encodes).

    Reached like the payment page, by the registration's unguessable id; 404 when there is nothing to pay by Venmo.
    Private: the code carries the reference and the amount, so no shared cache may keep it.
    """
    registration = _registration(public_id)
    if registration.payment_status != Registration.PaymentStatus.PENDING:
        raise Http404("Nothing to pay")
    instructions = payment_instructions(registration, due=ledger.balance_from(registration).due)
    version = instructions.venmo_qr_version
    if not version:
        raise Http404("Not paid by Venmo")
    response = get_conditional_response(request, etag=f'"{version}"')  # 304 when the browser has this very code
    if response is None:
        response = HttpResponse(venmo_qr_svg(instructions.venmo_web_url), content_type="image/svg+xml")
    response["ETag"] = f'"{version}"'
    response["Cache-Control"] = QR_CACHE_CONTROL if request.GET.get("v") == version else "private, no-cache"
    return response


@require_POST
def report_payment(request, public_id):
    """The student's "I've sent the payment": recorded for the studio, which still confirms by hand."""
    registration = _registration(public_id)
    method = request.POST.get("method", "")
    if method not in Registration.PaymentMethod.values:
        method = registration.payment_method
    try:
        services.report_payment(registration=registration, method=method)
    except RegistrationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Thanks! We'll confirm your seat as soon as the studio sees your payment."))
    return redirect(registration)
