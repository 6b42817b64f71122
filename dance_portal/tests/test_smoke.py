import pytest

from attendance.tests.factories import AttendanceRecordFactory
from registrations.tests.factories import RegistrationFactory
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db


def test_factories_build_valid_rows():
    registration = RegistrationFactory()
    AttendanceRecordFactory()
    WaitlistEntryFactory()
    registration.full_clean()
    assert registration.reference.startswith("DRP-")


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
