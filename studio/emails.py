"""Render, record and queue the portal's emails (README "How the studio runs").

Every email is rendered from templates/emails/<kind>_subject.txt, <kind>.txt and <kind>.html in the studio's
time zone, recorded as an EmailLog row and delivered by the `deliver_email` task after the transaction commits.

`send_email` renders the email at once. `queue_email` (kinds whose context their app can make again from the row
the email is about, `register_email_context`) records the row in the caller's transaction and leaves the rendering
to the delivery, after the commit: the row is there whatever happens to the process once the transaction commits,
and the transaction (a registration holding its slot's lock) spends no time on templates. A row not rendered yet
has an empty text body (`is_rendered`); whatever reads its bodies before the delivery (a resend) renders it first.

Links that let their holder in (a portal sign-in link, a waitlist offer) are never stored: the email log keeps the
email with the secret part of the link replaced by LINK_SECRET_MARK, and the delivery puts a live secret back in,
made again by the app the link belongs to (`register_secret_link`, called from its AppConfig.ready()). A resend
asks that app for a fresh link first, and is refused when none can be given (an offer no longer open).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from studio.branding import logo_url
from studio.config import studio_settings
from studio.models import EmailLog

logger = logging.getLogger(__name__)

SUBJECT_MAX_LENGTH = EmailLog._meta.get_field("subject").max_length
# What the email log shows where a link's secret was: "https://…/me/sign-in/LINK-SECRET-REMOVED/".
LINK_SECRET_MARK = "LINK-SECRET-REMOVED"


class ResendRefused(Exception):
    """This email cannot be sent again; str(error) says why, for the admin."""


class LinkUnavailable(Exception):
    """The secret link removed from a logged email cannot be made again; str(error) says so, for the email log."""


@dataclass(frozen=True)
class SecretLink:
    """How the app of a kind of email makes the secret of its link, which the email log does not keep.

    current(about, to): the secret to put in the email now, for the row it is about and the address it goes to (None:
    none can be made).
    renew(about, to): before a resend, make a fresh link (voiding the old one where the app can); raise ResendRefused
    when the email must not go out again."""

    current: Callable[[models.Model | None, str], str | None]
    renew: Callable[[models.Model | None, str], None]


_secret_links: dict[str, SecretLink] = {}


def register_secret_link(kind: str, *, current, renew) -> None:
    """Emails of `kind` carry a secret link: stored without it, delivered with `current(about, to)` (see SecretLink)."""
    _secret_links[kind] = SecretLink(current=current, renew=renew)


class EmailUnrenderable(Exception):
    """An email recorded to be rendered later cannot be: its kind has no context maker or its row is gone."""


_contexts: dict[str, Callable[[models.Model], dict]] = {}


def register_email_context(kind: str, build: Callable[[models.Model], dict]) -> None:
    """Emails of `kind` can be rendered after the commit (`queue_email`): `build(about)` makes their context from the
    row they are about, as it is when they are rendered."""
    _contexts[kind] = build


def is_rendered(log: EmailLog) -> bool:
    """False for an email recorded by `queue_email` and not rendered yet; a rendered text body is never empty."""
    return bool(log.body_text)


def render_logged(log: EmailLog) -> EmailLog:
    """Render an email recorded by `queue_email` from the row it is about, and store its subject and bodies (once: of
    two renderings at the same time, the first stored wins and both return it). A rendered email is returned as is.

    Raises EmailUnrenderable when it cannot be rendered."""
    if is_rendered(log):
        return log
    build, about = _contexts.get(log.kind), log.about
    if build is None or about is None:
        raise EmailUnrenderable(f"The {kind_label(log.kind)} email cannot be written: what it was about is gone.")
    subject, body_text, body_html = render_email(kind=log.kind, context=build(about))
    stored = EmailLog.objects.filter(pk=log.pk, body_text="").update(
        subject=subject, body_text=body_text, body_html=body_html
    )
    if stored:
        log.subject, log.body_text, log.body_html = subject, body_text, body_html
    else:
        log.refresh_from_db(fields=["subject", "body_text", "body_html"])
    return log


def redact(text: str, secret: str) -> str:
    return text.replace(secret, LINK_SECRET_MARK)


def with_live_secret(log: EmailLog) -> tuple[str, str, str]:
    """(subject, text, HTML) of `log` as they are sent: the link's secret put back in, made by its app now.

    Raises LinkUnavailable when the email has a removed secret that its app can no longer make."""
    parts = (log.subject, log.body_text, log.body_html)
    if not any(LINK_SECRET_MARK in part for part in parts):
        return parts
    link = _secret_links.get(log.kind)
    secret = link.current(log.about, log.to_email) if link is not None else None
    if not secret:
        raise LinkUnavailable(
            "The link in this email was removed from the log and can no longer be made (the row it was for has "
            "changed or gone): use Resend."
        )
    return tuple(part.replace(LINK_SECRET_MARK, secret) for part in parts)


def message_id(log: EmailLog) -> str:
    """The email's Message-ID, the same for every attempt to send one EmailLog row, so a duplicate is recognisable."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<emaillog-{log.pk}@{host}>"


# What each kind of email is called in the email log: the one list of them (templates/emails/<kind>*). A kind missing
# here still reads as words ("class_reminder" → "Class reminder"); add it to give it a label of its own.
KIND_LABELS = {
    "registration_received": _("Registration received"),
    "already_registered": _("Already registered"),
    "payment_confirmed": _("Payment confirmed"),
    "payment_partial": _("Part of a payment received"),
    "registration_confirmed": _("Registered for a free class"),
    "registration_canceled": _("Registration canceled"),
    "hold_expiring": _("Seat hold running out"),
    "hold_expired": _("Seat hold ran out"),
    "waitlist_joined": _("Joined the waitlist"),
    "waitlist_offer": _("Waitlist offer"),
    "offer_expired": _("Waitlist offer ran out"),
    "session_canceled": _("Class canceled"),
    "sign_in_link": _("Portal sign-in link"),
    "class_message": _("Message to a class"),
    "class_reminder": _("Class reminder"),
    "makeup_booked": _("Make-up class booked"),
}


def kind_label(kind: str) -> str:
    """The email log's name for a kind of email: "Payment confirmed" for "payment_confirmed"."""
    return str(KIND_LABELS.get(kind) or kind.replace("_", " ").strip().capitalize())


def one_line(text: str) -> str:
    """Collapse whitespace, CR and LF included, so a value is safe in a header line."""
    return " ".join(str(text).split())


def render_email(*, kind: str, context: dict) -> tuple[str, str, str]:
    """Subject, text and HTML of an email, rendered in the studio's time zone with the studio's settings."""
    context = {"studio": studio_settings(), "site_url": settings.SITE_URL, "studio_logo_url": logo_url(), **context}
    with timezone.override(settings.TIME_ZONE):
        subject = render_to_string(f"emails/{kind}_subject.txt", context)
        body_text = render_to_string(f"emails/{kind}.txt", context)
        body_html = render_to_string(f"emails/{kind}.html", context)
    return one_line(subject)[:SUBJECT_MAX_LENGTH], body_text.strip() + "\n", body_html


# A student whose personal data is erased keeps their row (and so their place on rosters) with this address, which
# no mail server accepts (.invalid, RFC 2606): never send it anything. The studio floor knows the rule by the address
# alone, so every sender, whatever app it is in, keeps it without asking the students app.
ERASED_DOMAIN = "erased.invalid"


def erased_address(number: int) -> str:
    """The placeholder address of an erased student (students.services.anonymise_student)."""
    return f"erased-{number}@{ERASED_DOMAIN}"


def is_erased_address(address: str) -> bool:
    """Whether `address` is an erased student's placeholder: emails to it are recorded as skipped, never sent."""
    return str(address).rpartition("@")[2].lower() == ERASED_DOMAIN


def _status_for(to: str) -> str:
    """Queued, or skipped when notifications are off or the address is an erased student's."""
    if not studio_settings().email_notifications_enabled or is_erased_address(to):
        return EmailLog.Status.SKIPPED
    return EmailLog.Status.QUEUED


def send_email(
    *,
    kind: str,
    to: str,
    context: dict,
    dedupe_key: str | None = None,
    about: models.Model | None = None,
    secret: str | None = None,
) -> EmailLog | None:
    """Record an email and send it after commit; skipped when notifications are off or `to` is an erased student's
    placeholder (is_erased_address), None when `dedupe_key` was used.

    `about`: the row the email is about (a registration, a waitlist entry...), linked from the email log.
    `secret`: the secret part of a link in the email (its kind registered with register_secret_link): the log keeps
    the email without it.

    The key is checked by inserting the row (a unique column), not by reading first: the usual first use costs no
    extra query, and a repeat is rendered for nothing but still not recorded or sent.
    """
    subject, body_text, body_html = render_email(kind=kind, context=context)
    if secret:
        if kind not in _secret_links:
            raise RuntimeError(f"Emails of kind {kind!r} have no registered secret link: it could not be sent.")
        subject, body_text, body_html = (redact(part, secret) for part in (subject, body_text, body_html))
    status = _status_for(to)
    log = EmailLog(
        kind=kind,
        to_email=to,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        status=status,
        dedupe_key=dedupe_key,
        about=about,
    )
    return _record(log, savepoint=True)


def queue_email(
    *, kind: str, to: str, about: models.Model, dedupe_key: str | None = None, key_is_new: bool = False
) -> EmailLog | None:
    """Record an email about `about` now and render it after the commit, when it is delivered (see the module); its
    kind's context is made from `about` then (register_email_context). None when `dedupe_key` was used.

    `key_is_new`: the dedupe key names a row this transaction created, so no one can have used it: the row is
    inserted without the savepoint that guards against a race on the key (two statements fewer).

    With notifications off nothing is delivered, so the email is rendered now, as `send_email` does.
    """
    build = _contexts.get(kind)
    if build is None or kind in _secret_links:
        raise RuntimeError(f"Emails of kind {kind!r} cannot be rendered later: use send_email().")
    if _status_for(to) == EmailLog.Status.SKIPPED:  # rendered now: nothing will deliver it
        return send_email(kind=kind, to=to, context=build(about), dedupe_key=dedupe_key, about=about)
    log = EmailLog(
        kind=kind,
        to_email=to,
        subject="",
        body_text="",
        body_html="",
        status=EmailLog.Status.QUEUED,
        dedupe_key=dedupe_key,
        about=about,
    )
    return _record(log, savepoint=not key_is_new)


def _record(log: EmailLog, *, savepoint: bool) -> EmailLog | None:
    """Insert the row and deliver it after the commit if it is queued; None when its dedupe key was used."""
    if not savepoint:
        log.save()
    else:
        try:
            # A savepoint: two requests racing on one dedupe key must not break the caller's transaction.
            with transaction.atomic():
                log.save()
        except IntegrityError:
            if log.dedupe_key is not None and EmailLog.objects.filter(dedupe_key=log.dedupe_key).exists():
                return None  # sent already, or by a request racing this one
            raise
    if log.status == EmailLog.Status.QUEUED:
        _deliver_on_commit(log)
    return log


def resend_email(*, log: EmailLog) -> EmailLog:
    """Record a copy of an email (no dedupe key, the same subject of the email) and deliver it after the commit;
    recorded as skipped when notifications are off or the address is an erased student's. An email with a secret link
    gets a fresh link (its app's renew); raises ResendRefused when its app refuses (an offer no longer open, a
    student's address changed)."""
    try:
        log = render_logged(log)  # an email recorded to be rendered later, not delivered yet
    except EmailUnrenderable as error:
        raise ResendRefused(str(error)) from None
    status = _status_for(log.to_email)
    enabled = status == EmailLog.Status.QUEUED
    copy = EmailLog(
        kind=log.kind,
        to_email=log.to_email,
        subject=log.subject,
        body_text=log.body_text,
        body_html=log.body_html,
        status=status,
        about_type_id=log.about_type_id,
        about_id=log.about_id,
    )
    link = _secret_links.get(log.kind)
    with transaction.atomic():
        if link is not None and enabled:
            link.renew(log.about, log.to_email)
        copy.save()
        if enabled:
            _deliver_on_commit(copy)
    return copy


def _deliver_on_commit(log: EmailLog) -> None:
    from studio.tasks import deliver_email

    # Robust: a queue that is down must not turn a committed registration into an error page; the row stays queued.
    transaction.on_commit(partial(deliver_email.enqueue, log.pk), robust=True)


REDACTED = "(erased)"


def redact_emails_to(*, address: str, placeholder: str) -> int:
    """Erase what the email log holds of a person: the address becomes `placeholder` and the bodies are dropped (the
    kind, subject, time and status stay, so the log still counts what was sent). Returns how many rows."""
    return EmailLog.objects.filter(to_email=address).update(to_email=placeholder, body_text=REDACTED, body_html="")
