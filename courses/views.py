from django.conf import settings
from django.contrib import messages
from django.core.paginator import EmptyPage, Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy
from django_ratelimit.core import is_ratelimited

from courses import page_cache
from courses.models import Course
from studio.config import studio_settings
from registrations import selectors, services
from registrations.forms import RegistrationForm
from registrations.models import Registration
from students.portal import signed_in_student
from waitlist.forms import WaitlistJoinForm

# Catalog sections, in the order a visitor reads them.
SECTIONS = [
    (Course.CourseType.SERIES, gettext_lazy("Series")),
    (Course.CourseType.DROP_IN, gettext_lazy("Drop-in classes")),
    (Course.CourseType.CREW_PRACTICE, gettext_lazy("Crew practices")),
]


def _student(request):
    """The verified student of this browser session (signed in through the portal), or None."""
    return signed_in_student(request)


def _prefill(student) -> dict:
    """Initial form values for a signed-in student: their own profile, never anyone else's."""
    if student is None:
        return {}
    return {name: getattr(student, name) for name in ("email", "first_name", "last_name", "phone", "instagram_handle")}


def payment_methods(studio: dict) -> list[str]:
    """The methods the studio has set up; both when none is (the studio then sends the details itself)."""
    methods = []
    if studio.venmo_username:
        methods.append(Registration.PaymentMethod.VENMO)
    if studio.zelle_phone or studio.zelle_email:
        methods.append(Registration.PaymentMethod.ZELLE)
    return methods or list(Registration.PaymentMethod.values)


# Courses per catalog page: a phone scrolls through 24 cards comfortably, and a page costs the same at any size.
CATALOG_PAGE_SIZE = 24


class _NotACatalogPage(Exception):
    """The `page` asked for does not exist; `url` is the nearest one that does."""

    def __init__(self, url: str):
        super().__init__(url)
        self.url = url


def _catalog_url(number: int) -> str:
    url = reverse("courses:list")
    return url if number == 1 else f"{url}?page={number}"


def _catalog_context(*, studio: dict, student, number: int) -> dict:
    try:
        page = selectors.open_courses_page(number=number, per_page=CATALOG_PAGE_SIZE, student=student)
    except EmptyPage:
        last = Paginator(selectors.listed_courses(student), CATALOG_PAGE_SIZE).num_pages
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


def course_list(request):
    """The catalog: open classes grouped by type, each with its schedule, prices and seats, CATALOG_PAGE_SIZE a page.

    Anonymous visitors get it from the cache (courses/page_cache.py), rendered again after every change to seats or
    courses and whenever a hold or offer runs out. A `page` that is not a number goes to the first page, one past the
    end to the last (so shared links keep working when courses end).
    """
    number = _page_number(request)
    if number is None:
        return redirect(_catalog_url(1))
    try:
        if page_cache.cacheable(request):
            response = page_cache.cached_page(
                request,
                name=f"catalog:{number}",
                template_name="courses/course_list.html",
                context=lambda: _catalog_context(studio=studio_settings(), student=None, number=number),
            )
            if response is not None:
                return response
        context = _catalog_context(studio=studio_settings(), student=_student(request), number=number)
    except _NotACatalogPage as error:
        return redirect(error.url)
    return render(request, "courses/course_list.html", context)


def _register(*, form: RegistrationForm, course: Course, student) -> Registration:
    """Hand a valid form to the service; raises what `services.register_student` raises."""
    data = form.cleaned_data
    return services.register_student(
        course=course,
        slot=data["slot"],
        pricing_type=data["pricing_type"],
        payment_method=data["payment_method"],
        class_date=data.get("class_date"),
        details=services.StudentDetails(
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            phone=data["phone"],
            instagram_handle=data["instagram_handle"],
        ),
        verified_student=student,
    )


def _full_slots(course: Course) -> list:
    """Open slots without a full-package seat for a walk-up: the ones a student may wait for."""
    return [slot for slot in course.open_slots if slot.seats_left <= 0]


def render_course_page(request, *, course: Course, student, form=None, waitlist_form=None, status: int = 200):
    """The course page: the registration form, and the waitlist form when a time slot is full (or registering
    failed because it filled up). Unbound forms are made here, prefilled for a signed-in student."""
    context = _course_page_context(
        course=course, student=student, studio=studio_settings(), form=form, waitlist_form=waitlist_form
    )
    return render(request, "courses/course_detail.html", context, status=status)


def _course_page_context(*, course: Course, student, studio: dict, form=None, waitlist_form=None) -> dict:
    if form is None:
        form = RegistrationForm(course=course, payment_methods=payment_methods(studio), initial=_prefill(student))
    if waitlist_form is None and _full_slots(course):
        waitlist_form = WaitlistJoinForm(course=course, initial=_prefill(student))
    context = {
        "studio": studio,
        "course": course,
        "form": form,
        "waitlist_form": waitlist_form,
        "registration_open": studio.registration_open,
    }
    return context


def course_detail(request, course_id):
    """A course and its registration form; a valid POST registers and redirects to the payment page (PRG).

    Registration POSTs are rate-limited per client IP (settings.RATELIMIT_REGISTRATION; BAD-INPUTS #43).
    """
    if request.method == "POST" and is_ratelimited(
        request, group="courses.register", key="ip", rate=settings.RATELIMIT_REGISTRATION, increment=True
    ):
        return import_string(settings.RATELIMIT_VIEW)(request)
    if page_cache.cacheable(request):
        response = _cached_course_page(request, course_id=course_id)
        if response is not None:
            return response
    student = _student(request)
    try:
        # A POST that registers needs no seat counts (the service counts them under the slot lock); a page does.
        course = selectors.course_for_page(course_id=course_id, student=student, seats=request.method != "POST")
    except Course.DoesNotExist:
        raise Http404("No such open course") from None
    if request.method != "POST":
        return render_course_page(request, course=course, student=student)
    form = RegistrationForm(request.POST, course=course, payment_methods=payment_methods(studio_settings()))
    refusal = None
    if form.is_valid():
        try:
            registration = _register(form=form, course=course, student=student)
        except services.NotEligible:
            raise Http404("No such open course") from None
        except services.RegistrationError as error:
            refusal = error
        else:
            messages.success(request, _("You're registered! Your seat is held while you pay."))
            return redirect(registration)
    return _course_page_after_refusal(request, course_id=course_id, student=student, refusal=refusal)


def _course_page_after_refusal(request, *, course_id: int, student, refusal: services.RegistrationError | None):
    """The course page again, with the seats as they are now, the student's input and what was wrong with it.

    `refusal`: why the service refused a valid form (None: the form itself was invalid). Refused because the slot
    is full, the page also shows the waitlist form, filled in with what was typed.
    """
    try:
        course = selectors.course_for_page(course_id=course_id, student=student)
    except Course.DoesNotExist:  # closed or deleted since the form was checked
        raise Http404("No such open course") from None
    form = RegistrationForm(request.POST, course=course, payment_methods=payment_methods(studio_settings()))
    waitlist_form = None
    if form.is_valid() and refusal is not None:
        if isinstance(refusal, services.SlotFull):
            form.add_error(None, str(refusal))
            waitlist_form = _waitlist_form_after_full(form, course=course)
        else:
            form.add_error(refusal.field if refusal.field in form.fields else None, str(refusal))
    return render_course_page(request, course=course, student=student, form=form, waitlist_form=waitlist_form)


def _cached_course_page(request, *, course_id: int):
    """The course page as every anonymous visitor sees it, from the cache (see course_list)."""

    def context() -> dict:
        try:
            course = selectors.course_for_page(course_id=course_id)
        except Course.DoesNotExist:
            raise Http404("No such open course") from None
        return _course_page_context(course=course, student=None, studio=studio_settings())

    return page_cache.cached_page(
        request, name=f"course:{course_id}", template_name="courses/course_detail.html", context=context
    )


def _waitlist_form_after_full(form: RegistrationForm, *, course: Course) -> WaitlistJoinForm:
    """The waitlist form, unbound, with what the student typed and the slot they wanted."""
    data = form.cleaned_data
    initial = {name: data.get(name, "") for name in ("email", "first_name", "last_name", "phone", "instagram_handle")}
    initial["preferred_slot"] = data["slot"].pk if data.get("slot") else None
    return WaitlistJoinForm(course=course, initial=initial)
