from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from registrations import selectors, services
from registrations.models import Registration


def _registration(public_id):
    return get_object_or_404(Registration.objects.select_related("course", "slot__course"), public_id=public_id)


@never_cache
def registration_detail(request, public_id):
    """One registration's status and payment instructions, reached by its unguessable public id.

    Shows nothing of the student's stored profile: whoever typed an email may land here (SPEC §3 privacy).
    """
    registration = _registration(public_id)
    is_pending = registration.payment_status == Registration.PaymentStatus.PENDING
    context = {
        "registration": registration,
        "course": registration.course,
        "slot": registration.slot,
        "is_pending": is_pending,
        "hold_ran_out": is_pending
        and registration.payment_due_at is not None
        and registration.payment_due_at <= timezone.now(),
        "instructions": selectors.payment_instructions(registration) if is_pending else None,
    }
    return render(request, "registrations/registration_detail.html", context)


@require_POST
def report_payment(request, public_id):
    """The student's "I've sent the payment": recorded for the studio, which still confirms by hand."""
    registration = _registration(public_id)
    method = request.POST.get("method", "")
    if method not in Registration.PaymentMethod.values:
        method = registration.payment_method
    try:
        services.report_payment(registration=registration, method=method)
    except services.RegistrationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Thanks! We'll confirm your seat as soon as the studio sees your payment."))
    return redirect(registration)
