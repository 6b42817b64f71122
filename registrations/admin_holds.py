"""The admin's "Holds by client" page: the clients (network addresses, known only by a keyed hash) whose online
registrations hold unpaid seats right now, with how many, for which courses and since when; and "Release these holds",
which cancels the selected clients' running holds through the registration transitions (reason recorded, each student
emailed, each freed seat offered to the waitlist first).

A client at the cap (studio setting max_unpaid_holds_per_client) shows here first: one phone or one shared Wi-Fi
holding many seats is either a busy studio evening or someone filling classes with invented students; the studio
decides which.
"""

from dataclasses import dataclass, field

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Min
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from registrations import ledger, seats, transitions
from registrations.admin_forms import CancelForm
from registrations.models import HoldsByClient, Registration
from studio.config import studio_settings

# Clients listed at most (those with the most holds first): a page, not a report.
MAX_CLIENTS = 200
SHORT_KEY = 8


@dataclass
class ClientHolds:
    """One client's running unpaid holds."""

    client_key: str
    holds: int
    students: int
    first: object
    last: object
    courses: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.client_key[:SHORT_KEY]


def running_holds(*, client_keys=None, now=None):
    """Registrations made online whose unpaid hold is running at `now` (of `client_keys` only, when given)."""
    holds = Registration.objects.filter(seats.hold_running(now or timezone.now())).exclude(client_key="")
    if client_keys is not None:
        holds = holds.filter(client_key__in=list(client_keys))
    return holds


def clients_with_holds(*, now=None) -> list[ClientHolds]:
    """Every client holding unpaid seats now, most holds first (two queries)."""
    rows = (
        running_holds(now=now)
        .values("client_key")
        .annotate(
            holds=Count("pk"), students=Count("student", distinct=True), first=Min("created_at"), last=Max("created_at")
        )
        .order_by("-holds", "-last")[:MAX_CLIENTS]
    )
    clients = {row["client_key"]: ClientHolds(**row) for row in rows}
    courses = (
        running_holds(client_keys=clients, now=now)
        .values_list("client_key", "course__name")
        .distinct()
        .order_by("client_key", "course__name")
    )
    for key, course in courses:
        clients[key].courses.append(course)
    return list(clients.values())


@admin.register(HoldsByClient)
class HoldsByClientAdmin(admin.ModelAdmin):
    """One page (the changelist's address), no add, change or delete: the list and the release of holds."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # "Change" is what releasing needs; there is no change form (change_view below).
        return obj is None and super().has_change_permission(request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:registrations_registration_change", args=[object_id]))

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            response = self._release(request)
            if response is not None:
                return response
        context = {
            **self.admin_site.each_context(request),
            "title": _("Holds by client"),
            "subtitle": None,
            "opts": self.model._meta,
            "clients": clients_with_holds(),
            "limit": studio_settings().max_unpaid_holds_per_client,
            "can_release": self.has_change_permission(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/registrations/holds_by_client.html", context)

    def _release(self, request):
        """The selected clients' running holds: the confirmation page with a reason, then the cancellations."""
        keys = [key for key in request.POST.getlist("client") if key]
        holds = list(
            ledger.with_balances(running_holds(client_keys=keys).select_related("student", "course")).order_by("pk")
        )
        if not keys or not holds:
            self.message_user(request, _("Choose at least one client holding unpaid seats."), messages.WARNING)
            return HttpResponseRedirect(request.path)
        # The cancel action's form and service: money paid on a hold is refunded, credited or kept, as the owner says.
        for hold in holds:
            hold.balance = ledger.balance_from(hold)
        money_paid = any(hold.balance.returnable > 0 for hold in holds)
        form = CancelForm(request.POST if "apply" in request.POST else None, money_paid=money_paid)
        if form.is_bound and form.is_valid():
            outcome = transitions.cancel_registrations(
                registrations=holds,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                settle=form.cleaned_data.get("settle", ""),
            )
            if outcome.done:
                count = len(outcome.done)
                self.message_user(
                    request,
                    ngettext(
                        "Released %(count)d hold: the student was emailed and the seat offered to the waitlist first.",
                        "Released %(count)d holds: the students were emailed and the seats offered to the waitlist "
                        "first.",
                        count,
                    )
                    % {"count": count},
                    messages.SUCCESS,
                )
            for registration, error in outcome.refused:
                self.message_user(request, f"{registration.reference}: {error}", messages.ERROR)
            return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Release these holds"),
            "subtitle": None,
            "intro": _(
                "Cancel these unpaid registrations. Each student is emailed the reason, and each seat is offered to the "
                "waitlist first."
            ),
            "submit_label": _("Release the holds"),
            "opts": self.model._meta,
            "holds": holds,
            "keys": keys,
            "form": form,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/registrations/release_holds.html", context)
