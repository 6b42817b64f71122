"""The one CSV writer of the portal's exports: UTF-8 with a BOM (Excel reads accents) and safe against
spreadsheet formula injection (docs/bad-inputs.md #27, ASVS 5.0 1.2.10)."""

import csv
import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone

# A cell starting with one of these is read as a formula by Excel, LibreOffice or Google Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str | int | Decimal:
    """A cell a spreadsheet shows as text: a string starting with = + - @ TAB or CR gets a leading quote.

    Numbers stay numbers; None is empty; dates and times are written in the studio's time zone.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M")
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_response(filename: str, header: Iterable, rows: Iterable[Iterable]) -> HttpResponse:
    """An attachment `filename` with one header row and `rows`, every cell passed through csv_safe()."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    # The filename is ours (ASCII, no quotes): never built from user input.
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([csv_safe(cell) for cell in header])
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    return response
