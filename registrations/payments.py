"""How a student pays a registration (README "Payments"): the amount due, the reference, and Venmo links with a QR code
or the Zelle details, from the studio's settings. The studio records each payment (by hand or from a statement)."""

import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

import segno

from courses.formatting import class_dates_text
from registrations import ledger
from registrations.models import Registration
from studio.config import StudioSettings, studio_settings

PaymentMethod = Registration.PaymentMethod


def payment_methods(studio: StudioSettings) -> list[str]:
    """The methods the studio has set up; both when none is (the studio then sends the details itself)."""
    methods = []
    if studio.venmo_username:
        methods.append(PaymentMethod.VENMO)
    if studio.zelle_phone or studio.zelle_email:
        methods.append(PaymentMethod.ZELLE)
    return methods or list(PaymentMethod.values)


@dataclass(frozen=True)
class PaymentInstructions:
    method: str
    amount: Decimal
    reference: str
    note: str
    venmo_username: str
    venmo_app_url: str
    venmo_web_url: str
    # What the QR code encodes (the web link), as a short digest: the QR's own URL carries it (`venmo_qr_url`), so a
    # browser keeps the picture for as long as the link stays the same.
    venmo_qr_version: str
    zelle_recipient_name: str
    zelle_phone: str
    zelle_email: str

    @property
    def amount_text(self) -> str:
        return f"{self.amount:.2f}"


def venmo_qr_svg(url: str) -> bytes:
    """An SVG file of a QR code for `url`, made on our server: black on white, no script, no style attribute.

    One fixed mask pattern: segno otherwise draws the code with each of the 8 patterns and keeps the best-scoring one,
    which was most of its cost (9.3 ms against 2.6 ms here); pattern 0 scans as well on a phone's screen."""
    out = io.BytesIO()
    segno.make(url, error="m", mask=0).save(
        out, kind="svg", scale=4, xmldecl=False, svgclass=None, lineclass=None, light="#fff"
    )
    return out.getvalue()


def qr_version(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def payment_note(registration: Registration) -> str:
    """The note for the payment app: the reference, the course and its dates, e.g. "DRP-7K3Q House L1 (Sep 1 – Sep 22)"."""
    dates = class_dates_text(registration.slot, registration.class_date, registration.first_class_date)
    return f"{registration.reference} {registration.course.name}" + (f" ({dates})" if dates else "")


def payment_instructions(registration: Registration, *, due: Decimal | None = None) -> PaymentInstructions:
    """What the student needs to pay `registration`: the balance due (the amount less what was received and the
    credit used; `due` when the caller knows it), reference, note, and Venmo links or Zelle details."""
    studio = studio_settings()
    amount = ledger.amount_due(registration) if due is None else due
    amount_text = f"{amount:.2f}"
    note = payment_note(registration)
    venmo_username = app_url = web_url = qr = ""
    zelle_name = zelle_phone = zelle_email = ""
    if registration.payment_method == PaymentMethod.VENMO and studio.venmo_username:
        venmo_username = studio.venmo_username
        user, encoded_note = quote(venmo_username, safe=""), quote(note, safe="")
        app_url = f"venmo://paycharge?txn=pay&recipients={user}&amount={amount_text}&note={encoded_note}"
        web_url = f"https://venmo.com/{user}?txn=pay&amount={amount_text}&note={encoded_note}"
        qr = qr_version(web_url)
    elif registration.payment_method == PaymentMethod.ZELLE:
        zelle_name, zelle_phone, zelle_email = studio.zelle_recipient_name, studio.zelle_phone, studio.zelle_email
    return PaymentInstructions(
        method=registration.payment_method,
        amount=amount,
        reference=registration.reference,
        note=note,
        venmo_username=venmo_username,
        venmo_app_url=app_url,
        venmo_web_url=web_url,
        venmo_qr_version=qr,
        zelle_recipient_name=zelle_name,
        zelle_phone=zelle_phone,
        zelle_email=zelle_email,
    )
