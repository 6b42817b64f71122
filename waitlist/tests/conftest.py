import pytest


@pytest.fixture(autouse=True)
def _no_swallowed_on_commit_errors(caplog):
    """Robust on_commit callbacks (offers, emails) only log their errors: a test fails if one did."""
    yield
    failures = [record.getMessage() for record in caplog.records if "in on_commit()" in record.getMessage()]
    assert not failures, failures


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """`with commit():` runs the on_commit work (emails, offers of freed seats) of the block, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
