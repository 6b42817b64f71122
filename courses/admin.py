"""Admin for courses, their time slots and prices. Every save and delete goes through courses/services.py.

Slots and their prices are edited on the course page. Django has no nested inlines (course → slot → price), and a
slot has at most two prices, one per pricing type, so the slot inline's form carries two extra money fields,
`full_package_price` and `drop_in_price`, saved with the slot: a value creates or updates that price row, a blank
removes it. Every price is still a `CoursePricing` row (also editable on the slot's own admin page, where prices are a
plain inline).

What the course page shows of registrations and attendance (counts, completion links, "Generate class sessions") is
added by the project's admin (dance_portal/admin.py), which stands above those apps.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from courses import services
from courses.admin_columns import day_field, moment_field, money_field
from courses.formatting import slot_when
from courses.models import Closure, Course, CoursePricing, CourseSlot

# Form field → the price row it edits.
PRICE_FIELDS = {
    "full_package_price": CoursePricing.PricingType.FULL_PACKAGE,
    "drop_in_price": CoursePricing.PricingType.DROP_IN,
}
SLOT_FIELDS = ["day_of_week", "practice_date", "start_time", "end_time", "capacity", "difficulty_level", "location"]


class CourseSlotForm(forms.ModelForm):
    """A slot; refuses a capacity below the seats taken (nobody is turned away by lowering it)."""

    class Meta:
        model = CourseSlot
        fields = ["course", *SLOT_FIELDS]

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        try:
            services.check_capacity(slot=self.instance, capacity=capacity)
        except ValidationError as error:
            raise ValidationError(error.message_dict["capacity"]) from None
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
        widget=forms.TextInput(attrs={"size": 7, "inputmode": "decimal"}),
    )
    drop_in_price = forms.DecimalField(
        label=_("drop-in price"),
        required=False,
        min_value=0,
        max_digits=8,
        decimal_places=2,
        widget=forms.TextInput(attrs={"size": 7, "inputmode": "decimal"}),
    )

    class Meta(CourseSlotForm.Meta):
        fields = SLOT_FIELDS
        # Narrow, so the price columns fit on the course page without scrolling sideways.
        widgets = {"location": forms.TextInput(attrs={"size": 12})}

    def __init__(self, *args, parent_course=None, **kwargs):
        super().__init__(*args, **kwargs)
        if parent_course is not None:
            # Check the slot against the course as submitted on this page, not as it is stored.
            self.instance.course = parent_course
        if self.instance.pk is not None:
            stored = {price.pricing_type: price.price for price in self.instance.prices.all()}
            for field, pricing_type in PRICE_FIELDS.items():
                self.initial.setdefault(field, stored.get(pricing_type))

    @property
    def prices(self) -> dict:
        """Pricing type -> the price typed (None: no such price), for services.save_slot."""
        return {pricing_type: self.cleaned_data.get(field) for field, pricing_type in PRICE_FIELDS.items()}


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


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "course_type",
        "required_student_type",
        "starts",
        "ends",
        "is_active",
        "slot_count",
        "instructor",
        "level",
    ]
    list_filter = ["is_active", "course_type", "required_student_type"]
    search_fields = ["name", "instructor", "level"]
    date_hierarchy = "start_date"
    starts = day_field("start_date", _("start date"))
    ends = day_field("end_date", _("end date"))
    created = moment_field("created_at", _("created at"))
    updated = moment_field("updated_at", _("updated at"))
    readonly_fields = ["created", "updated"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "course_type",
                    "required_student_type",
                    "is_active",
                    "makeup_policy",
                    ("start_date", "end_date"),
                    "instructor",
                    "level",
                    "description",
                ]
            },
        ),
        (_("History"), {"fields": ["created", "updated"]}),
    ]
    inlines = [CourseSlotInline]

    def save_model(self, request, obj, form, change):
        services.save_course(course=obj)

    def delete_model(self, request, obj):
        services.delete_course(course=obj)

    def delete_queryset(self, request, queryset):
        for course in queryset:
            services.delete_course(course=course)

    def save_formset(self, request, form, formset, change):
        if formset.model is not CourseSlot:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # applies each form's values to its slot; the services write them
        for slot in formset.deleted_objects:
            services.delete_slot(slot=slot)
        for slot_form in formset.forms:
            if slot_form in formset.deleted_forms or not slot_form.has_changed():
                continue
            services.save_slot(slot=slot_form.instance, prices=slot_form.prices)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_slot_count=Count("slots", distinct=True))

    @admin.display(description=_("slots"), ordering="_slot_count")
    def slot_count(self, obj):
        return obj._slot_count


class CoursePricingInline(admin.TabularInline):
    model = CoursePricing
    fields = ["pricing_type", "price"]
    extra = 0
    max_num = len(CoursePricing.PricingType)


@admin.register(CourseSlot)
class CourseSlotAdmin(admin.ModelAdmin):
    form = CourseSlotForm
    list_display = [
        "course",
        "when",
        "capacity",
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
        services.save_slot(slot=obj)

    def delete_model(self, request, obj):
        services.delete_slot(slot=obj)

    def delete_queryset(self, request, queryset):
        for slot in queryset:
            services.delete_slot(slot=slot)

    def save_formset(self, request, form, formset, change):
        formset.save(commit=False)
        for price in formset.deleted_objects:
            services.delete_price(price=price)
        for price in [*formset.new_objects, *(obj for obj, _changed in formset.changed_objects)]:
            services.save_price(price=price)

    def get_readonly_fields(self, request, obj=None):
        # A slot's registrations and sessions name its course too: moving the slot would split them.
        return ["course"] if obj is not None else []

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("prices")

    @admin.display(description=_("when"), ordering="practice_date")
    def when(self, obj):
        return slot_when(obj)

    @admin.display(description=_("prices"))
    def price_list(self, obj):
        return ", ".join(str(price) for price in obj.prices.all())


@admin.register(CoursePricing)
class CoursePricingAdmin(admin.ModelAdmin):
    list_display = ["course_slot", "pricing_type", "amount"]
    list_filter = ["pricing_type", "course_slot__course__course_type"]
    search_fields = ["course_slot__course__name"]
    list_select_related = ["course_slot__course"]
    autocomplete_fields = ["course_slot"]
    amount = money_field("price", _("price"))

    def save_model(self, request, obj, form, change):
        services.save_price(price=obj)

    def delete_model(self, request, obj):
        services.delete_price(price=obj)

    def delete_queryset(self, request, queryset):
        for price in queryset:
            services.delete_price(price=price)


class ClosureForm(forms.ModelForm):
    class Meta:
        model = Closure
        fields = ["date", "reason"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and "date" not in self.errors:  # a stored closure's date does not change
            self.instance.date = cleaned.get("date")
            try:
                services.check_closure(closure=self.instance)
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    """Days the studio is closed: entered once, skipped by every course (sessions, class counts, drop-in dates)."""

    form = ClosureForm
    list_display = ["date", "reason", "created_at"]
    date_hierarchy = "date"
    search_fields = ["reason"]

    def get_readonly_fields(self, request, obj=None):
        # A closure is a day: to move it, remove it and add the new one (its sessions were canceled for that day).
        return ["date"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            obj.full_clean()
            obj.save(update_fields=["reason"])
        else:
            services.add_closure(closure=obj)

    def delete_model(self, request, obj):
        services.remove_closure(closure=obj)

    def delete_queryset(self, request, queryset):
        for closure in queryset:
            services.remove_closure(closure=closure)
