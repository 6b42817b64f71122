import re

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from courses.tests.factories import CourseFactory, priced_slot
from registrations.tests.factories import RegistrationFactory
from students.services import StudentDetails
from students.tests.factories import StudentFactory
from studio.models import EmailLog
from waitlist.models import WaitlistEntry


class WaitlistEntryFactory(DjangoModelFactory):
    class Meta:
        model = WaitlistEntry

    student = factory.SubFactory(StudentFactory)
    course = factory.SubFactory(CourseFactory)
    status = WaitlistEntry.Status.WAITING
    # Only waiting and offered entries have a place in the line; an answer has its time (the database insists).
    waitlist_position = factory.LazyAttributeSequence(
        lambda o, n: n + 1 if o.status in WaitlistEntry.ACTIVE_STATUSES else None
    )
    responded_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.status in (WaitlistEntry.Status.ACCEPTED, WaitlistEntry.Status.DECLINED) else None
    )


# --- helpers shared by the waitlist tests ------------------------------------------------------------------------------

OFFER_LINK = re.compile(r"/waitlist/offer/([A-Za-z0-9_-]+)/")


def full_slot(*, capacity: int = 1, **kwargs):
    """A priced slot ($120 full package, $35 drop-in) whose every seat is held by a pending registration
    (`slot.seat_holders`)."""
    slot = priced_slot(capacity=capacity, **kwargs)
    slot.seat_holders = [RegistrationFactory(slot=slot) for _ in range(capacity)]
    return slot


def student_details(n: int | str = 1, **overrides) -> StudentDetails:
    values = {"email": f"waiter{n}@example.org", "first_name": f"Waiter{n}", "last_name": "Lima", **overrides}
    return StudentDetails(**values)


def offer_token(email: str) -> str:
    """The token of the latest offer emailed to `email`, as its delivery puts it into the email (the email log keeps
    the email without it)."""
    from waitlist.offers import offer_link_secret

    log = EmailLog.objects.filter(kind="waitlist_offer", to_email=email).order_by("-pk").first()
    assert log is not None, f"no offer emailed to {email}"
    token = offer_link_secret(log.about)
    assert token is not None, f"the offer emailed to {email} has no link any more"
    return token


def sent_link(outbox, *, to: str, pattern: str) -> str:
    """The absolute link matching `pattern` in the last email sent to `to` (django.core.mail.outbox)."""
    message = next(m for m in reversed(outbox) if m.to == [to])
    return re.search(r"https?://\S+?" + pattern, message.body).group(0)
