from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from courses.models import Course
from dance_portal.studio_settings import get_settings
from registrations import selectors, services
from registrations.forms import RegistrationForm
from registrations.models import Registration

# Catalog sections, in the order a visitor reads them.
SECTIONS = [
    (Course.CourseType.SERIES, gettext_lazy("Series")),
    (Course.CourseType.DROP_IN, gettext_lazy("Drop-in classes")),
    (Course.CourseType.CREW_PRACTICE, gettext_lazy("Crew practices")),
]


def _student(request):
    """The verified student of this session; None until the portal's sign-in exists (anonymous visitors)."""
    return None


def _payment_methods(studio: dict) -> list[str]:
    """The methods the studio has set up; both when none is (the studio then sends the details itself)."""
    methods = []
    if studio["venmo_username"]:
        methods.append(Registration.PaymentMethod.VENMO)
    if studio["zelle_phone"] or studio["zelle_email"]:
        methods.append(Registration.PaymentMethod.ZELLE)
    return methods or list(Registration.PaymentMethod.values)


def course_list(request):
    """The catalog: open classes grouped by type, each with its schedule, prices and seats."""
    studio = get_settings()
    courses = selectors.open_courses(student=_student(request))
    sections = [
        {"title": str(title), "courses": [c for c in courses if c.course_type == course_type]}
        for course_type, title in SECTIONS
    ]
    context = {
        "studio": studio,
        "sections": [section for section in sections if section["courses"]],
        "registration_open": studio["registration_open"],
    }
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


def course_detail(request, course_id):
    """A course and its registration form; a valid POST registers and redirects to the payment page (PRG)."""
    student = _student(request)
    try:
        course = selectors.course_for_page(course_id=course_id, student=student)
    except Course.DoesNotExist:
        raise Http404("No such open course") from None
    studio = get_settings()
    data = request.POST if request.method == "POST" else None
    form = RegistrationForm(data, course=course, payment_methods=_payment_methods(studio))
    if form.is_bound and form.is_valid():
        try:
            registration = _register(form=form, course=course, student=student)
        except services.NotEligible:
            raise Http404("No such open course") from None
        except services.RegistrationError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, _("You're registered! Your seat is held while you pay."))
            return redirect(registration)
    context = {"studio": studio, "course": course, "form": form, "registration_open": studio["registration_open"]}
    return render(request, "courses/course_detail.html", context)
