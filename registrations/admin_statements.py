"""The statement matcher's admin pages (README "Payments"): upload a Venmo or bank statement, choose a bank's columns
once, see the preview, tick and confirm. Each page calls registrations/statements.py and nothing else writes.

Access goes by the StatementImport permissions (add: upload; change: choose columns and confirm; view: see), which the
Studio admin holds and the Instructor does not: never by `is_staff` alone.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from courses.admin_columns import moment_field
from registrations import statements
from registrations.models import BankColumnMapping, StatementImport
from registrations.statements import LineErrors, LineStatus, StatementError

# The order the preview's summary counts the lines in.
STATUS_ORDER = [
    LineStatus.MATCHED,
    LineStatus.MATCHED_BY_NAME,
    LineStatus.AMBIGUOUS,
    LineStatus.UNMATCHED,
    LineStatus.IMPORTED,
    LineStatus.DUPLICATE,
    LineStatus.CANCELED,
    LineStatus.INVALID,
    LineStatus.IGNORED,
]


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Statement"),
        choices=StatementImport.Kind.choices,
        initial=StatementImport.Kind.VENMO,
        widget=forms.RadioSelect,
    )
    statement = forms.FileField(
        label=_("CSV file"),
        allow_empty_file=True,  # the service says what is wrong with an empty one
        help_text=_(
            "Venmo: Statements → download the CSV of a month. Bank: export the account's activity as CSV. "
            "At most %(limit)s MB."
        )
        % {"limit": f"{statements.MAX_STATEMENT_BYTES / 1_000_000:.1f}"},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class ColumnsForm(forms.Form):
    date_column = forms.ChoiceField(label=_("Date"))
    description_column = forms.ChoiceField(label=_("Description"), help_text=_("Where the bank writes “Zelle from …”."))
    amount_column = forms.ChoiceField(label=_("Amount"), help_text=_("Money in is positive, money out negative."))
    id_column = forms.ChoiceField(label=_("Transaction id (optional)"), required=False)

    GUESSES = {
        "date_column": ("date", "posted"),
        "description_column": ("description", "memo", "details", "payee"),
        "amount_column": ("amount",),
        "id_column": ("reference", "transaction id", "id"),
    }

    def __init__(self, *args, header: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(name, name) for name in header]
        for name, field in self.fields.items():
            field.choices = ([("", _("None"))] if not field.required else []) + choices
            guess = next((c for c in header for word in self.GUESSES[name] if word in c.casefold()), None)
            if guess is not None:
                field.initial = guess


@admin.register(StatementImport)
class StatementImportAdmin(admin.ModelAdmin):
    list_display = ["uploaded", "kind", "filename", "status", "summary", "uploaded_by", "confirmed"]
    list_filter = ["kind", "status"]
    search_fields = ["filename"]
    list_select_related = ["uploaded_by"]
    date_hierarchy = "uploaded_at"
    uploaded = moment_field("uploaded_at", _("uploaded at"))
    confirmed = moment_field("confirmed_at", _("confirmed at"))

    def has_delete_permission(self, request, obj=None):
        return False  # what it recorded stays traceable to it

    @admin.display(description=_("lines"))
    def summary(self, obj):
        counts = {}
        for line in obj.lines:
            counts[line["status"]] = counts.get(line["status"], 0) + 1
        return ", ".join(
            f"{counts[status]} {str(LineStatus.LABELS[status]).lower()}" for status in STATUS_ORDER if status in counts
        )

    def _page(self, request, template: str, context: dict, *, title):
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            f"admin/registrations/statementimport/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "subtitle": None,
                **context,
            },
        )

    # --- upload ------------------------------------------------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                statement_import = statements.start_import(
                    upload=form.cleaned_data["statement"], kind=form.cleaned_data["kind"], actor=request.user
                )
            except StatementError as error:
                form.add_error("statement", str(error))
            else:
                return HttpResponseRedirect(
                    reverse("admin:registrations_statementimport_change", args=[statement_import.pk])
                )
        return self._page(request, "upload.html", {"form": form, "media": self.media}, title=_("Import a statement"))

    # --- columns, preview, confirm -----------------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not (str(object_id).isascii() and str(object_id).isdecimal()):
            raise Http404("No such statement import")
        statement_import = get_object_or_404(StatementImport, pk=object_id)
        if not self.has_view_permission(request, statement_import):
            raise PermissionDenied
        if request.method == "POST" and not self.has_change_permission(request, statement_import):
            raise PermissionDenied
        if statement_import.status == StatementImport.Status.MAPPING:
            return self._columns(request, statement_import)
        return self._preview(request, statement_import)

    def _columns(self, request, statement_import):
        form = ColumnsForm(request.POST or None, header=statement_import.header)
        if request.method == "POST" and form.is_valid():
            try:
                statements.map_bank_columns(statement_import=statement_import, **form.cleaned_data)
            except StatementError as error:
                form.add_error(None, str(error))
            else:
                return HttpResponseRedirect(request.path)
        return self._page(
            request,
            "columns.html",
            {"form": form, "statement_import": statement_import},
            title=_("Which columns hold what?"),
        )

    def _preview(self, request, statement_import):
        lines = statements.lines_of(statement_import)
        errors: dict[int, str] = {}
        chosen = None
        if request.method == "POST":
            ticked = {int(value) for value in request.POST.getlist("line") if value.isascii() and value.isdecimal()}
            picks = {i: request.POST.get(f"pick-{i}", "") for i in range(len(lines))}
            references = {i: request.POST.get(f"reference-{i}", "") for i in range(len(lines))}
            try:
                result = statements.confirm_import(
                    statement_import=statement_import,
                    ticked=ticked,
                    picks=picks,
                    references=references,
                    actor=request.user,
                )
            except LineErrors as refused:
                errors = refused.errors
                self.message_user(request, _("Nothing was recorded: see the rows marked below."), messages.ERROR)
            except StatementError as error:
                self.message_user(request, str(error), messages.ERROR)
                statement_import.refresh_from_db()
            else:
                self._report(request, result)
                return HttpResponseRedirect(request.path)
            chosen = {"ticked": ticked, "picks": picks, "references": references}
        registrations = statements.candidates(statement_import)
        payments = list(statement_import.payments.select_related("registration__student").order_by("pk"))
        recorded = {payment.transaction_id: payment for payment in payments}
        rows = []
        for index, line in enumerate(lines):
            rows.append(
                {
                    "index": index,
                    "line": line,
                    "registration": registrations.get(line.registration_id),
                    "candidates": [registrations[pk] for pk in line.candidate_ids if pk in registrations],
                    "ticked": (index in chosen["ticked"]) if chosen else line.ticked,
                    "pick": (chosen["picks"].get(index, "") if chosen else ""),
                    "reference": (chosen["references"].get(index, "") if chosen else ""),
                    "error": errors.get(index, ""),
                    "payment": recorded.get(line.transaction_id) if line.is_recordable else None,
                }
            )
        counts = []
        for status in STATUS_ORDER:
            n = sum(1 for line in lines if line.status == status)
            if n:
                counts.append((status, LineStatus.LABELS[status], n))
        return self._page(
            request,
            "preview.html",
            {
                "statement_import": statement_import,
                "rows": rows,
                "counts": counts,
                "can_confirm": statement_import.status == StatementImport.Status.PREVIEW
                and self.has_change_permission(request, statement_import),
                "payments": payments,
            },
            title=_("Statement: %(file)s") % {"file": statement_import.filename or statement_import.pk},
        )

    def _report(self, request, result: statements.ImportResult):
        recorded, paid = len(result.recorded), len(result.paid)
        self.message_user(
            request,
            _("%(recorded)s; %(paid)s")
            % {
                "recorded": ngettext("Recorded %(count)d payment", "Recorded %(count)d payments", recorded)
                % {"count": recorded},
                "paid": ngettext(
                    "%(count)d registration is now paid in full (its student was emailed).",
                    "%(count)d registrations are now paid in full (their students were emailed).",
                    paid,
                )
                % {"count": paid},
            },
            messages.SUCCESS,
        )
        if result.credited:
            self.message_user(
                request,
                ngettext(
                    "%(count)d payment was for a registration paid already: it became the student's account credit.",
                    "%(count)d payments were for registrations paid already: they became the students' account credit.",
                    len(result.credited),
                )
                % {"count": len(result.credited)},
                messages.INFO,
            )
        if result.already:
            self.message_user(
                request,
                ngettext(
                    "%(count)d line was recorded meanwhile (another import) and was skipped.",
                    "%(count)d lines were recorded meanwhile (another import) and were skipped.",
                    len(result.already),
                )
                % {"count": len(result.already)},
                messages.WARNING,
            )


@admin.register(BankColumnMapping)
class BankColumnMappingAdmin(admin.ModelAdmin):
    """The remembered columns of each bank's CSV: correct them here if a bank's export was read wrongly."""

    list_display = ["__str__", "date_column", "description_column", "amount_column", "id_column", "updated_at"]
    fields = ["header", "date_column", "description_column", "amount_column", "id_column"]
    readonly_fields = ["header"]

    def has_add_permission(self, request):
        return False  # a mapping is made by importing a statement
