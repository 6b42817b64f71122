"""Admin list columns and read-only fields that write a row's moments, dates and money the portal's one way
(courses/formatting.py: "Fri, Nov 27, 10:30 am", "Tue, Sep 1", "$2,058.00"), not Django's "Nov. 27, 2026, 10:30 a.m."
and "2058.00". Each is a ModelAdmin attribute, named in list_display or readonly_fields like any other:

    held_until = moment_field("payment_due_at", _("seat held until"))
"""

from collections.abc import Callable

from django.contrib import admin

from courses import formatting


def formatted_field(field_name: str, description, formatter: Callable, *, ordering: bool = True):
    """A column or read-only field showing `formatter(obj.<field_name>)`, sorted by the field; the admin's empty value
    ("-") when there is nothing to show."""

    @admin.display(description=description, ordering=field_name if ordering else None)
    def column(self, obj):
        # The empty value itself: a read-only field would show None as "None".
        return formatter(getattr(obj, field_name)) or self.get_empty_value_display()

    column.__name__ = f"{field_name}_in_words"
    return column


def moment_field(field_name: str, description, **kwargs):
    return formatted_field(field_name, description, formatting.moment, **kwargs)


def day_field(field_name: str, description, **kwargs):
    return formatted_field(field_name, description, formatting.day, **kwargs)


def money_field(field_name: str, description, **kwargs):
    return formatted_field(field_name, description, formatting.money, **kwargs)
