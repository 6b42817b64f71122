"""Offer links are never stored (SECURITY.md "What is protected, and how"): the email log keeps the offer email with the
token removed; the email sent has a working link; a resend, while the offer is open, gives a new link that replaces the
old one."""

import datetime
import hashlib
import importlib
import re

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from registrations.transitions import cancel_registration
from studio.emails import LINK_SECRET_MARK, resend_email
from studio.models import EmailLog
from studio.tasks import deliver_email
from waitlist import offers, services
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import full_slot, student_details

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^/\s\"]+(/waitlist/offer/([^/\s\"]+)/)")
EMAIL_LOG = reverse("admin:studio_emaillog_changelist")


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(username="owner", email="owner@example.org", password=None)


@pytest.fixture
def offered(commit, mailoutbox):
    """A freed seat offered to waitera, its email delivered. Returns (entry, its log row, the path sent)."""
    slot = full_slot()
    services.join_waitlist(course=slot.course, details=student_details("a"))
    with commit():
        cancel_registration(registration=slot.seat_holders[0], reason="test")
    entry = WaitlistEntry.objects.get(student__email="waitera@example.org")
    log = EmailLog.objects.get(kind="waitlist_offer")
    message = next(m for m in mailoutbox if m.to == ["waitera@example.org"] and "/waitlist/offer/" in m.body)
    return entry, log, LINK.search(message.body).group(1)


def html_of(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


def test_the_email_log_keeps_the_offer_email_without_its_token(offered, mailoutbox):
    entry, log, path = offered
    token = path.split("/")[-2]

    log.refresh_from_db()
    assert log.status == EmailLog.Status.SENT
    assert token not in log.subject + log.body_text + log.body_html
    assert f"/waitlist/offer/{LINK_SECRET_MARK}/" in log.body_text
    assert f"/waitlist/offer/{LINK_SECRET_MARK}/" in log.body_html
    sent = next(m for m in mailoutbox if m.to == ["waitera@example.org"] and path in m.body)
    assert path in html_of(sent)
    # Stored: the token's hash, and the seed it is made from with SECRET_KEY; neither is the token.
    entry.refresh_from_db()
    assert entry.offer_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert entry.offer_token_seed and token not in entry.offer_token_seed


def test_the_sent_link_opens_the_offer_and_the_logged_one_does_not(client, offered):
    entry, log, path = offered
    logged = LINK.search(log.body_text).group(1)

    assert client.get(path).status_code == 200
    assert client.get(logged).status_code == 404


def test_the_token_cannot_be_made_without_the_secret_key(offered, settings):
    entry, _log, path = offered
    entry.refresh_from_db()
    settings.SECRET_KEY = "another-key-" + "y" * 40

    assert offers.offer_link_secret(entry) is None


def test_the_token_is_made_again_with_an_old_key_while_it_is_a_fallback(offered, settings):
    entry, _log, path = offered
    entry.refresh_from_db()
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "another-key-" + "y" * 40, [old]

    assert offers.offer_link_secret(entry) == path.split("/")[-2]


def test_resending_an_open_offer_sends_a_new_link_and_the_old_one_stops_working(
    admin_client, client, offered, mailoutbox, django_capture_on_commit_callbacks
):
    entry, log, old_path = offered
    old_hash = WaitlistEntry.objects.get(pk=entry.pk).offer_token_hash

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(EMAIL_LOG, {"action": "resend", "_selected_action": [log.pk]}, follow=True)

    assert "Resent 1 email." in response.content.decode()
    copy = EmailLog.objects.filter(kind="waitlist_offer").exclude(pk=log.pk).get()
    new_path = LINK.search(mailoutbox[-1].body).group(1)
    assert new_path != old_path
    assert WaitlistEntry.objects.get(pk=entry.pk).offer_token_hash != old_hash
    assert (copy.about_type, copy.about_id) == (ContentType.objects.get_for_model(WaitlistEntry), entry.pk)
    assert LINK_SECRET_MARK in copy.body_text and new_path.split("/")[-2] not in copy.body_text
    assert client.get(old_path).status_code == 404
    assert client.get(new_path).status_code == 200


@pytest.mark.parametrize("how", ["expired", "accepted", "declined"])
def test_an_offer_that_is_no_longer_open_is_not_resent(admin_client, offered, mailoutbox, how):
    entry, log, path = offered
    if how == "expired":
        WaitlistEntry.objects.filter(pk=entry.pk).update(
            offer_expires_at=timezone.now() - datetime.timedelta(minutes=1)
        )
    elif how == "accepted":
        offers.accept_offer(entry=entry, payment_method="venmo")
    else:
        offers.decline_offer(entry=entry)
    hash_before = WaitlistEntry.objects.get(pk=entry.pk).offer_token_hash
    sent_before = len(mailoutbox)

    response = admin_client.post(EMAIL_LOG, {"action": "resend", "_selected_action": [log.pk]}, follow=True)

    html = response.content.decode()
    assert "Not resent" in html and "no longer open" in html
    assert EmailLog.objects.filter(kind="waitlist_offer").count() == 1
    assert WaitlistEntry.objects.get(pk=entry.pk).offer_token_hash == hash_before
    assert len(mailoutbox) == sent_before


def test_an_offer_email_whose_link_cannot_be_made_again_fails_visibly(offered):
    """An offer made before links had seeds: its log row lost the token; the admin resends it (a new link)."""
    entry, log, _path = offered
    WaitlistEntry.objects.filter(pk=entry.pk).update(offer_token_seed="")
    EmailLog.objects.filter(pk=log.pk).update(status=EmailLog.Status.QUEUED, sent_at=None)

    deliver_email.call(log.pk)

    log.refresh_from_db()
    assert log.status == EmailLog.Status.FAILED
    assert "can no longer be made" in log.error
    copy = resend_email(log=log)  # the resend gives the offer a seed and a new link
    assert WaitlistEntry.objects.get(pk=entry.pk).offer_token_seed
    assert copy.status == EmailLog.Status.QUEUED


def test_the_migration_removes_the_tokens_of_offer_emails_already_in_the_log():
    token = offers.new_offer_token()[1]
    url = f"https://studio.example.org/waitlist/offer/{token}/"
    log = EmailLog.objects.create(
        kind="waitlist_offer",
        to_email="a@example.org",
        subject="A seat is free",
        body_text=f"Accept here:\n{url}\n",
        body_html=f'<a href="{url}">Accept</a>',
    )
    migration = importlib.import_module("waitlist.migrations.0005_offer_link_seed")

    migration.redact_offer_links(apps, None)

    log.refresh_from_db()
    assert token not in log.body_text + log.body_html
    assert log.body_text == f"Accept here:\nhttps://studio.example.org/waitlist/offer/{LINK_SECRET_MARK}/\n"
