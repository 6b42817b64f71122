"""Admin for courses, their time slots and prices.

Slots and their prices are edited on the course page. Django has no nested inlines (course → slot → price), and a
slot has at most two prices, one per pricing type, so the slot inline's form carries two extra money fields,
`full_package_price` and `drop_in_price`, and writes the `CoursePricing` rows when the slot is saved: a value
creates or updates that price row, a blank removes it. No third-party nested-inline package, and every price is
still a `CoursePricing` row (also editable on the slot's own admin page, where prices are a plain inline).
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from attendance.services import generate_class_sessions
from courses.models import Course, CoursePricing, CourseSlot
from courses.page_cache import bump_catalog_version
from registrations.services import offer_freed_seats_on_commit
from registrations.models import Registration

# Form field → the price row it edits.
PRICE_FIELDS = {
    "full_package_price": CoursePricing.PricingType.FULL_PACKAGE,
    "drop_in_price": CoursePricing.PricingType.DROP_IN,
}
SLOT_FIELDS = ["day_of_week", "practice_date", "start_time", "end_time", "capacity", "difficulty_level", "location"]
ACTIVE_REGISTRATIONS = Q(registrations__payment_status__in=Registration.ACTIVE_STATUSES)


def registered_in_busiest_class(slot: CourseSlot) -> int:
    """Active (pending or completed) registrations on the slot's fullest class date: full packages plus drop-ins."""
    active = slot.registrations.filter(payment_status__in=Registration.ACTIVE_STATUSES)
    full_package = active.filter(class_date__isnull=True).count()
    busiest_drop_in_date = (
        active.filter(class_date__isnull=False)
        .values("class_date")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("n", flat=True)
        .first()
    )
    return full_package + (busiest_drop_in_date or 0)


class CourseSlotForm(forms.ModelForm):
    """A slot; refuses a capacity below the students already registered (nobody is cancelled automatically)."""

    class Meta:
        model = CourseSlot
        fields = ["course", *SLOT_FIELDS]

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        if self.instance.pk is not None and capacity is not None:
            registered = registered_in_busiest_class(self.instance)
            if capacity < registered:
                raise ValidationError(
                    ngettext(
                        "%(count)d student is registered; capacity cannot go below %(count)d.",
                        "%(count)d students are registered; capacity cannot go below %(count)d.",
                        registered,
                    )
                    % {"count": registered},
                    code="below_registered",
                )
        return capacity


class CourseSlotWithPricesForm(CourseSlotForm):
    """A slot row of the course page, with its two prices (blank = no such price)."""

    # Django's DecimalField refuses NaN, Infinity, "1,5" and a third decimal; min_value refuses a negative price.
    full_package_price = forms.DecimalField(
        label=_("full package price"),
        required=False,
        min_value=0,
        max_digits=8,
        decimal_places=2,
        widget=forms.TextInput(attrs={"size": 8, "inputmode": "decimal"}),
    )
    drop_in_price = forms.DecimalField(
        label=_("drop-in price"),
        required=False,
        min_value=0,
        max_digits=8,
        decimal_places=2,
        widget=forms.TextInput(attrs={"size": 8, "inputmode": "decimal"}),
    )

    class Meta(CourseSlotForm.Meta):
        fields = SLOT_FIELDS
        # Narrow, so the price columns fit on the course page without scrolling sideways.
        widgets = {"location": forms.TextInput(attrs={"size": 14})}

    def __init__(self, *args, parent_course=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.parent_course = parent_course
        if parent_course is not None:
            # Check the slot against the course as submitted on this page, not as it is stored.
            self.instance.course = parent_course
        if self.instance.pk is not None:
            stored = {price.pricing_type: price.price for price in self.instance.prices.all()}
            for field, pricing_type in PRICE_FIELDS.items():
                self.initial.setdefault(field, stored.get(pricing_type))

    def save(self, commit=True):
        slot = super().save(commit=commit)
        if commit:
            self._save_prices(slot)
        else:
            save_m2m = self.save_m2m

            def save_m2m_and_prices():
                save_m2m()
                self._save_prices(self.instance)

            self.save_m2m = save_m2m_and_prices
        return slot

    def _save_prices(self, slot: CourseSlot) -> None:
        for field, pricing_type in PRICE_FIELDS.items():
            price = self.cleaned_data.get(field)
            if price is None:
                slot.prices.filter(pricing_type=pricing_type).delete()
            else:
                CoursePricing.objects.update_or_create(
                    course_slot=slot, pricing_type=pricing_type, defaults={"price": price}
                )


def _adds_seats(slot_form) -> bool:
    """A saved slot form that may have added seats: a new slot or a changed capacity (for a new one, too, capacity
    differs from its empty initial value). Lowered capacity frees nothing; the waitlist service finds no free seat."""
    return slot_form.instance.pk is not None and "capacity" in slot_form.changed_data


class CourseSlotInlineFormSet(BaseInlineFormSet):
    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "parent_course": self.instance}


class CourseSlotInline(admin.TabularInline):
    model = CourseSlot
    form = CourseSlotWithPricesForm
    formset = CourseSlotInlineFormSet
    fields = [
        "day_of_week",
        "practice_date",
        "start_time",
        "end_time",
        "capacity",
        "full_package_price",
        "drop_in_price",
        "difficulty_level",
        "location",
    ]
    extra = 1
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("prices")


class BumpsCatalogVersion:
    """Admin writes of courses, slots and prices (with their inlines) make the cached catalog pages out of date."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        bump_catalog_version()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        bump_catalog_version()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        bump_catalog_version()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        bump_catalog_version()


@admin.register(Course)
class CourseAdmin(BumpsCatalogVersion, admin.ModelAdmin):
    list_display = [
        "name",
        "course_type",
        "required_student_type",
        "start_date",
        "end_date",
        "is_active",
        "slot_count",
        "active_registration_count",
        "instructor",
        "level",
    ]
    list_filter = ["is_active", "course_type", "required_student_type"]
    search_fields = ["name", "instructor", "level"]
    date_hierarchy = "start_date"
    readonly_fields = ["attendance_links", "created_at", "updated_at"]
    actions = ["generate_sessions"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "course_type",
                    "required_student_type",
                    "is_active",
                    ("start_date", "end_date"),
                    "instructor",
                    "level",
                    "description",
                ]
            },
        ),
        (_("Attendance"), {"fields": ["attendance_links"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [CourseSlotInline]

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        # New seats (a new slot, or capacity raised) go to the waitlist first.
        for slot_form in formset.forms:
            if slot_form not in formset.deleted_forms and _adds_seats(slot_form):
                offer_freed_seats_on_commit(slot_form.instance)

    @admin.action(description=_("Generate class sessions"), permissions=["change"])
    def generate_sessions(self, request, queryset):
        created = sum(len(generate_class_sessions(course=course)) for course in queryset)
        self.message_user(request, ngettext("Created %d session.", "Created %d sessions.", created) % created)

    @admin.display(description=_("attendance"))
    def attendance_links(self, obj):
        if obj.pk is None:
            return "–"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("attendance:completion", args=[obj.pk]),
            _("Completion (students × sessions)"),
            reverse("attendance:export", args=[obj.pk]),
            _("Export CSV"),
        )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _slot_count=Count("slots", distinct=True),
                _active_registrations=Count("registrations", filter=ACTIVE_REGISTRATIONS, distinct=True),
            )
        )

    @admin.display(description=_("slots"), ordering="_slot_count")
    def slot_count(self, obj):
        return obj._slot_count

    @admin.display(description=_("registered"), ordering="_active_registrations")
    def active_registration_count(self, obj):
        return obj._active_registrations


class CoursePricingInline(admin.TabularInline):
    model = CoursePricing
    fields = ["pricing_type", "price"]
    extra = 0
    max_num = len(CoursePricing.PricingType)


@admin.register(CourseSlot)
class CourseSlotAdmin(BumpsCatalogVersion, admin.ModelAdmin):
    form = CourseSlotForm
    list_display = [
        "course",
        "when",
        "start_time",
        "end_time",
        "capacity",
        "active_registration_count",
        "price_list",
        "difficulty_level",
        "location",
    ]
    list_display_links = ["course", "when"]
    list_filter = ["course__course_type", "difficulty_level", "day_of_week", "course__is_active"]
    search_fields = ["course__name", "location"]
    list_select_related = ["course"]
    autocomplete_fields = ["course"]
    inlines = [CoursePricingInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if _adds_seats(form):
            offer_freed_seats_on_commit(obj)

    def get_readonly_fields(self, request, obj=None):
        # A slot's registrations and sessions name its course too: moving the slot would split them.
        return ["course"] if obj is not None else []

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_active_registrations=Count("registrations", filter=ACTIVE_REGISTRATIONS))
            .prefetch_related("prices")
        )

    @admin.display(description=_("weekday / date"), ordering="practice_date")
    def when(self, obj):
        return obj.practice_date or obj.get_day_of_week_display()

    @admin.display(description=_("registered"), ordering="_active_registrations")
    def active_registration_count(self, obj):
        return obj._active_registrations

    @admin.display(description=_("prices"))
    def price_list(self, obj):
        return ", ".join(str(price) for price in obj.prices.all())


@admin.register(CoursePricing)
class CoursePricingAdmin(BumpsCatalogVersion, admin.ModelAdmin):
    list_display = ["course_slot", "pricing_type", "price"]
    list_filter = ["pricing_type", "course_slot__course__course_type"]
    search_fields = ["course_slot__course__name"]
    list_select_related = ["course_slot__course"]
    autocomplete_fields = ["course_slot"]
