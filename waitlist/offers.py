"""Waitlist offers (README "Waitlist"): a freed seat offered to the next student, automatically or by the studio;
the single-use link that accepts or declines it; offers withdrawn and run out.

An offer holds one seat of a slot until it is answered or expires (counted by the seat rule through
waitlist/selectors.py). Its token is stored only as a SHA-256 hash; the token itself is an HMAC (keyed with
SECRET_KEY) of a random seed kept on the entry, so the email log can keep the offer email without its link and the
delivery makes the link again (studio.emails.register_secret_link). A resend renews the seed: the old link stops
working. Every change locks the course, then the slot (the fixed lock order), and renumbers in the same transaction.
"""

import base64
import datetime
import hashlib
import logging
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from courses.formatting import slot_schedule
from courses.models import CoursePricing, CourseSlot
from courses.selectors import studio_today, upcoming_class_dates
from courses.services import seats_changed
from registrations import pricing, seats
from registrations.errors import InvalidChoice
from registrations.models import Registration
from registrations.pricing import Quote
from registrations.services import create_registration
from studio.config import StudioSettings, studio_settings
from studio.emails import ResendRefused, send_email
from waitlist.models import WaitlistEntry
from waitlist.selectors import waiting_for
from waitlist.services import OfferUnavailable, entry_email_context, finish_entry, lock_course, renumber

logger = logging.getLogger(__name__)

Status = WaitlistEntry.Status

# A token is 43 characters (256 bits, URL-safe base64); anything far from that is refused before hashing.
TOKEN_BYTES = 32
TOKEN_MIN_LENGTH = 40
TOKEN_MAX_LENGTH = 64
TOKEN_SALT = "waitlist.offers.offer_token"


# --- tokens ----------------------------------------------------------------------------------------------------------


def token_from_seed(seed: str, *, secret: str | None = None) -> str:
    """The offer link's token made from the entry's seed with SECRET_KEY (or `secret`, an older key)."""
    digest = salted_hmac(TOKEN_SALT, seed, secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def new_offer_token() -> tuple[str, str]:
    """(seed, token) of a new offer link: the seed is stored, the token only as its hash."""
    seed = secrets.token_urlsafe(TOKEN_BYTES)
    return seed, token_from_seed(seed)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def offer_link_secret(entry) -> str | None:
    """The token of the entry's offer link, made again from its seed (as the offer email is sent); None when it cannot
    be made (no seed: an offer made before seeds, or a key rotated without its fallback)."""
    if not isinstance(entry, WaitlistEntry) or not entry.offer_token_seed or not entry.offer_token_hash:
        return None
    for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        token = token_from_seed(entry.offer_token_seed, secret=key)
        if hash_token(token) == entry.offer_token_hash:
            return token
    return None


def renew_offer_link(entry, to: str) -> None:
    """Before the offer email is sent again: a new link for the offer (the old one stops working), only while the
    offer is open and still the addressee's; raises ResendRefused otherwise."""
    if not isinstance(entry, WaitlistEntry):
        raise ResendRefused(_("The waitlist entry of this offer no longer exists: nothing was resent."))
    with transaction.atomic():
        lock_course(entry.course_id)
        entry = (
            WaitlistEntry.objects.select_for_update(of=("self",))
            .select_related("student", "offer_slot__course")
            .get(pk=entry.pk)
        )
        problem = _unavailable_reason(entry, now=timezone.now())
        if problem is not None:
            raise ResendRefused(
                _("%(problem)s An offer that is no longer open gets no new link: nothing was resent.")
                % {"problem": problem}
            )
        if entry.student.email != to:
            raise ResendRefused(_("The student's email address has changed since this offer: nothing was resent."))
        entry.offer_token_seed, token = new_offer_token()
        entry.offer_token_hash = hash_token(token)
        entry.save(update_fields=["offer_token_seed", "offer_token_hash", "updated_at"])


def entry_for_token(token: str) -> WaitlistEntry | None:
    """The entry whose offer (current or answered) this token belongs to; None for garbage (checked before hashing)."""
    if not isinstance(token, str) or not TOKEN_MIN_LENGTH <= len(token) <= TOKEN_MAX_LENGTH or not token.isascii():
        return None
    return (
        WaitlistEntry.objects.select_related("course", "student", "offer_slot__course")
        .filter(offer_token_hash=hash_token(token))
        .first()
    )


def offer_url(token: str) -> str:
    return settings.SITE_URL + reverse("waitlist:offer", args=[token])


def _last_class_start(slot: CourseSlot) -> datetime.datetime | None:
    dates = slot.class_dates()
    if not dates:
        return None
    return datetime.datetime.combine(dates[-1], slot.start_time, tzinfo=timezone.get_default_timezone())


def slot_has_started_its_last_class(slot: CourseSlot, *, now: datetime.datetime | None = None) -> bool:
    """True once the slot's last class has begun (or it has no class at all): no more offers for it."""
    start = _last_class_start(slot)
    return start is None or start <= (now or timezone.now())


def offer_pricing(slot: CourseSlot) -> CoursePricing | None:
    """The price an offer is made at: the full package (every class), or the drop-in of a dated class."""
    prices = {price.pricing_type: price for price in CoursePricing.objects.filter(course_slot=slot)}
    if CoursePricing.PricingType.FULL_PACKAGE in prices:
        return prices[CoursePricing.PricingType.FULL_PACKAGE]
    if slot.course.is_dated:
        return prices.get(CoursePricing.PricingType.DROP_IN)
    # A drop-in on a series is for one date: a waitlist seat is for every class, so there is no offer price.
    return None


def offer_quote(slot: CourseSlot, *, now: datetime.datetime | None = None) -> Quote | None:
    """What accepting an offer of a seat in `slot` costs and covers now (registrations.pricing: a late joiner's
    price for the classes left); None when there is no offer price or nothing left to sell."""
    price = offer_pricing(slot)
    if price is None:
        return None
    return pricing.quote(slot=slot, pricing_type=price.pricing_type, price=price.price, now=now or timezone.now())


def _holds_active_registration(student_id: int, slot: CourseSlot, now: datetime.datetime) -> bool:
    return Registration.objects.filter(
        seats.holds_seat(now), student_id=student_id, slot=slot, class_date__isnull=True
    ).exists()


# --- offers ----------------------------------------------------------------------------------------------------------


def offer_freed_seats_receiver(sender, *, slot_id: int, **kwargs) -> None:
    """courses.signals.seats_freed: offer the seats freed in the slot to its waitlist (connected in apps.py)."""
    slot = CourseSlot.objects.filter(pk=slot_id).first()
    if slot is not None:
        offer_freed_seats(slot=slot)


def _make_offer(entry: WaitlistEntry, slot: CourseSlot, *, now: datetime.datetime, hours: int) -> str:
    """Turn a waiting entry into an outstanding offer of a seat in `slot`, queue the email; returns the token."""
    seed, token = new_offer_token()
    entry.status = Status.OFFERED
    entry.offer_slot = slot
    entry.offer_token_seed = seed
    entry.offer_token_hash = hash_token(token)
    entry.offered_at = now
    entry.offer_expires_at = now + datetime.timedelta(hours=hours)
    entry.responded_at = None
    entry.notification_sent = True
    entry.save(
        update_fields=[
            "status",
            "offer_slot",
            "offer_token_seed",
            "offer_token_hash",
            "offered_at",
            "offer_expires_at",
            "responded_at",
            "notification_sent",
            "updated_at",
        ]
    )
    quote = offer_quote(slot, now=now)
    send_email(
        kind="waitlist_offer",
        to=entry.student.email,
        about=entry,
        context=entry_email_context(
            entry,
            slot=slot,
            schedule=slot_schedule(slot, entry.course),
            price=quote.amount if quote else None,
            offer_url=offer_url(token),
            expires_at=entry.offer_expires_at,
        ),
        dedupe_key=f"waitlist_offer:{entry.offer_token_hash}",
        secret=token,
    )
    seats_changed(entry.course_id)  # last: it holds the course's version row until the commit
    return token


def _offerable(slot: CourseSlot, *, now: datetime.datetime, studio: StudioSettings) -> bool:
    """Offers are made only while registration is open, for an active course, before the slot's last class."""
    return (
        studio.registration_open
        and slot.course.is_active
        and not slot_has_started_its_last_class(slot, now=now)
        and offer_pricing(slot) is not None
    )


def _next_waiting(course_id: int, slot: CourseSlot, *, now: datetime.datetime):
    """Waiting entries of the course that want this slot (or any slot), in position order, eligible for an offer."""
    candidates = (
        WaitlistEntry.objects.select_related("student", "course", "preferred_slot")
        .filter(course_id=course_id, status=Status.WAITING)
        .filter(Q(preferred_slot__isnull=True) | Q(preferred_slot=slot))
        .order_by("waitlist_position", "created_at", "pk")
    )
    for entry in candidates:
        # Someone who has since registered for this slot, or lost crew status, is passed over (and keeps their place).
        if _holds_active_registration(entry.student_id, slot, now) or not seats.is_eligible(
            entry.student, entry.course
        ):
            continue
        yield entry


def offer_freed_seats(*, slot: CourseSlot) -> list[WaitlistEntry]:
    """When waitlist_auto_offer is on and the slot's last class has not started: offer each free seat of `slot` to the
    next waiting entries of its course (preferred_slot == slot or NULL), in position order; no-op otherwise.

    Runs in its own transaction (call it after the commit that freed the seat). Returns the entries offered a seat.
    """
    studio = studio_settings()
    if not studio.waitlist_auto_offer:
        return []
    offered = []
    with transaction.atomic():
        lock_course(slot.course_id)
        slot = seats.lock_slot(slot)
        now = timezone.now()
        if not _offerable(slot, now=now, studio=studio):
            return []
        free = seats.seats_left(slot, now=now)
        if free <= 0:
            return []
        for entry in _next_waiting(slot.course_id, slot, now=now):
            if len(offered) >= free:
                break
            _make_offer(entry, slot, now=now, hours=studio.waitlist_offer_hours)
            offered.append(entry)
    return offered


def _slot_for_admin_offer(entry: WaitlistEntry, *, now: datetime.datetime) -> CourseSlot | None:
    """The slot an admin offer is for: the preferred one, else the only open slot, else the first with a free seat."""
    if entry.preferred_slot_id is not None:
        return entry.preferred_slot
    today = studio_today()
    slots = [
        slot
        for slot in CourseSlot.objects.filter(course_id=entry.course_id).select_related("course")
        if upcoming_class_dates(slot, today=today)
    ]
    if len(slots) == 1:
        return slots[0]
    with_seat = [slot for slot in slots if seats.seats_left(slot, now=now) > 0]
    return with_seat[0] if with_seat else None


def _why_not_offer(entry: WaitlistEntry, *, now: datetime.datetime, studio: StudioSettings, over_capacity: bool):
    """(locked slot, None) when the studio may offer `entry` a seat now, else (None, the reason). Course is locked."""
    if entry.status != Status.WAITING:
        return None, _("not waiting (%(status)s).") % {"status": entry.get_status_display()}
    slot = _slot_for_admin_offer(entry, now=now)
    if slot is None:
        if over_capacity:
            return None, _("every time slot is full; set the entry's preferred time slot to offer one over capacity.")
        return None, _("every time slot is full.")
    slot = seats.lock_slot(slot)
    if not _offerable(slot, now=now, studio=studio):
        return None, _("offers are closed for this time slot (registration closed, class started or no price).")
    if not over_capacity and seats.seats_left(slot, now=now) <= 0:
        return None, _("the time slot is full.")
    if _holds_active_registration(entry.student_id, slot, now):
        return None, _("already registered for this time slot.")
    return slot, None


def send_offers(*, entries, over_capacity: bool = False) -> tuple[list[WaitlistEntry], list[str]]:
    """The studio offers seats to waiting entries, in position order per course, only into free seats unless
    `over_capacity`. Returns (entries offered, a message for each entry skipped saying why)."""
    studio = studio_settings()
    offered, skipped = [], []
    by_course: dict[int, list[int]] = {}
    for entry in entries:
        by_course.setdefault(entry.course_id, []).append(entry.pk)
    for course_id, entry_ids in sorted(by_course.items()):
        with transaction.atomic():
            lock_course(course_id)
            now = timezone.now()
            in_order = (
                WaitlistEntry.objects.select_related("student", "course", "preferred_slot")
                .filter(pk__in=entry_ids)
                .order_by(F("waitlist_position").asc(nulls_last=True), "pk")
            )
            for entry in in_order:
                slot, reason = _why_not_offer(entry, now=now, studio=studio, over_capacity=over_capacity)
                if slot is None:
                    skipped.append(f"{entry.student.full_name} ({entry.course}): {reason}")
                    continue
                _make_offer(entry, slot, now=now, hours=studio.waitlist_offer_hours)
                offered.append(entry)
    return offered, skipped


def revoke_offers(*, entries) -> int:
    """The studio withdraws outstanding offers: each entry goes back to waiting at its place, its link stops working
    (the page says the offer was withdrawn), and the seat is NOT offered automatically (the studio decides who gets
    it next: send an offer, or remove the entry). Returns how many were revoked."""
    revoked = 0
    for entry in entries:
        with transaction.atomic():
            lock_course(entry.course_id)
            entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
            if entry.status != Status.OFFERED:
                continue
            entry.status = Status.WAITING
            entry.offer_slot = None
            entry.offer_expires_at = None
            entry.responded_at = timezone.now()
            # The hash stays so that the emailed link can say "withdrawn" instead of "unknown".
            entry.save(update_fields=["status", "offer_slot", "offer_expires_at", "responded_at", "updated_at"])
            seats_changed(entry.course_id)
            revoked += 1
    return revoked


def _unavailable_reason(entry: WaitlistEntry, *, now: datetime.datetime) -> OfferUnavailable | None:
    """Why this entry's offer cannot be answered now, or None when it can."""
    if entry.status == Status.ACCEPTED:
        return OfferUnavailable(_("You have already accepted this offer."), reason=OfferUnavailable.USED)
    if entry.status == Status.DECLINED:
        return OfferUnavailable(_("You declined this offer."), reason=OfferUnavailable.DECLINED)
    if entry.status == Status.EXPIRED or (entry.status == Status.OFFERED and entry.offer_expires_at <= now):
        return OfferUnavailable(_("This offer has expired."), reason=OfferUnavailable.EXPIRED)
    if entry.status == Status.LEFT:
        return OfferUnavailable(_("You left the waitlist."), reason=OfferUnavailable.LEFT)
    if entry.status != Status.OFFERED:
        return OfferUnavailable(_("The studio has withdrawn this offer."), reason=OfferUnavailable.WITHDRAWN)
    if slot_has_started_its_last_class(entry.offer_slot, now=now):
        return OfferUnavailable(_("This class has already started."), reason=OfferUnavailable.STARTED)
    return None


def offer_status(entry: WaitlistEntry, *, now: datetime.datetime | None = None) -> OfferUnavailable | None:
    """Read-only: why the offer cannot be answered (for the GET page), or None when it can."""
    return _unavailable_reason(entry, now=now or timezone.now())


def _lock_offer(entry: WaitlistEntry) -> tuple[CourseSlot | None, WaitlistEntry]:
    """Lock the course, the offered slot and the entry (the fixed lock order) and return them re-read."""
    lock_course(entry.course_id)
    slot = seats.lock_slot(entry.offer_slot) if entry.offer_slot_id else None
    entry = (
        # of=("self",): PostgreSQL cannot lock the nullable side of the outer join to the offered slot.
        WaitlistEntry.objects.select_for_update(of=("self",))
        .select_related("student", "course", "offer_slot__course")
        .get(pk=entry.pk)
    )
    return slot, entry


def seat_after_offer(entry: WaitlistEntry) -> str:
    """What became of the seat an answered or run-out offer held, in words the student is told: "offered" (another
    student has been offered a seat of that slot since), "waiting" (others wait for it: it goes to them next) or
    "open" (nobody else waits: it went back to the class, for anyone to register)."""
    slot = entry.offer_slot
    if slot is None:
        return "open"
    since = entry.responded_at or entry.offer_expires_at
    others = WaitlistEntry.objects.exclude(pk=entry.pk)
    if since is not None and others.filter(offer_slot=slot, offered_at__gte=since).exists():
        return "offered"
    if others.filter(waiting_for(slot)).exists():
        return "waiting"
    return "open"


def _expire_in_place(entry: WaitlistEntry) -> CourseSlot:
    """Mark a run-out offer expired, renumber, email the student; returns the slot whose seat it held."""
    slot = entry.offer_slot
    finish_entry(entry, Status.EXPIRED)
    renumber(entry.course_id)
    send_email(
        kind="offer_expired",
        to=entry.student.email,
        about=entry,
        context=entry_email_context(
            entry, slot=slot, schedule=slot_schedule(slot, entry.course), seat_after=seat_after_offer(entry)
        ),
        dedupe_key=f"offer_expired:{entry.pk}",
    )
    return slot


def accept_offer(*, entry: WaitlistEntry, payment_method: str) -> Registration:
    """Register the offer holder into the seat the offer holds, even though the slot looks full: pending with a hold,
    or confirmed at once for a free class (no payment method needed then).

    Single use. Raises OfferUnavailable (accepted, declined, expired, left, withdrawn, class started: final), or
    RegistrationClosed, NotEligible, InvalidChoice, AlreadyRegistered, RegistrationLimitReached (the offer stays open).
    """
    studio = studio_settings()
    expired_slot = None
    with transaction.atomic():
        # Two tabs accepting at once: the second waits here and then sees the offer used.
        slot, entry = _lock_offer(entry)
        now = timezone.now()
        problem = _unavailable_reason(entry, now=now)
        if problem is not None:
            if problem.reason != OfferUnavailable.EXPIRED or entry.status != Status.OFFERED:
                raise problem
            # Found run out before the sweep: record the expiry (committed) and pass the seat on, then refuse.
            expired_slot = _expire_in_place(entry)
            seats.announce_freed_seats(expired_slot)
        else:
            course = entry.course
            seats.check_may_register(student=entry.student, course=course, studio=studio)
            if not course.is_active:
                raise InvalidChoice(_("This course is no longer open."))
            seats.check_registration_limit(student=entry.student, now=now, studio=studio)
            price, quote = offer_pricing(slot), offer_quote(slot, now=now)
            if price is None or quote is None:
                raise InvalidChoice(_("This time slot has no price; please contact the studio."))
            if not quote.is_free and payment_method not in Registration.PaymentMethod.values:
                raise InvalidChoice(_("Choose Venmo or Zelle."), field="payment_method")
            # No seat count: the offer is the seat (counted as taken until now); the registration takes it over
            # in this same transaction, so the count of taken seats does not change. A free class is confirmed
            # at once (create_registration).
            registration = create_registration(
                student=entry.student,
                slot=slot,
                pricing_type=price.pricing_type,
                payment_method=payment_method,
                amount=quote.amount,
                first_class_date=quote.first_class_date,
                actor_label="student",
                reason=_("Accepted a waitlist offer."),
                # The offer link went to the student's own inbox: their account credit is theirs to use.
                use_credit=True,
            )
            entry.responded_at = now
            finish_entry(entry, Status.ACCEPTED, fields=("responded_at",))
            renumber(entry.course_id)
            # With payment_hold_hours = 0 the pending registration holds nothing: the seat goes on to the next.
            seats.announce_freed_seats(slot)
    if expired_slot is not None:
        raise OfferUnavailable(_("This offer has expired."), reason=OfferUnavailable.EXPIRED)
    return registration


def decline_offer(*, entry: WaitlistEntry) -> bool:
    """The offer holder passes: the entry leaves the waitlist, the rest are renumbered and the seat goes to the next.

    Returns False when the offer was already answered or has expired (nothing changes but a run-out offer's expiry).
    """
    with transaction.atomic():
        _slot, entry = _lock_offer(entry)
        now = timezone.now()
        problem = _unavailable_reason(entry, now=now)
        if problem is not None:
            if problem.reason == OfferUnavailable.EXPIRED and entry.status == Status.OFFERED:
                seats.announce_freed_seats(_expire_in_place(entry))
            return False
        slot = entry.offer_slot
        entry.responded_at = now
        finish_entry(entry, Status.DECLINED, fields=("responded_at",))
        renumber(entry.course_id)
        seats.announce_freed_seats(slot)
        return True


def expire_offers(*, now: datetime.datetime | None = None) -> int:
    """Mark outstanding offers past their expiry as expired (email, renumber) and pass each seat to the next student.

    Safe to run at any time and as often as wanted (cron); correctness never depends on it having run.
    Returns how many offers expired.
    """
    now = now or timezone.now()
    expired = 0
    due = WaitlistEntry.objects.filter(status=Status.OFFERED, offer_expires_at__lte=now).order_by("course_id", "pk")
    for entry in due:
        try:
            with transaction.atomic():
                _slot, entry = _lock_offer(entry)
                if entry.status != Status.OFFERED or entry.offer_expires_at > now:
                    continue
                slot = _expire_in_place(entry)
                expired += 1
                seats.announce_freed_seats(slot)
        except Exception:
            # One bad row must not stop the sweep; it is retried on the next run.
            logger.exception("Could not expire waitlist offer %s", entry.pk)
    return expired
