"""The registration changelist of a studio with tens of thousands of registrations: Django's own, with a date
hierarchy and rows whose cost does not grow with the registrations (see change_list.html and
RegistrationAdmin.changelist_cells)."""

import copy
import datetime

from django.contrib.admin.templatetags.admin_list import ResultList, result_headers
from django.contrib.admin.views.main import ChangeList
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.html import format_html


def periods_with_rows(queryset, field_name: str, kind: str, bounds=None) -> list[datetime.datetime]:
    """The years, months or days (`kind`) in which `queryset` has a `field_name`, as `QuerySet.datetimes()` returns
    them, found with one MIN per such period on the field's index (registrations_created_desc_idx) instead of a
    DISTINCT DATE_TRUNC over every row. Each MIN starts past the last period found, so together they read the index
    at most once; the queries are one per period with rows (at most the 31 days of a month, 12 months, or the
    studio's years), not one per row. `bounds`: the first and last dates, when already read."""
    bounds = bounds or queryset.aggregate(first=Min(field_name), last=Max(field_name))
    periods = []
    moment = bounds["first"]
    while moment is not None:
        local = timezone.localtime(moment)
        start = datetime.datetime(local.year, local.month if kind != "year" else 1, local.day if kind == "day" else 1)
        if kind == "day":
            end = start + datetime.timedelta(days=1)
        elif kind == "month":
            end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
        else:
            end = start.replace(year=start.year + 1)
        periods.append(timezone.make_aware(start))
        end = timezone.make_aware(end)
        if end > bounds["last"]:
            break
        moment = queryset.filter(**{f"{field_name}__gte": end}).aggregate(first=Min(field_name))["first"]
    return periods


class _PeriodsByIndex:
    """What Django's date_hierarchy() reads of `cl.queryset`, with datetimes() answered by periods_with_rows()."""

    def __init__(self, queryset):
        self.queryset = queryset
        self.bounds = None

    def aggregate(self, *args, **kwargs):
        result = self.queryset.aggregate(*args, **kwargs)
        # date_hierarchy() first reads the first and last dates (to pick the level): they are where the walk starts,
        # and reading them again would repeat the changelist's search.
        if set(result) == {"first", "last"}:
            self.bounds = result
        return result

    def datetimes(self, field_name, kind):
        return periods_with_rows(self.queryset, field_name, kind, bounds=self.bounds)


class RegistrationChangeList(ChangeList):
    """Django's changelist; the template asks it for a date hierarchy and rows whose cost does not grow with the
    registrations (see change_list.html)."""

    def for_date_hierarchy(self):
        """This changelist for {% date_hierarchy %}: the same links, without a DISTINCT over every registration."""
        changelist = copy.copy(self)
        changelist.queryset = _PeriodsByIndex(self.queryset)
        return changelist

    def fast_result_list(self):
        """{% result_list %}'s context with the rows rendered by RegistrationAdmin.changelist_cells(): the same HTML
        at a fraction of the cost. None (use Django's) for a page those cells do not describe."""
        if self.formset or self.is_popup or list(self.list_display_links) != ["reference"]:
            return None
        cells = self.model_admin.changelist_cells(self)
        if not all(name in cells for name in self.list_display):
            return None
        # One format_html() a row: the cells' HTML once, each value escaped as format_html() does.
        row = "".join(cells[name][0] for name in self.list_display)
        values = [cells[name][1] for name in self.list_display]
        headers = list(result_headers(self))
        return {
            "cl": self,
            "result_hidden_fields": [],
            "result_headers": headers,
            "num_sorted_fields": sum(1 for header in headers if header["sortable"] and header["sorted"]),
            "results": [
                ResultList(None, [format_html(row, *(value(registration) for value in values))])
                for registration in self.result_list
            ],
        }
