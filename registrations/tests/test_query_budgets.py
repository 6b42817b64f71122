"""Query budgets that must not grow with the data: the admin registration changelist at two sizes (a page of 50
costs the same as a few), and the payment page with and without payments."""

from decimal import Decimal

import pytest

from registrations.tests.factories import PaymentFactory, RegistrationFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/registrations/registration/"
# Session, user, the course filter's choices, the paginator's count, the settings rows (the app list's "add
# setting" link), the page of rows, the date hierarchy's first and last dates (plus one MIN per further day with
# registrations: all are "today" here), and the studio's settings and logo for the admin's header.
CHANGELIST_QUERIES = 9


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


@pytest.mark.parametrize("registrations", [3, 120])
def test_registration_changelist_query_count_does_not_grow_with_the_registrations(
    registrations, admin_client, django_assert_max_num_queries
):
    RegistrationFactory.create_batch(registrations)
    admin_client.get(CHANGELIST)  # warm up: the first request may read content types

    with django_assert_max_num_queries(CHANGELIST_QUERIES):
        response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert response.content.decode().count('name="_selected_action"') == min(registrations, 50)


@pytest.mark.parametrize("registrations", [3, 120])
def test_registration_changelist_search_query_count_does_not_grow(
    registrations, admin_client, django_assert_max_num_queries
):
    RegistrationFactory.create_batch(registrations)
    admin_client.get(CHANGELIST)

    with django_assert_max_num_queries(CHANGELIST_QUERIES):
        response = admin_client.get(CHANGELIST, {"q": "example", "payment_status__exact": "pending"})

    assert response.status_code == 200


# The payment page: the registration with its ledger balance (one query, whatever its payments), the settings, the
# studio's closures (its dates) and the logo's upload time.
PAYMENT_PAGE_QUERIES = 4


@pytest.mark.parametrize("payments", [0, 5])
def test_payment_page_query_count_does_not_grow_with_the_payments(client, payments, django_assert_max_num_queries):
    registration = RegistrationFactory(payment_amount=Decimal("500.00"))
    for _ in range(payments):
        PaymentFactory(registration=registration, amount=Decimal("10.00"))

    with django_assert_max_num_queries(PAYMENT_PAGE_QUERIES):
        response = client.get(registration.get_absolute_url())

    assert response.status_code == 200
    assert ("still due" in response.content.decode()) is bool(payments)
