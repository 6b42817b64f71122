"""The catalog and course pages as anonymous visitors see them, rendered once and served from the cache.

A cached page is found by a key that changes whenever what it shows may change, so nothing is ever deleted and
every worker process (each with its own copy) stops using an old page at the same moment:

- the catalog versions (courses.models.CatalogVersion, one row per course) that every write changing a course bumps
  inside its own transaction, so the new key appears exactly when that transaction commits. A change of its details,
  slots, prices or dates bumps its details version (courses.services.catalog_changed), which keys the page; a change
  of its seats only (a registration, a payment, a cancellation, a waitlist entry or offer) bumps only its version
  (courses.services.seats_changed). A course page is keyed by its own course's versions; the catalog by all of them;
- the studio's date (courses end and class dates pass at midnight), the logo's upload time (a new or removed logo)
  and the settings table's row count and latest change (name, registration open, payment methods, colours...: a
  setting saved, added or removed).

Seats are drawn into a stored page: it is rendered with a mark where each slot's count is put into words ("4 seats
left"), and the counts are kept beside it under the versions, seats included. After a change of seats the counts of
the courses whose version moved are taken again (a few small queries, no rendering; the catalog's other courses keep
theirs) and the same page is filled with them; the page is rendered again only when the change decides something
else on it: a slot or a drop-in date becoming full or free (which slots can be chosen, the waitlist form, the
catalog's button). Seats also free by themselves, when a pending hold or a
waitlist offer runs out: counts are kept with the moment the earliest hold or offer running when they were taken
runs out, and are taken again from then on, so nobody sees a run-out hold's seat as taken. They are also taken
again when one of the page's classes starts: a late joiner then pays for fewer classes, and the page is rendered
again with the price and the classes left.

Pages and counts live in the cache every worker and server shares (studio/cache.py), and each worker keeps the ones
it used last in its own memory too, so a page whose key and counts are unchanged costs one small query (the key).
The CSRF token and the CSP nonce differ per visitor: they are marks too, filled in on the way out. Signed-in
visitors, staff and anyone with a message to show get a freshly rendered page.
"""

import datetime
import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template import RequestContext
from django.template.loader import get_template
from django.utils import timezone, translation
from django.utils.html import conditional_escape

from courses.formatting import SeatsLater, seats_text
from courses.models import CatalogVersion, CourseSlot
from registrations.pricing import class_starts_at
from registrations.seats import next_seat_release, seat_counts
from registrations.selectors import walk_up_seats
from students.session import signed_in_student
from studio.models import StudioLogo, SystemSetting

CACHE_SECONDS = 300  # a key not asked for in 5 minutes is dropped; correctness never depends on this
LOCAL_ENTRIES = 256  # pages and counts a worker keeps in its own memory (the catalog's pages, the course pages)
# Marks live only between rendering a page and splitting it at them, in one process: random per process, so no text
# typed into a course (a description) can pass for one. A stored page holds the pieces, not the marks.
_MARK_SALT = secrets.token_hex(8)
_CSRF_MARK = f"pagecachecsrf{_MARK_SALT}"
_NONCE_MARK = f"pagecachenonce{_MARK_SALT}"
_SEATS_MARK = "pagecacheseats{}x" + _MARK_SALT  # one per slot: its count in words
_MARK_PATTERN = re.compile(f"({_CSRF_MARK}|{_NONCE_MARK}|pagecacheseats[0-9]+x{_MARK_SALT})")
_SEATS_MARK_SLOT = re.compile(f"pagecacheseats([0-9]+)x{_MARK_SALT}")

_VERSIONS = CatalogVersion._meta.db_table
# One pass over the versions (all courses' for the catalog; the course's own, picked out, for its page), with the
# logo and the settings: one small query (a third cheaper for PostgreSQL than a subquery per figure).
_STATE_SQL = f"""
SELECT
    COUNT(*), COALESCE(SUM(version), 0), MAX(changed_at),
    COUNT(*) FILTER (WHERE details_version > 0), COALESCE(SUM(details_version), 0), MAX(details_changed_at),
    MAX(CASE WHEN course_id = %s THEN version END), MAX(CASE WHEN course_id = %s THEN details_version END),
    (SELECT updated_at FROM {StudioLogo._meta.db_table} WHERE id = 1),
    (SELECT COUNT(*) FROM {SystemSetting._meta.db_table}),
    (SELECT MAX(updated_at) FROM {SystemSetting._meta.db_table})
FROM {_VERSIONS}
"""
# Whitespace between tags, collapsed when a page is stored (a fifth of the catalog); no <pre> or <textarea> here.
_BETWEEN_TAGS = re.compile(r">\s+<")


@dataclass(frozen=True)
class _State:
    page: str  # what the page shows but its seats: the details versions, the date, the logo, the settings
    seats: str  # every change, seats included: the versions


@dataclass(frozen=True)
class _SlotSeats:
    """What the counts need of a slot on a page: its seats are counted again without reading the slot."""

    slot_id: int
    course_id: int
    capacity: int
    practice_date: datetime.date | None  # a dated slot: a seat held on its one date is held on every date
    dates: tuple[datetime.date, ...]  # its upcoming class dates (a drop-in takes a seat on one)
    starts: tuple[datetime.datetime, ...]  # when each of them starts (a late joiner's price counts the classes left)

    def classes_left(self, now: datetime.datetime) -> int:
        return sum(start > now for start in self.starts)

    def next_start(self, now: datetime.datetime) -> datetime.datetime | None:
        return min((start for start in self.starts if start > now), default=None)


@dataclass(frozen=True)
class _Counts:
    """The seats of the slots on a page, as counted at the versions `state` (each course's in `versions`; None: not
    read, as after a render), good until `fresh_until`."""

    state: str
    versions: dict[int, int] | None
    fresh_until: datetime.datetime | None
    slots: tuple[_SlotSeats, ...]
    left: dict[int, int]  # slot id -> seats a walk-up may take for a full package
    words: dict[int, bytes]  # slot id -> those seats in words, escaped and encoded (in the key's language)
    full: dict[int, tuple]  # slot id -> the rest of what its seats decide: full or not, which dates, classes left
    shape: str  # all of `full`, as a digest: part of the stored page's key

    def current(self, state: str, now: datetime.datetime) -> bool:
        return self.state == state and (self.fresh_until is None or now < self.fresh_until)


def _state(now: datetime.datetime, *, course_id: int | None) -> _State:
    """The key's parts read from the database: for a course page (`course_id`) its course's versions, for the catalog
    every course's versions; the logo and the settings for both."""
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL, [course_id, course_id])
        (
            courses,
            versions,
            last_change,
            courses_with_details,
            details_versions,
            last_details_change,
            course_version,
            course_details_version,
            logo_updated_at,
            settings_count,
            settings_changed,
        ) = cursor.fetchone()
    # A new course adds a row, a deleted one takes its row away, every change adds one to a version and moves the
    # last change: together they tell every state of the catalog apart. (A first change of seats adds a row too,
    # without details: the page stays.)
    if course_id is None:
        details = f"{courses_with_details}:{details_versions}:{last_details_change}"
        seats = f"{courses}:{versions}:{last_change}"
    else:
        details, seats = f"course {course_details_version or 0}", f"course {course_version or 0}"
    today = timezone.localdate(now, timezone=timezone.get_default_timezone())
    # Only compared for equality: SQLite returns text where PostgreSQL returns a datetime.
    page = f"{details}:{today.isoformat()}:{logo_updated_at or ''}:{settings_count}:{settings_changed}"
    return _State(page=page, seats=seats)


def cacheable(request) -> bool:
    """Anonymous GETs without a message waiting: everyone in that position sees the same page."""
    return (
        request.method in ("GET", "HEAD")
        and not request.user.is_authenticated
        and not getattr(request, "htmx", False)
        and signed_in_student(request) is None
        and len(get_messages(request)) == 0
    )


# --- the counts ----------------------------------------------------------------------------------------------------


def _full(spec: _SlotSeats, left: int, by_date: dict, now: datetime.datetime) -> tuple:
    return (left > 0, tuple(by_date[day] > 0 for day in spec.dates), spec.classes_left(now))


def _shape(slots: tuple[_SlotSeats, ...], full: dict[int, tuple]) -> str:
    return hashlib.sha256(repr([(slot.slot_id, full[slot.slot_id]) for slot in slots]).encode()).hexdigest()[:16]


def _words(seats: int) -> bytes:
    """A count in words as the page prints it: worked out once per count, not per visitor."""
    return str(conditional_escape(seats_text(seats))).encode()


def _fresh_until(slots: tuple[_SlotSeats, ...], *, seat_release, now) -> datetime.datetime | None:
    """When the counts run out by themselves: a hold or an offer ends (`seat_release`), or one of the page's classes
    starts (a late joiner then pays for fewer classes, and the page says so)."""
    ends = [seat_release, *(slot.next_start(now) for slot in slots)]
    return min((end for end in ends if end is not None), default=None)


def _course_versions(course_ids: list[int]) -> dict[int, int]:
    if not course_ids:
        return {}
    with connection.cursor() as cursor:
        marks = ", ".join(["%s"] * len(course_ids))
        cursor.execute(f"SELECT course_id, version FROM {_VERSIONS} WHERE course_id IN ({marks})", course_ids)
        return dict(cursor.fetchall())


def _counts_of_page(slots: list, *, state: str, seat_release, now) -> _Counts:
    """The counts a page was just rendered with (its slots carry `seats_left` and `seats_by_date`)."""
    specs = tuple(
        _SlotSeats(
            slot_id=slot.pk,
            course_id=slot.course_id,
            capacity=slot.capacity,
            practice_date=slot.practice_date,
            dates=tuple(slot.upcoming_dates),
            starts=tuple(class_starts_at(slot, day) for day in slot.upcoming_dates),
        )
        for slot in slots
    )
    left = {slot.pk: int(slot.seats_left) for slot in slots}
    full = {
        spec.slot_id: _full(spec, left[spec.slot_id], slot.seats_by_date, now)
        for spec, slot in zip(specs, slots, strict=True)
    }
    return _Counts(
        state=state,
        versions=None,
        fresh_until=_fresh_until(specs, seat_release=seat_release, now=now),
        slots=specs,
        left=left,
        words={slot_id: _words(n) for slot_id, n in left.items()},
        full=full,
        shape=_shape(specs, full),
    )


def _count_again(old: _Counts, *, state: str, now: datetime.datetime) -> _Counts:
    """The seats of a page's slots now, counted by the one seat rule as the page's own reads count them: those of the
    courses whose version changed since `old` was counted (all of them when `old` ran out, or after a render)."""
    versions = _course_versions(sorted({spec.course_id for spec in old.slots}))  # read first, like the state
    ran_out = old.fresh_until is not None and now >= old.fresh_until
    if old.versions is None or ran_out:
        stale = old.slots
    else:
        stale = tuple(spec for spec in old.slots if versions.get(spec.course_id) != old.versions.get(spec.course_id))
    if not stale:  # a change elsewhere in the catalog: nothing on this page moved
        return replace(old, state=state, versions=versions)
    seat_release = next_seat_release(now=now)  # read first: a hold counted as running ends then or later
    slots = [
        CourseSlot(pk=spec.slot_id, course_id=spec.course_id, capacity=spec.capacity, practice_date=spec.practice_date)
        for spec in stale
    ]
    counts = seat_counts(slots, now=now, with_waiting=True)
    left, words, full = dict(old.left), dict(old.words), dict(old.full)
    for spec in stale:
        left[spec.slot_id], by_date = walk_up_seats(counts[spec.slot_id], spec.dates)
        words[spec.slot_id] = _words(left[spec.slot_id])
        full[spec.slot_id] = _full(spec, left[spec.slot_id], by_date, now)
    return _Counts(
        state=state,
        versions=versions,
        fresh_until=_fresh_until(old.slots, seat_release=seat_release, now=now),
        slots=old.slots,
        left=left,
        words=words,
        full=full,
        shape=_shape(old.slots, full),
    )


# --- the pages -----------------------------------------------------------------------------------------------------


def _render_with_marks(request, template_name: str, context: dict, slots: list) -> str:
    """The page with marks where the CSRF token, the CSP nonce and each slot's seats in words go."""
    for slot in slots:
        slot.seats_left = SeatsLater(slot.seats_left, _SEATS_MARK.format(slot.pk))
    marks = {"csrf_token": _CSRF_MARK, "csp_nonce": _NONCE_MARK, "messages": [], "studio": context["studio"]}
    template = get_template(template_name)
    # Extra processors run after the configured ones, so the marks replace the visitor's own values.
    html = template.template.render(RequestContext(request, context, processors=[lambda request: marks]))
    return _BETWEEN_TAGS.sub("> <", html)


_CSRF, _NONCE = "csrf", "nonce"  # what a stored page holds where a mark was: the same in every process


def _split_at_marks(html: str) -> tuple:
    """The page as encoded pieces, and between them what goes where each mark was: _CSRF, _NONCE, or a slot id (an
    int) for its seats in words. Filling in is one join, no re-encoding."""
    placeholders = {_CSRF_MARK: _CSRF, _NONCE_MARK: _NONCE}
    pieces = []
    for piece in _MARK_PATTERN.split(html):
        seats = _SEATS_MARK_SLOT.fullmatch(piece)
        pieces.append(int(seats.group(1)) if seats else placeholders.get(piece) or piece.encode())
    return tuple(pieces)


def _fill_marks(request, pieces: tuple, counts: _Counts) -> bytes:
    nonce = getattr(request, "_csp_nonce", None)
    values = {
        _CSRF: get_token(request).encode(),
        _NONCE: str(nonce).encode() if nonce is not None else b"",
        **counts.words,
    }
    return b"".join(piece if isinstance(piece, bytes) else values[piece] for piece in pieces)


# --- a worker's own memory ------------------------------------------------------------------------------------------

_local: OrderedDict = OrderedDict()  # by the shared cache's full key (with its prefix), the last used last
_local_lock = threading.Lock()  # a threaded server (runserver) shares it between requests


def _recall(key: str):
    return _local.get(cache.make_key(key))


def _remember(key: str, value) -> None:
    key = cache.make_key(key)
    with _local_lock:
        _local[key] = value
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def cached_page(request, *, name: str, course_id: int | None, template_name: str, context, seat_slots) -> HttpResponse:
    """The page `name` (of course `course_id`, or None for the catalog) from the cache, rendering and storing it when
    it is missing and counting its seats again when they may have changed.

    `context` is a callable returning the template context, with the settings as "studio"; it runs only when the page
    or its counts are missing (it may raise Http404). `seat_slots(context)`: the slots whose seats the page shows
    (each with `seats_left`, `seats_by_date` and `upcoming_dates`, as registrations.selectors reads them).
    """
    now = timezone.now()
    state = _state(now, course_id=course_id)
    base = f"page:{name}:{translation.get_language()}:{hashlib.sha256(state.page.encode()).hexdigest()[:32]}"
    counts_key = f"{base}:seats"
    counts = _recall(counts_key)
    if counts is None or not counts.current(state.seats, now):
        shared = cache.get(counts_key)
        if shared is not None and shared.current(state.seats, now):
            counts = shared
        elif shared is not None or counts is not None:
            counts = _count_again(shared or counts, state=state.seats, now=now)
            cache.set(counts_key, counts, CACHE_SECONDS)
        else:
            counts = None
    pieces = None
    if counts is not None:
        page_key = f"{base}:{counts.shape}"
        pieces = _recall(page_key)
        if pieces is None:
            pieces = cache.get(page_key)
    if pieces is None:
        # Rendered with the counts its own reads took; they are kept beside it.
        seat_release = next_seat_release(now=now)  # read first: a hold the page counts as running ends then or later
        values = context()
        slots = list(seat_slots(values))
        counts = _counts_of_page(slots, state=state.seats, seat_release=seat_release, now=now)
        pieces = _split_at_marks(_render_with_marks(request, template_name, values, slots))
        page_key = f"{base}:{counts.shape}"
        cache.set_many({page_key: pieces, counts_key: counts}, CACHE_SECONDS)
    _remember(counts_key, counts)
    _remember(page_key, pieces)
    return HttpResponse(_fill_marks(request, pieces, counts))
