"""The catalog and course pages as anonymous visitors see them, rendered once and served from the cache.

A cached page is found by a key that changes whenever what it shows may change, so nothing is ever deleted and
every worker process (each with its own cache) stops using an old page at the same moment:

- the catalog versions (courses.models.CatalogVersion, one row per course) that every write changing a course's
  details, slots, prices or seats bumps inside its own transaction (courses.services.catalog_changed): the new key
  appears exactly when that transaction commits. A course page is keyed by its course's version, so a seat taken in
  one course leaves every other course's page cached; the catalog by all of them;
- the studio's date (courses end and class dates pass at midnight), the logo's upload time (a new or removed logo)
  and the settings table's row count and latest change (name, registration open, payment methods, colours...: a
  setting saved, added or removed).

Seats also free by themselves, when a pending hold or a waitlist offer runs out. So a page is stored with the moment
the earliest hold or offer running when it was rendered runs out, and is rendered again from then on: nobody sees a
run-out hold's seat as taken. (A hold or offer made later bumps the catalog version, so it has a new page anyway.)

The key is read in one small query per request; the settings are read only to render a page that is missing.
Pages are rendered with placeholders for what differs per visitor (the CSRF token and the CSP nonce) which are filled
in on the way out. Signed-in visitors, staff and anyone with a message to show get a freshly rendered page.
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

from courses.models import CatalogVersion
from registrations.seats import next_seat_release
from students.session import signed_in_student
from studio.models import StudioLogo, SystemSetting

CACHE_SECONDS = 300  # a key not asked for in 5 minutes is dropped; correctness never depends on this
_CSRF_MARK = "pagecachecsrftoken0d41f8"
_NONCE_MARK = "pagecachecspnonce7be3c2"
_MARKS = (_CSRF_MARK, _NONCE_MARK)
_MARK_PATTERN = re.compile(f"({_CSRF_MARK}|{_NONCE_MARK})")

# The versions (all courses' for the catalog, one course's for its page), the logo and the settings, in one query.
_VERSIONS = CatalogVersion._meta.db_table
_STATE_SQL = f"""
SELECT
    (SELECT COUNT(*) FROM {_VERSIONS}),
    (SELECT SUM(version) FROM {_VERSIONS}),
    (SELECT MAX(changed_at) FROM {_VERSIONS}),
    (SELECT version FROM {_VERSIONS} WHERE course_id = %s),
    (SELECT updated_at FROM {StudioLogo._meta.db_table} WHERE id = 1),
    (SELECT COUNT(*) FROM {SystemSetting._meta.db_table}),
    (SELECT MAX(updated_at) FROM {SystemSetting._meta.db_table})
"""
# Whitespace between tags, collapsed when a page is stored (a fifth of the catalog); no <pre> or <textarea> here.
_BETWEEN_TAGS = re.compile(r">\s+<")


def _state_key(now: datetime.datetime, *, course_id: int | None) -> str:
    """The part of the key read from the database: for a course page (`course_id`) its course's version, for the
    catalog every course's versions; the logo and the settings for both."""
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL, [course_id])
        courses, versions, last_change, course_version, logo_updated_at, settings_count, settings_changed = (
            cursor.fetchone()
        )
    # A new course adds a row, a deleted one takes its row away, every change adds one to a version and moves the
    # last change: together they tell every state of the catalog apart.
    versions = f"{courses}:{versions}:{last_change}" if course_id is None else f"course {course_version or 0}"
    today = timezone.localdate(now, timezone=timezone.get_default_timezone())
    # Only compared for equality: SQLite returns text where PostgreSQL returns a datetime.
    return f"{versions}:{today.isoformat()}:{logo_updated_at or ''}:{settings_count}:{settings_changed}"


def cacheable(request) -> bool:
    """Anonymous GETs without a message waiting: everyone in that position sees the same page."""
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
    html = template.template.render(RequestContext(request, context, processors=[lambda request: marks]))
    return _BETWEEN_TAGS.sub("> <", html)


def _split_at_marks(html: str) -> list:
    """The page as encoded pieces, with the marks left as str between them: filling in is one join, no re-encoding."""
    return [piece if piece in _MARKS else piece.encode() for piece in _MARK_PATTERN.split(html)]


def _fill_marks(request, pieces: list) -> bytes:
    nonce = getattr(request, "_csp_nonce", None)
    values = {_CSRF_MARK: get_token(request).encode(), _NONCE_MARK: str(nonce).encode() if nonce is not None else b""}
    return b"".join(values[piece] if isinstance(piece, str) else piece for piece in pieces)


def cached_page(request, *, name: str, course_id: int | None, template_name: str, context) -> HttpResponse:
    """The page `name` (of course `course_id`, or None for the catalog) from the cache, rendering and storing it on a
    miss.

    `context` is a callable returning the template context, with the settings as "studio"; it runs only on a miss
    (it may raise Http404).
    """
    now = timezone.now()
    state = _state_key(now, course_id=course_id)
    digest = hashlib.sha256(state.encode()).hexdigest()[:32]
    key = f"page:{name}:{translation.get_language()}:{digest}"
    stored = cache.get(key)
    if stored is None or (stored[0] is not None and now >= stored[0]):
        # Read before rendering: a hold the page counts as running ends at this moment or later.
        fresh_until = next_seat_release(now=now)
        stored = (fresh_until, _split_at_marks(_render_with_marks(request, template_name, context())))
        cache.set(key, stored, CACHE_SECONDS)
    return HttpResponse(_fill_marks(request, stored[1]))
