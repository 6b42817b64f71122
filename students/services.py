"""Writes of students (README "Students"): creating and updating a student, classification, the portal's sign-in
links, profile and calendar token.

Privacy: details typed on a public form without a verified session only fill a known student's blanks; a student
verified through the portal may overwrite their own. Only an admin makes someone a crew member.

A sign-in link is a signed, timestamped token (valid SIGN_IN_LINK_MINUTES) that names the student and the state of
their last portal sign-in; signing in moves that state on, so every link made before it stops working (single use).
"""

import logging
import secrets
from dataclasses import dataclass, fields

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from students.models import Student, normalize_email
from studio.emails import ResendRefused, erased_address, send_email

logger = logging.getLogger(__name__)

SIGN_IN_LINK_MINUTES = 30
SIGN_IN_SALT = "students.portal.sign_in_link"
# A real token is ~110 characters; anything far longer is refused before any signature work (docs/bad-inputs.md #37).
SIGN_IN_TOKEN_MAX_LENGTH = 400
# What a student may edit of their own profile (never the email); a public form fills the first four.
PROFILE_FIELDS = ("first_name", "last_name", "phone", "instagram_handle", "dance_experience")
# Zero-width characters pasted around an address (str.strip() already removes spaces and NBSP).
INVISIBLE_EDGES = "\u200b\u200c\u200d\u2060\ufeff"


# --- creating and updating a student -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentDetails:
    """What a public form (registration, waitlist) says about the student."""

    email: str
    first_name: str
    last_name: str
    phone: str = ""
    instagram_handle: str = ""


def strip_typed_email(value) -> str:
    """An address as typed, without the spaces, NBSP and zero-width characters pasted around it."""
    return str(value).strip().strip(INVISIBLE_EDGES).strip()


def clean_details(details: StudentDetails) -> StudentDetails:
    """Trimmed details with a normalized email; raises ValidationError({field: ...}) for a bad value (too long,
    control characters, not an address)."""
    values = {f.name: str(getattr(details, f.name) or "").strip() for f in fields(StudentDetails)}
    values["email"] = normalize_email(strip_typed_email(values["email"]))
    values["instagram_handle"] = values["instagram_handle"].removeprefix("@")
    Student(**values).full_clean(validate_unique=False, validate_constraints=False)
    return StudentDetails(**values)


def find_student(email: str) -> Student | None:
    """The student with this (normalized) address, if any."""
    return Student.objects.filter(email=normalize_email(email)).first()


def save_student(
    *, details: StudentDetails, verified_student: Student | None, known: Student | None, savepoint: bool = True
) -> Student:
    """Create (always as `general`) or update the student of `details` (cleaned by clean_details): unverified details
    only fill blanks, a verified student's own overwrite. Call it inside the caller's transaction.

    `known`: the student with this email as the caller read it a moment ago, None if there was none (a student created
    since then is found through the unique email). `savepoint=False`: on IntegrityError (the same new address
    registering twice at once) the caller starts its whole transaction again, instead of this savepoint's retry."""
    if verified_student is not None:
        student, overwrite = Student.objects.get(pk=verified_student.pk), True
    else:
        student, overwrite = known, False
    if student is None:
        new = Student(**{f.name: getattr(details, f.name) for f in fields(details)})
        new.profile_complete = new.has_complete_profile
        if not savepoint:
            new.save()
            return new
        try:
            # A savepoint: the same new address registering twice at once must not poison the transaction.
            with transaction.atomic():
                new.save()
            return new
        except IntegrityError:
            # Another request created this student a moment ago: use that row (and only fill its blanks).
            student = find_student(details.email)
            if student is None:
                raise
    changed = []
    for f in fields(details):
        value = getattr(details, f.name)
        if (
            f.name != "email"
            and value
            and value != getattr(student, f.name)
            and (overwrite or not getattr(student, f.name))
        ):
            setattr(student, f.name, value)
            changed.append(f.name)
    if student.has_complete_profile != student.profile_complete:
        student.profile_complete = student.has_complete_profile
        changed.append("profile_complete")
    if changed:
        student.save(update_fields=[*changed, "updated_at"])
    return student


class EmailTaken(ValidationError):
    """The address is another student's (`student`): one student per address, so the studio picks that student rather
    than making a second one or overwriting their details."""

    def __init__(self, student: Student):
        super().__init__(_("A student with this email address already exists."), code="email_taken")
        self.student = student


def check_email_free(email: str, *, exclude: Student | None = None) -> None:
    """Raise EmailTaken when a student other than `exclude` has this address (compared normalized)."""
    others = Student.objects.filter(email=normalize_email(email))
    if exclude is not None and exclude.pk is not None:
        others = others.exclude(pk=exclude.pk)
    student = others.first()
    if student is not None:
        raise EmailTaken(student)


def create_student_by_admin(*, details: StudentDetails) -> Student:
    """The studio adds a student on the spot (a general student, like every new one), its details cleaned as on the
    public forms. Raises ValidationError({field: ...}) for a bad value and EmailTaken for an address that is taken.
    Call it inside the caller's transaction: what the student is added for is written with them, or neither is."""
    details = clean_details(details)
    check_email_free(details.email)
    student = Student(**{f.name: getattr(details, f.name) for f in fields(details)})
    student.profile_complete = student.has_complete_profile
    try:
        # A savepoint: an address added by another admin a moment ago must not break the caller's transaction.
        with transaction.atomic():
            student.save()
    except IntegrityError:
        check_email_free(details.email)
        raise
    return student


def save_student_by_admin(*, student: Student) -> Student:
    """The studio creates or corrects a student's details (its form checked the email is not taken); profile_complete
    follows. The type changes only through classify_students."""
    student.email = normalize_email(student.email)
    student.profile_complete = student.has_complete_profile
    student.full_clean(validate_unique=False, validate_constraints=False)
    student.save()
    return student


def classify_students(*, students, student_type: str, by: AbstractBaseUser | None = None) -> int:
    """An admin sets the type of `students` (only an admin makes a crew member): classified now, in one
    transaction; returns how many changed. Raises ValueError for an unknown student type.

    Student has no "classified by" field, so `by` goes to the log."""
    if student_type not in Student.StudentType.values:
        raise ValueError(f"Unknown student type {student_type!r}.")
    ids = [student.pk for student in students]
    now = timezone.now()
    with transaction.atomic():
        count = Student.objects.filter(pk__in=ids).update(
            student_type=student_type, admin_classified=True, classified_at=now, updated_at=now
        )
    logger.info("%s classified %d student(s) as %s", by, count, student_type)
    return count


def anonymise_student(*, student: Student) -> Student:
    """Replace a student's personal details with placeholders (the row, and so their records, stay) and void their
    sign-in links (the address they name changes) and calendar feed; the studio's records of them stay anonymised."""
    with transaction.atomic():
        student = Student.objects.select_for_update().get(pk=student.pk)
        student.first_name = str(_("Erased"))
        student.last_name = str(_("student #%(number)d") % {"number": student.pk})
        student.email = erased_address(student.pk)
        student.phone = student.instagram_handle = student.dance_experience = ""
        student.calendar_token = None
        student.last_portal_login_at = None
        student.profile_complete = False
        student.erased_at = timezone.now()
        student.save()
    return student


# --- the portal's sign-in links ------------------------------------------------------------------------------------------


class SignInLinkError(Exception):
    """A sign-in link that cannot be used; str(error) is a translated message for the student."""

    default_message = _("This sign-in link does not work. Ask for a new one below.")

    def __init__(self, message=None):
        self.message = message if message is not None else self.default_message
        super().__init__(self.message)

    def __str__(self):
        return str(self.message)


class SignInLinkInvalid(SignInLinkError):
    """Tampered, truncated or made for a student who no longer exists."""


class SignInLinkExpired(SignInLinkError):
    default_message = _("This sign-in link has expired: links work for 30 minutes. Ask for a new one below.")


class SignInLinkUsed(SignInLinkError):
    default_message = _("This sign-in link has already been used. Ask for a new one below.")


def _link_state(student: Student) -> str:
    """What a link must match: the student's email and last portal sign-in, as a keyed hash (no email in the URL)."""
    last = student.last_portal_login_at.isoformat() if student.last_portal_login_at else ""
    state = f"{student.pk}|{student.email}|{last}"
    return salted_hmac(SIGN_IN_SALT, state, algorithm="sha256").hexdigest()[:32]


def make_sign_in_token(student: Student) -> str:
    """A signed, timestamped token naming `student`; valid until it expires or the student signs in."""
    return signing.dumps({"s": student.pk, "h": _link_state(student)}, salt=SIGN_IN_SALT)


def sign_in_url(token: str) -> str:
    """The absolute sign-in link with `token`, built on settings.SITE_URL (never the request's Host)."""
    return settings.SITE_URL + reverse("students:sign_in", args=[token])


def send_sign_in_link(*, email: str) -> bool:
    """Email a sign-in link to the student with this address; no email (and False) for an unknown address.

    The email log keeps the email without the link's token (`sign_in_link_secret` signs one as it is sent)."""
    student = Student.objects.filter(email=normalize_email(email)).first()
    if student is None:
        return False
    token = make_sign_in_token(student)
    send_email(
        kind="sign_in_link",
        to=student.email,
        about=student,
        context={
            "student": student,
            "sign_in_url": sign_in_url(token),
            "valid_minutes": SIGN_IN_LINK_MINUTES,
        },
        secret=token,
    )
    return True


def sign_in_link_secret(student) -> str | None:
    """The token put into a sign-in email as it is sent (studio.emails.register_secret_link): a fresh one, valid
    SIGN_IN_LINK_MINUTES from then; None when the student is gone."""
    return make_sign_in_token(student) if isinstance(student, Student) else None


def check_sign_in_link_resend(student, to: str) -> None:
    """A sign-in email may be sent again (with a fresh link) only to the student's current address; raises
    ResendRefused otherwise."""
    if not isinstance(student, Student):
        raise ResendRefused(_("The student this sign-in link was for no longer exists: nothing was resent."))
    if student.email != to:
        raise ResendRefused(
            _(
                "The student's email address has changed since this sign-in link was sent: nothing was resent. "
                "They can ask for a new link on the portal."
            )
        )


def request_sign_in_link(*, email: str) -> None:
    """Queue "email a sign-in link if this address is known": the caller does the same work for every address."""
    from students.tasks import send_sign_in_link_task

    try:
        send_sign_in_link_task.enqueue(email=normalize_email(email))
    except Exception:
        # A queue that is down must not answer differently from "link on its way" (that would reveal nothing, but
        # a 500 would); the student can ask again.
        logger.exception("Could not queue a portal sign-in link")


def _student_for_token(token: str, *, lock: bool) -> Student:
    if not token or len(token) > SIGN_IN_TOKEN_MAX_LENGTH:
        raise SignInLinkInvalid()
    try:
        payload = signing.loads(token, salt=SIGN_IN_SALT, max_age=SIGN_IN_LINK_MINUTES * 60)
    except signing.SignatureExpired:
        raise SignInLinkExpired() from None
    except signing.BadSignature:
        raise SignInLinkInvalid() from None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int) or not isinstance(payload.get("h"), str):
        raise SignInLinkInvalid()
    students = Student.objects.select_for_update() if lock else Student.objects
    student = students.filter(pk=payload["s"]).first()
    if student is None:
        raise SignInLinkInvalid()
    if not constant_time_compare(payload["h"], _link_state(student)):
        raise SignInLinkUsed()
    return student


def check_sign_in_link(*, token: str) -> Student:
    """The student a sign-in link is for, changing nothing (mail scanners GET links); raises SignInLinkError."""
    return _student_for_token(token, lock=False)


def redeem_sign_in_link(*, token: str) -> Student:
    """Use a sign-in link once: records the sign-in, which voids it and every older link; raises SignInLinkError."""
    with transaction.atomic():
        # Locked: the same link posted from two tabs at once signs in once; the other sees "already used".
        student = _student_for_token(token, lock=True)
        student.last_portal_login_at = timezone.now()
        student.save(update_fields=["last_portal_login_at"])
    return student


# --- the signed-in student's own profile and calendar ------------------------------------------------------------------


def update_profile(
    *,
    student: Student,
    first_name: str,
    last_name: str,
    phone: str = "",
    instagram_handle: str = "",
    dance_experience: str = "",
) -> Student:
    """A verified student's own profile edit (never the email); profile_complete follows; raises ValidationError."""
    values = {
        "first_name": first_name,
        "last_name": last_name,
        "phone": phone,
        "instagram_handle": instagram_handle,
        "dance_experience": dance_experience,
    }
    values = {name: str(value or "").strip() for name, value in values.items()}
    values["instagram_handle"] = values["instagram_handle"].removeprefix("@")
    with transaction.atomic():
        student = Student.objects.select_for_update().get(pk=student.pk)
        for name, value in values.items():
            setattr(student, name, value)
        # The same rule as registration: a name and a phone number make a complete profile.
        student.profile_complete = student.has_complete_profile
        student.full_clean(validate_unique=False, validate_constraints=False)
        student.save(update_fields=[*PROFILE_FIELDS, "profile_complete", "updated_at"])
    return student


def ensure_calendar_token(*, student: Student) -> str:
    """The student's calendar feed token, made on first use (secrets.token_urlsafe(32), 256 bits)."""
    if student.calendar_token:
        return student.calendar_token
    # Conditional: two first uses at once agree on one token.
    Student.objects.filter(pk=student.pk, calendar_token__isnull=True).update(calendar_token=secrets.token_urlsafe(32))
    student.calendar_token = Student.objects.values_list("calendar_token", flat=True).get(pk=student.pk)
    return student.calendar_token


def renew_calendar_token(*, student: Student) -> str:
    """Replace the student's calendar feed token: the old feed address stops working at once."""
    token = secrets.token_urlsafe(32)
    Student.objects.filter(pk=student.pk).update(calendar_token=token)
    student.calendar_token = token
    return token
