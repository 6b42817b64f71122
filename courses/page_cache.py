"""The catalog and course pages as anonymous visitors see them, rendered once and served from the cache.

A cached page is found by a key that changes whenever what it shows may change, so nothing is ever deleted and
every worker process (each with its own cache) stops using an old page at the same moment:

- the catalog version, a counter in the database (table courses_catalogversion, one row) that every write changing
  seats or courses bumps inside its own transaction (`bump_catalog_version`): the new key appears exactly when that
  transaction commits;
- the next moment a seat frees by itself: the earliest pending hold or waitlist offer still running. When it runs
  out the earliest one is another, so the key changes and nobody sees the run-out hold's seat as taken;
- the studio's date (courses end and class dates pass at midnight), every studio setting (name, registration
  open, payment methods, colours...) and the logo's upload time (a new or removed logo).

The key is read in one query per request. Pages are rendered with placeholders for what differs per visitor (the
CSRF token and the CSP nonce) which are filled in on the way out. Signed-in visitors, staff and anyone with a
message to show get a freshly rendered page.
"""

import datetime
import hashlib
import re

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template import RequestContext
from django.template.loader import get_template
from django.utils import timezone, translation

from dance_portal.models import StudioLogo
from registrations.models import Registration
from waitlist.models import WaitlistEntry

CACHE_SECONDS = 300  # a key not asked for in 5 minutes is dropped; correctness never depends on this
_CSRF_MARK = "pagecachecsrftoken0d41f8"
_NONCE_MARK = "pagecachecspnonce7be3c2"
_MARKS = (_CSRF_MARK, _NONCE_MARK)
_MARK_PATTERN = re.compile(f"({_CSRF_MARK}|{_NONCE_MARK})")

_STATE_SQL = f"""
SELECT
    (SELECT version FROM courses_catalogversion WHERE id = 1),
    (SELECT MIN(payment_due_at) FROM {Registration._meta.db_table}
        WHERE payment_status = %s AND payment_due_at > %s),
    (SELECT MIN(offer_expires_at) FROM {WaitlistEntry._meta.db_table}
        WHERE status = %s AND offer_expires_at > %s),
    (SELECT updated_at FROM {StudioLogo._meta.db_table} WHERE id = 1)
"""


def bump_catalog_version() -> None:
    """Mark every cached catalog and course page out of date once the current transaction commits.

    Call it inside the transaction of each write that changes seats, waitlists, courses, slots or prices, as its
    last statement: it locks the counter row until the commit.
    """
    with connection.cursor() as cursor:
        cursor.execute("UPDATE courses_catalogversion SET version = version + 1 WHERE id = 1")


def _state_key(now: datetime.datetime) -> str | None:
    """The part of the key read from the database, or None when the counter row is missing (then: no caching)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _STATE_SQL, [Registration.PaymentStatus.PENDING, now, WaitlistEntry.Status.OFFERED, now]
        )
        version, next_hold_end, next_offer_end, logo_updated_at = cursor.fetchone()
    if version is None:
        return None
    ends = [moment for moment in (next_hold_end, next_offer_end) if moment is not None]
    # Only compared for equality: SQLite returns text where PostgreSQL returns a datetime.
    next_change = str(min(ends)) if ends else ""
    today = timezone.localdate(now, timezone=timezone.get_default_timezone())
    return f"{version}:{next_change}:{today.isoformat()}:{logo_updated_at or ''}"


def cacheable(request) -> bool:
    """Anonymous GETs without a message waiting: everyone in that position sees the same page."""
    # Imported here: the portal imports registration code that imports this module's neighbours.
    from students.portal import signed_in_student

    return (
        request.method in ("GET", "HEAD")
        and not request.user.is_authenticated
        and not getattr(request, "htmx", False)
        and signed_in_student(request) is None
        and len(get_messages(request)) == 0
    )


def _render_with_marks(request, template_name: str, context: dict) -> str:
    """The page with placeholders where the CSRF token and the CSP nonce go."""
    marks = {"csrf_token": _CSRF_MARK, "csp_nonce": _NONCE_MARK, "messages": [], "studio": context["studio"]}
    template = get_template(template_name)
    # Extra processors run after the configured ones, so the marks replace the visitor's own values.
    return template.template.render(RequestContext(request, context, processors=[lambda request: marks]))


def _split_at_marks(html: str) -> list:
    """The page as encoded pieces, with the marks left as str between them: filling in is one join, no re-encoding."""
    return [piece if piece in _MARKS else piece.encode() for piece in _MARK_PATTERN.split(html)]


def _fill_marks(request, pieces: list) -> bytes:
    nonce = getattr(request, "_csp_nonce", None)
    values = {_CSRF_MARK: get_token(request).encode(), _NONCE_MARK: str(nonce).encode() if nonce is not None else b""}
    return b"".join(values[piece] if isinstance(piece, str) else piece for piece in pieces)


def cached_page(request, *, name: str, studio: dict, template_name: str, context) -> HttpResponse | None:
    """The page `name` from the cache, rendering and storing it on a miss; None when the database has no counter.

    `context` is a callable returning the template context; it runs only on a miss (it may raise Http404).
    """
    state = _state_key(timezone.now())
    if state is None:
        return None
    digest = hashlib.sha256(f"{state}|{sorted(studio.items())!r}".encode()).hexdigest()[:32]
    key = f"page:{name}:{translation.get_language()}:{digest}"
    pieces = cache.get(key)
    if pieces is None:
        pieces = _split_at_marks(_render_with_marks(request, template_name, context()))
        cache.set(key, pieces, CACHE_SECONDS)
    return HttpResponse(_fill_marks(request, pieces))
