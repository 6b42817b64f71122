"""The studio behind the fixture statements in registrations/tests/statements/ (invented names, Venmo's format):
the registrations each line of `venmo-2026-09.csv` pays, or fails to.

| Row | Who           | Line                                   | Expected                                        |
|-----|---------------|----------------------------------------|-------------------------------------------------|
| 5   | Ana Lima      | DRP-7K3QAB, $120                       | matched by reference                            |
| 6   | Bruno Costa   | "drp 8m4rcd", $35                      | matched by reference (lower case, a space)      |
| 7   | Chloé Martin  | no reference, $120                     | matched by name and amount                      |
| 8   | Dev Patel     | DRP-9N5SEF, $100 of $120               | matched: a partial payment, $20 still due       |
| 9   | Eun-ji Park   | DRP-2P6TGH, $150 of $120               | matched: $30 becomes credit                     |
| 10  | Maya Cohen    | no reference, $35                      | ambiguous: two $35 registrations                |
| 11  | Farah Haddad  | no reference, $80                      | ambiguous: her registration is due $120         |
| 12  | Omar Farouk   | no reference, $45                      | unmatched                                       |
| 13  | the studio    | - $80 to an instructor                 | ignored: outgoing                               |
| 14  | (transfer)    | - $500 to the bank                     | ignored: outgoing                               |
| 15  | Gus Oyelaran  | pending                                | ignored                                         |
| 16  | Hana Sato     | failed                                 | ignored                                         |
| 17  | Inês Duarte   | DRP-5S9WMN                             | already imported                                |
| 18  | Ana Lima      | row 5 again                            | duplicate                                       |
| 19  | Jamal Reed    | DRP-6T2XPQ                             | canceled registration                           |
| 20  | Kofi Mensah   | unknown DRP-ZZZZZZ, $60                | matched by name and amount                      |
| 21  | Lena Vogel    | "+ $abc"                               | unreadable amount                               |
| 22  | Noor Aziz     | a charge, DRP-8V4ZRS, $35              | matched by reference                            |
| 23  | Pia Lund      | DRP-9W5A2T, paid already               | matched: becomes credit, not ticked             |
| 24  | Rafael Souza  | DRP-2X6B3U, "+ $1,200.00"              | matched by reference                            |

Rows 4, 25 and 26 (balances, disclaimer) are ignored; rows 1–3 (metadata, header) are skipped.
"""

import datetime
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from courses.tests.factories import CourseFactory, CourseSlotFactory
from registrations.models import Payment, Registration
from registrations.tests.factories import PaymentFactory, RegistrationFactory
from students.tests.factories import StudentFactory

STATEMENTS = Path(__file__).resolve().parent / "statements"
VENMO_SEPTEMBER = STATEMENTS / "venmo-2026-09.csv"

PaymentStatus = Registration.PaymentStatus


def registration(first, last, amount, *, reference=None, status=PaymentStatus.PENDING, student=None, **kwargs):
    student = student or StudentFactory(first_name=first, last_name=last)
    fields = {"reference": reference} if reference else {}
    return RegistrationFactory(
        student=student,
        payment_amount=Decimal(amount),
        payment_status=status,
        payment_due_at=timezone.now() + datetime.timedelta(hours=48) if status == PaymentStatus.PENDING else None,
        **fields,
        **kwargs,
    )


def september_studio() -> dict[str, Registration]:
    """The registrations the September statement is about, by a short name."""
    house = CourseSlotFactory(course=CourseFactory(name="House Foundations"))
    salsa = CourseSlotFactory(course=CourseFactory(name="Salsa On1"))
    salsa_late = CourseSlotFactory(course=salsa.course, start_time=datetime.time(20, 45), end_time=datetime.time(22, 0))
    waacking = CourseSlotFactory(course=CourseFactory(name="Waacking L2"))
    year = CourseSlotFactory(course=CourseFactory(name="Company Year Pass"))
    maya = StudentFactory(first_name="Maya", last_name="Cohen")
    studio = {
        "ana": registration("Ana", "Lima", "120.00", reference="DRP-7K3QAB", slot=house),
        "bruno": registration("Bruno", "Costa", "35.00", reference="DRP-8M4RCD", slot=salsa),
        "chloe": registration("Chloé", "Martin", "120.00", slot=house),
        "dev": registration("Dev", "Patel", "120.00", reference="DRP-9N5SEF", slot=waacking),
        "eunji": registration("Eun-ji", "Park", "120.00", reference="DRP-2P6TGH", slot=house),
        "maya_1": registration("Maya", "Cohen", "35.00", student=maya, slot=salsa),
        "maya_2": registration("Maya", "Cohen", "35.00", student=maya, slot=salsa_late),
        "farah": registration("Farah", "Haddad", "120.00", slot=waacking),
        "gus": registration("Gus", "Oyelaran", "120.00", reference="DRP-3Q7UJK", slot=house),
        "hana": registration("Hana", "Sato", "120.00", reference="DRP-4R8VKM", slot=waacking),
        "ines": registration(
            "Inês", "Duarte", "120.00", reference="DRP-5S9WMN", status=PaymentStatus.COMPLETED, slot=house
        ),
        "jamal": registration(
            "Jamal", "Reed", "120.00", reference="DRP-6T2XPQ", status=PaymentStatus.CANCELED, slot=waacking
        ),
        "kofi": registration("Kofi", "Mensah", "60.00", slot=salsa),
        "lena": registration("Lena", "Vogel", "120.00", reference="DRP-7U3YQR", slot=house),
        "noor": registration("Noor", "Aziz", "35.00", reference="DRP-8V4ZRS", slot=salsa_late),
        "pia": registration("Pia", "Lund", "35.00", reference="DRP-9W5A2T", status=PaymentStatus.COMPLETED, slot=salsa),
        "rafael": registration("Rafael", "Souza", "1200.00", reference="DRP-2X6B3U", slot=year),
    }
    # Inês's payment came in an earlier import; Pia paid by Zelle.
    PaymentFactory(
        registration=studio["ines"], amount=Decimal("120.00"), transaction_id="4012345678901234513", method="venmo"
    )
    PaymentFactory(registration=studio["pia"], amount=Decimal("35.00"), method=Payment.PaymentMethod.ZELLE)
    return studio
