"""What the registration admin does besides listing: the bulk actions (confirm, confirm over capacity, cancel,
re-open, export) with their intermediate pages, the same actions as buttons on a registration's own page, and
"Register a student". Each calls a service and reports what it did.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from courses.formatting import money
from registrations import ledger, seats, services, transitions
from registrations.admin_forms import CancelForm, ConfirmPaymentForm, RefundForm, RegisterStudentForm, ReopenForm
from registrations.errors import RegistrationError
from registrations.models import Registration
from students.admin import ExportsContacts
from students.services import EmailTaken
from studio.csv import csv_response

PaymentStatus = Registration.PaymentStatus
# Posted by the buttons of a registration's page and carried through the intermediate page: come back to it after.
FROM_CHANGE_PAGE = "from_change_page"

CSV_HEADER = [
    _("Reference"),
    _("First name"),
    _("Last name"),
    _("Email"),
    _("Phone"),
    _("Instagram"),
    _("Experience"),
    _("Course"),
    _("Time slot"),
    _("Class date"),
    _("Pricing type"),
    _("Amount"),
    _("Payment method"),
    _("Status"),
    _("Created"),
    _("Confirmed"),
]


def registration_csv_row(registration) -> list:
    student = registration.student
    return [
        registration.reference,
        student.first_name,
        student.last_name,
        student.email,
        student.phone,
        student.instagram_handle,
        student.get_dance_experience_display(),
        registration.course.name,
        str(registration.slot),
        registration.class_date,
        registration.get_pricing_type_display(),
        registration.payment_amount,
        registration.get_payment_method_display(),
        registration.get_payment_status_display(),
        registration.created_at,
        registration.confirmed_at,
    ]


def _counted(done: list, message) -> str:
    """`message` (ngettext_lazy with "count") for the number of registrations in `done`."""
    return str(message % {"count": len(done)})


REOPENED_PENDING = ngettext_lazy(
    "Re-opened %(count)d registration: it waits for payment again.",
    "Re-opened %(count)d registrations: they wait for payment again.",
    "count",
)
REOPENED_CONFIRMED = ngettext_lazy(
    "Re-opened %(count)d registration with nothing left to pay: confirmed at once.",
    "Re-opened %(count)d registrations with nothing left to pay: confirmed at once.",
    "count",
)


def _reopened(done: list[Registration]) -> str:
    """What re-opening did: pending again with a new hold, or confirmed at once when nothing was left to pay."""
    statuses = list(Registration.objects.filter(pk__in=[r.pk for r in done]).values_list("payment_status", flat=True))
    confirmed = statuses.count(Registration.PaymentStatus.COMPLETED)
    pending = len(statuses) - confirmed
    parts = [REOPENED_PENDING % {"count": pending}] if pending else []
    if confirmed:
        parts.append(REOPENED_CONFIRMED % {"count": confirmed})
    return " ".join(str(part) for part in parts)


class RegistrationActions(ExportsContacts):
    """Mixed into RegistrationAdmin: its actions and the "Register a student" page."""

    actions = [
        "confirm_payments",
        "confirm_payments_over_capacity",
        "cancel_registrations",
        "reopen_registrations",
        "record_refund",
        "export_csv",
    ]

    # --- actions --------------------------------------------------------------------------------------------------

    def _action_page(self, request, queryset, *, action: str, form, title: str, intro: str, submit: str):
        """The intermediate page of an action (like Django's delete confirmation): the form, then the service."""
        context = {
            "from_change_page": FROM_CHANGE_PAGE in request.POST,
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "intro": intro,
            "submit_label": submit,
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/registrations/registration/action_form.html", context)

    def _report(self, request, outcome: transitions.BulkOutcome, *, done, unchanged: str):
        """One message for the changed registrations (`done(registrations)`), one for the unchanged, one per refusal."""
        if outcome.done:
            self.message_user(request, done(outcome.done), messages.SUCCESS)
        if outcome.unchanged:
            references = ", ".join(r.reference for r in outcome.unchanged)
            self.message_user(request, unchanged % {"references": references}, messages.WARNING)
        for registration, error in outcome.refused:
            self.message_user(request, f"{registration.reference}: {error}", messages.ERROR)

    def _done(self, request, queryset):
        """Where the browser goes once an action is applied: back to the registration's page when the action was
        started from there (its buttons), else to the list (None: Django's way)."""
        if FROM_CHANGE_PAGE in request.POST:
            pks = list(queryset.values_list("pk", flat=True)[:2])
            if len(pks) == 1:
                return HttpResponseRedirect(reverse("admin:registrations_registration_change", args=[pks[0]]))
        return None

    def _confirm(self, request, queryset, *, over_capacity: bool):
        action = "confirm_payments_over_capacity" if over_capacity else "confirm_payments"
        form = ConfirmPaymentForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            if (data["amount"] is not None or data["transaction_id"]) and queryset.count() > 1:
                form.add_error(None, _("An amount or a transaction id is for one registration at a time."))
        if form.is_bound and form.is_valid():
            status_before = dict(queryset.values_list("pk", "payment_status"))
            outcome = transitions.confirm_payments(
                registrations=queryset.order_by("pk"),
                actor=request.user,
                method=data["method"],
                note=data["note"],
                over_capacity=over_capacity,
                amount=data["amount"],
                transaction_id=data["transaction_id"],
            )
            recorded = self._payments_not_confirming(outcome.done, status_before=status_before, amount=data["amount"])
            outcome.done = [r for r in outcome.done if r.pk not in recorded]
            self._report(
                request,
                outcome,
                done=lambda done: _counted(
                    done,
                    ngettext_lazy(
                        "Confirmed the payment of %(count)d registration; the student was emailed.",
                        "Confirmed the payment of %(count)d registrations; the students were emailed.",
                        "count",
                    ),
                ),
                unchanged=_("Already paid, nothing changed: %(references)s."),
            )
            for message, level in recorded.values():
                self.message_user(request, message, level)
            return self._done(request, queryset)
        return self._action_page(
            request,
            queryset,
            action=action,
            form=form,
            title=_("Confirm payments over capacity") if over_capacity else _("Confirm payments"),
            intro=(
                _(
                    "Confirm these registrations as paid even where the time slot is full: the class will have "
                    "more students than seats."
                )
                if over_capacity
                else _(
                    "Confirm these registrations as paid. Each student gets one confirmation email. A registration "
                    "whose hold ran out is confirmed only if its seat is still free."
                )
            ),
            submit=_("Confirm payment"),
        )

    def _payments_not_confirming(self, done, *, status_before: dict, amount) -> dict[int, tuple[str, int]]:
        """What a payment did to each registration of `done` it did not confirm, as a message and its level, by
        registration id: paid already (the money became credit), or something still due (a pending registration waits
        for it; an expired one stays expired)."""
        said = {}
        for registration in ledger.with_balances(Registration.objects.filter(pk__in=[r.pk for r in done])):
            values = {"reference": registration.reference, "due": money(ledger.balance_from(registration).due)}
            if status_before.get(registration.pk) == PaymentStatus.COMPLETED:
                values["amount"] = money(amount)
                message = _("%(reference)s was paid already: the payment of %(amount)s is recorded as account credit.")
                said[registration.pk] = (message % values, messages.SUCCESS)
            elif registration.payment_status == PaymentStatus.PENDING:
                message = _(
                    "%(reference)s: payment recorded, %(due)s still due; the student was emailed how to pay it."
                )
                said[registration.pk] = (message % values, messages.WARNING)
            elif registration.payment_status == PaymentStatus.EXPIRED:
                message = _(
                    "%(reference)s: payment recorded, %(due)s still due. Its hold ran out, so it stays expired and "
                    "holds no seat: confirm the rest, re-open it, or cancel it to refund or credit the money."
                )
                said[registration.pk] = (message % values, messages.WARNING)
        return dict(sorted(said.items()))

    @admin.action(description=_("Confirm payment"), permissions=["change"])
    def confirm_payments(self, request, queryset):
        return self._confirm(request, queryset, over_capacity=False)

    @admin.action(description=_("Confirm payment over capacity"), permissions=["change"])
    def confirm_payments_over_capacity(self, request, queryset):
        return self._confirm(request, queryset, over_capacity=True)

    def _apply_with_reason(self, request, queryset, *, action, form_class, service, done, unchanged, page):
        """The cancel and re-open actions: ask for the reason on an intermediate page, then call `service` with it."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            outcome = service(
                registrations=queryset.order_by("pk"), actor=request.user, reason=form.cleaned_data["reason"]
            )
            self._report(request, outcome, done=done, unchanged=unchanged)
            return self._done(request, queryset)
        return self._action_page(request, queryset, action=action, form=form, **page)

    @admin.action(description=_("Cancel (emails the student, frees the seat)"), permissions=["change"])
    def cancel_registrations(self, request, queryset):
        money_paid = any(ledger.balance_from(r).returnable > 0 for r in ledger.with_balances(queryset))
        form = CancelForm(request.POST if "apply" in request.POST else None, money_paid=money_paid)
        if form.is_bound and form.is_valid():
            outcome = transitions.cancel_registrations(
                registrations=queryset.order_by("pk"),
                actor=request.user,
                reason=form.cleaned_data["reason"],
                settle=form.cleaned_data.get("settle", ""),
            )
            self._report(
                request,
                outcome,
                done=lambda done: _counted(
                    done,
                    ngettext_lazy(
                        "Canceled %(count)d registration; the student was emailed.",
                        "Canceled %(count)d registrations; the students were emailed.",
                        "count",
                    ),
                ),
                unchanged=_("Already canceled, nothing changed: %(references)s."),
            )
            return self._done(request, queryset)
        return self._action_page(
            request,
            queryset,
            action="cancel_registrations",
            form=form,
            title=_("Cancel registrations"),
            intro=_("Cancel these registrations. Each student is emailed the reason and the seat is freed."),
            submit=_("Cancel the registrations"),
        )

    def has_add_refund_permission(self, request) -> bool:
        """Recording a refund (the action and the page's button): the Refund model's add permission, not a change of
        the registration."""
        return request.user.has_perm("registrations.add_refund")

    @admin.action(description=_("Record a refund"), permissions=["add_refund"])
    def record_refund(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Record a refund for one registration at a time."), messages.ERROR)
            return None
        registration = queryset.get()
        form = RefundForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                ledger.record_refund(
                    registration=registration,
                    amount=data["amount"],
                    method=data["method"],
                    reason=data["reason"],
                    transaction_id=data["transaction_id"],
                    recorded_by=request.user,
                )
            except RegistrationError as error:
                form.add_error(error.field if error.field in form.fields else None, str(error))
            else:
                self.message_user(
                    request,
                    _("Recorded a refund of %(amount)s for %(reference)s.")
                    % {"amount": money(data["amount"]), "reference": registration.reference},
                    messages.SUCCESS,
                )
                return self._done(request, queryset)
        return self._action_page(
            request,
            queryset,
            action="record_refund",
            form=form,
            title=_("Record a refund"),
            intro=_(
                "Record money given back to the student (send it yourself by Venmo or Zelle), or correct a payment "
                "recorded by mistake. Its status does not change: to cancel the registration too, use Cancel."
            ),
            submit=_("Record the refund"),
        )

    @admin.action(description=_("Re-open (if a seat is free)"), permissions=["change"])
    def reopen_registrations(self, request, queryset):
        return self._apply_with_reason(
            request,
            queryset,
            action="reopen_registrations",
            form_class=ReopenForm,
            service=transitions.reopen_registrations,
            done=_reopened,
            unchanged=_("Already pending or paid, nothing changed: %(references)s."),
            page={
                "title": _("Re-open registrations"),
                "intro": _(
                    "Re-open these canceled or expired registrations, if their seats are free: each waits for payment "
                    "again with a new seat hold, or is confirmed at once when nothing is left to pay on it."
                ),
                "submit": _("Re-open"),
            },
        )

    @admin.action(description=_("Export to CSV"), permissions=["export_contacts"])
    def export_csv(self, request, queryset):
        registrations = queryset.select_related("student", "course", "slot__course").order_by("created_at", "pk")
        return csv_response(
            f"registrations-{timezone.localdate():%Y-%m-%d}.csv",
            CSV_HEADER,
            (registration_csv_row(r) for r in registrations.iterator(chunk_size=500)),
        )

    # --- the registration's own page ---------------------------------------------------------------------------------

    def registration_buttons(self, request, registration) -> list[tuple[str, str]]:
        """(action, label) of the actions that apply to `registration` as it stands, shown as buttons on its page.
        Each posts to the list as the bulk action would, so it goes through the same intermediate page and service."""
        if registration is None or not self.has_change_permission(request, registration):
            return []
        status = registration.payment_status
        balance = ledger.balance(registration)
        buttons = []
        if status in (PaymentStatus.PENDING, PaymentStatus.EXPIRED):
            buttons.append(("confirm_payments", _("Confirm payment")))
            if not seats.is_holding_seat(registration, now=timezone.now()):
                # Its seat may have gone: the studio may still confirm it past the capacity.
                buttons.append(("confirm_payments_over_capacity", _("Confirm over capacity")))
        if status in (PaymentStatus.PENDING, PaymentStatus.COMPLETED) or (
            status == PaymentStatus.EXPIRED and balance.returnable > 0  # money recorded since its hold ran out
        ):
            buttons.append(("cancel_registrations", _("Cancel registration")))
        if status in (PaymentStatus.CANCELED, PaymentStatus.EXPIRED):
            buttons.append(("reopen_registrations", _("Re-open")))
        if self.has_add_refund_permission(request) and balance.refundable > 0:
            buttons.append(("record_refund", _("Record a refund")))
        return buttons

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context = {
            **context,
            "registration_buttons": self.registration_buttons(request, obj),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "from_change_page_field": FROM_CHANGE_PAGE,
        }
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- "Register a student" -------------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        context = {"can_register": self.has_change_permission(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def get_urls(self):
        return [
            path(
                "register/",
                self.admin_site.admin_view(self.register_student_view),
                name="registrations_registration_register",
            ),
            *super().get_urls(),
        ]

    def register_student_view(self, request):
        """The owner registers any student for any slot through services.admin_register_student."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = RegisterStudentForm(request.POST or None, admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                registration = services.admin_register_student(
                    student=data["student"],
                    new_student=form.new_student,
                    slot=data["slot"],
                    pricing_type=data["pricing_type"],
                    payment_method=data["payment_method"],
                    class_date=data["class_date"],
                    over_capacity=data["over_capacity"],
                    amount=data["amount"],
                    reason=data["reason"],
                    use_credit=data["use_credit"],
                    actor=request.user,
                )
            except EmailTaken as taken:
                # The same rule as everywhere: one student per address. Point to the one there is.
                url = reverse("admin:students_student_change", args=[taken.student.pk])
                existing = format_html('<a href="{}">{}</a>', url, taken.student.full_name)
                message = _("A student with this email address already exists: {student}. Choose them above.")
                form.add_error("email", format_html(message, student=existing))
            except ValidationError as error:  # a new student's details
                for field, messages_ in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, messages_)
            except RegistrationError as error:
                form.add_error(error.field if error.field in form.fields else None, str(error))
            else:
                message = (
                    _("Registered %(student)s: %(reference)s, confirmed (nothing to pay).")
                    if registration.payment_status == Registration.PaymentStatus.COMPLETED
                    else _("Registered %(student)s: %(reference)s, waiting for payment.")
                )
                self.message_user(
                    request,
                    message % {"student": registration.student.full_name, "reference": registration.reference},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:registrations_registration_change", args=[registration.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Register a student"),
            "subtitle": None,
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/registrations/registration/register_student.html", context)
