import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from studio.csv import csv_response, csv_safe


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1+cmd", "'+1+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("Zoë 💃", "Zoë 💃"),
        ("O'Brien", "O'Brien"),
        ("", ""),
        (None, ""),
        (3, 3),
        (Decimal("-5.00"), Decimal("-5.00")),
        (datetime.date(2025, 9, 1), "2025-09-01"),
        (datetime.time(19, 30), "19:30"),
    ],
)
def test_csv_safe_quotes_formula_starts_and_keeps_everything_else(value, expected):
    assert csv_safe(value) == expected


def test_csv_safe_writes_aware_datetimes_in_the_studio_time_zone(settings):
    moment = datetime.datetime(2025, 9, 1, 23, 30, tzinfo=datetime.UTC)

    with timezone.override(settings.TIME_ZONE):
        expected = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")

    assert csv_safe(moment) == expected


def test_csv_response_is_an_attachment_in_utf8_with_a_bom_and_quotes_cells():
    response = csv_response("export.csv", ["Name", "Note"], [["=cmd", 'say "hi", ok']])

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="export.csv"'
    assert response.content.decode("utf-8") == '\ufeffName,Note\r\n\'=cmd,"say ""hi"", ok"\r\n'
