import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache (LocMemCache in tests): every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def sign_in():
    """sign_in(client, student) signs `client` in to the portal the real way: a fresh link, posted."""
    from django.urls import reverse

    from students.services import make_sign_in_token

    def sign_in_as(client, student):
        response = client.post(reverse("students:sign_in", args=[make_sign_in_token(student)]))
        assert response.status_code == 302
        return client

    return sign_in_as
