"""The statement matcher (README "Payments"): the owner uploads Venmo's statement CSV, or a bank's CSV with Zelle lines,
sees each incoming payment matched to a registration, and confirms; each ticked line becomes a Payment, once.

1. `start_import` reads the upload (at most MAX_STATEMENT_BYTES, refused before it is read; UTF-8 with or without a
   BOM, else Windows-1252/Latin-1), parses it, matches it and keeps the preview in a StatementImport row: nothing is
   recorded yet, and the browser holds nothing but the owner's choices. A bank CSV needs its date, description and
   amount columns once (`map_bank_columns`); the mapping is remembered per header row.
2. Each line gets a status: matched by the reference in its note (DRP-…), matched by amount and name, ambiguous (the
   owner picks one), unmatched (the owner may type a reference), or not recordable: already imported, a repeat of an
   earlier row, the reference of a canceled registration, unreadable, or ignored (outgoing, failed or pending
   transfers, balance rows, bank lines that are not incoming Zelle payments).
3. `confirm_import` re-checks the owner's choices against the stored preview and records every chosen line in one
   transaction, through transitions.confirm_payment (each registration under its slot's lock, in a fixed order). A
   transaction id already recorded (another admin's import, a second upload of the same file) is skipped: the
   (method, transaction id) unique key makes sure it is recorded once. Any other refusal records nothing at all.
"""

import csv
import datetime
import hashlib
import io
import re
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from courses.formatting import money, plain_date
from courses.selectors import studio_today
from courses.services import seats_changed
from registrations import ledger, transitions
from registrations.errors import RegistrationError
from registrations.models import BankColumnMapping, Payment, Registration, StatementImport
from students.models import Student

# A month of a busy studio's Venmo is a few hundred rows (~100 kB); nginx takes 2 MB bodies at most.
MAX_STATEMENT_BYTES = 1_500_000
VENMO_COLUMNS = ["ID", "Datetime", "Type", "Status", "Note", "From", "To", "Amount (total)"]
REFERENCE = re.compile(r"\bDRP[-\s]?([23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6})\b", re.IGNORECASE)
_AMOUNT = re.compile(r"^(?P<sign>[+-])?\s*\$?\s*(?P<number>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<cents>\d{1,2}))?$")
_ZELLE_FROM = re.compile(
    r"zelle\b.*?\bfrom\s+(?P<name>.+?)(?:\s+(?:on|conf|confirmation|ref|memo|id|for)\b[\s#:].*)?$", re.IGNORECASE
)
_BANK_DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d"]
# The largest amount a payment can hold ($999,999.99): a larger one could not be recorded, so it cannot be read.
_AMOUNT_FIELD = Payment._meta.get_field("amount")
MAX_AMOUNT = Decimal(10) ** (_AMOUNT_FIELD.max_digits - _AMOUNT_FIELD.decimal_places) - Decimal("0.01")
# Expired registrations may still be paid (the studio re-checks the seat): name matching looks this far back.
_OPEN_DAYS = 60
PaymentStatus = Registration.PaymentStatus


class StatementError(Exception):
    """The file cannot be imported, or the import cannot be confirmed; str() is for the owner."""


class LineErrors(Exception):
    """Some of the owner's choices cannot be recorded; `errors`: the line's index → why. Nothing was recorded."""

    def __init__(self, errors: dict[int, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


class LineStatus:
    MATCHED = "matched"  # by the reference in the note
    MATCHED_BY_NAME = "matched_by_name"  # by the amount due and the payer's name
    AMBIGUOUS = "ambiguous"  # several candidates (or the name fits, the amount does not): the owner picks
    UNMATCHED = "unmatched"  # the owner may type a reference
    IMPORTED = "imported"  # recorded already
    DUPLICATE = "duplicate"  # the same transaction earlier in this file
    CANCELED = "canceled"  # the reference of a canceled registration
    INVALID = "invalid"  # an amount or a date that cannot be read
    IGNORED = "ignored"  # outgoing, failed or pending, balance rows, not an incoming Zelle payment

    RECORDABLE = {MATCHED, MATCHED_BY_NAME, AMBIGUOUS, UNMATCHED}
    LABELS = {
        MATCHED: gettext_lazy("Matched by reference"),
        MATCHED_BY_NAME: gettext_lazy("Matched by name and amount"),
        AMBIGUOUS: gettext_lazy("Ambiguous: pick one"),
        UNMATCHED: gettext_lazy("Unmatched"),
        IMPORTED: gettext_lazy("Already imported"),
        DUPLICATE: gettext_lazy("Duplicate line"),
        CANCELED: gettext_lazy("Canceled registration"),
        INVALID: gettext_lazy("Unreadable"),
        IGNORED: gettext_lazy("Ignored"),
    }


@dataclass
class Line:
    """One row of a statement, as the preview shows it (stored as JSON in StatementImport.lines)."""

    row: int  # the row number in the file, as a spreadsheet shows it
    status: str
    why: str = ""
    transaction_id: str = ""
    received_at: str = ""  # ISO 8601
    name: str = ""  # who paid
    note: str = ""
    amount: str = ""  # a Decimal; empty when it could not be read
    amount_text: str = ""  # as written in the file
    registration_id: int | None = None  # the match
    candidate_ids: list[int] = field(default_factory=list)
    to_credit: bool = False  # the registration is paid already: the amount becomes credit
    by_hand: bool = False  # the same amount was recorded by hand for it: most likely this very payment

    @property
    def is_recordable(self) -> bool:
        return self.status in LineStatus.RECORDABLE

    @property
    def ticked(self) -> bool:
        """Ticked in the preview until the owner unticks it: a sure match of a registration waiting for payment,
        unless the same amount was recorded for it by hand (most likely this payment: ticked, it would count twice)."""
        return self.status in (LineStatus.MATCHED, LineStatus.MATCHED_BY_NAME) and not (self.to_credit or self.by_hand)

    @property
    def label(self) -> str:
        return str(LineStatus.LABELS[self.status])

    @property
    def decimal_amount(self) -> Decimal | None:
        return Decimal(self.amount) if self.amount else None


def lines_of(statement_import: StatementImport) -> list[Line]:
    return [Line(**line) for line in statement_import.lines]


# --- reading a file ----------------------------------------------------------------------------------------------------


def read_upload(upload) -> str:
    """The text of an uploaded statement: its size checked before it is read, then decoded (UTF-8 with or without a
    BOM, else Windows-1252, else Latin-1). Raises StatementError for an empty, too large or binary file."""
    if upload.size == 0:
        raise StatementError(_("The file is empty."))
    if upload.size > MAX_STATEMENT_BYTES:
        raise StatementError(
            _("This file is %(size)s MB; a statement can be at most %(limit)s MB. Export a shorter period.")
            % {"size": f"{upload.size / 1_000_000:.1f}", "limit": f"{MAX_STATEMENT_BYTES / 1_000_000:.1f}"}
        )
    return decode(upload.read(MAX_STATEMENT_BYTES + 1))


def decode(raw: bytes) -> str:
    if b"\x00" in raw:
        raise StatementError(_("This is not a CSV text file. Export the statement as CSV and upload that."))
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if not text.strip():
        raise StatementError(_("The file is empty."))
    return text


def _rows(text: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise StatementError(_("This file cannot be read as CSV (%(error)s).") % {"error": error}) from None


def parse_amount(text: str) -> Decimal | None:
    """ "+ $20.00" → 20.00, "- $1,200.00" → -1200.00, "(15.50)" → -15.50; None when it is not an amount, or one
    above MAX_AMOUNT (the database could not record it)."""
    text = text.strip().replace("\u2212", "-")
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1].strip()
    match = _AMOUNT.match(text)
    if match is None:
        return None
    try:
        amount = Decimal(f"{match['number'].replace(',', '')}.{(match['cents'] or '0').ljust(2, '0')}")
    except InvalidOperation:
        return None
    if amount > MAX_AMOUNT:
        return None
    if negative or match["sign"] == "-":
        amount = -amount
    return amount


def find_reference(text: str) -> str | None:
    match = REFERENCE.search(text or "")
    return f"DRP-{match.group(1).upper()}" if match else None


def _studio_time(value: datetime.datetime) -> datetime.datetime:
    return value if timezone.is_aware(value) else value.replace(tzinfo=timezone.get_default_timezone())


# --- Venmo --------------------------------------------------------------------------------------------------------------


def parse_venmo(text: str) -> list[Line]:
    """The lines of a Venmo statement: the rows after its header row (the metadata rows before it are skipped).
    Incoming completed payments are left UNMATCHED for `match`; every other row is marked why it is not recorded."""
    rows = _rows(text)
    header_at = next((n for n, row in enumerate(rows) if set(VENMO_COLUMNS) <= {cell.strip() for cell in row}), None)
    if header_at is None:
        raise StatementError(
            _(
                "This is not a Venmo statement: no row has Venmo's columns (%(columns)s). "
                "For a bank statement with Zelle payments, choose “Bank statement”."
            )
            % {"columns": ", ".join(VENMO_COLUMNS)}
        )
    header = [cell.strip() for cell in rows[header_at]]
    column = {name: header.index(name) for name in VENMO_COLUMNS}
    lines = []
    for number, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(name, row=row):
            return row[column[name]].strip() if column[name] < len(row) else ""

        line = Line(
            row=number,
            status=LineStatus.UNMATCHED,
            transaction_id=cell("ID"),
            note=cell("Note"),
            amount_text=cell("Amount (total)"),
        )
        lines.append(line)
        if not line.transaction_id:
            line.status, line.why = LineStatus.IGNORED, _("Not a transaction (a balance or summary row).")
            continue
        amount = parse_amount(line.amount_text)
        incoming = amount is not None and amount > 0
        # Who paid: the sender of a payment, the one charged by a charge ("From" is whoever started it).
        line.name = cell("To") if cell("Type").lower() == "charge" else cell("From")
        if amount is None:
            line.status = LineStatus.INVALID
            line.why = _("The amount “%(amount)s” cannot be read.") % {"amount": line.amount_text}
        elif amount < 0:
            line.name = cell("To")
            line.status, line.why = LineStatus.IGNORED, _("Outgoing: money the studio sent.")
        elif cell("Status").lower() != "complete":
            line.status = LineStatus.IGNORED
            line.why = _("%(status)s: not received (only completed payments count).") % {
                "status": cell("Status") or _("No status")
            }
        elif not incoming:
            line.status, line.why = LineStatus.INVALID, _("An amount of $0.")
        else:
            line.amount = str(amount)
            try:
                line.received_at = _studio_time(datetime.datetime.fromisoformat(cell("Datetime"))).isoformat()
            except ValueError:
                line.status = LineStatus.INVALID
                line.why = _("The date “%(date)s” cannot be read.") % {"date": cell("Datetime")}
    return lines


# --- a bank's CSV -------------------------------------------------------------------------------------------------------


def bank_header(text: str) -> list[str]:
    """The first non-empty row of a bank CSV: its column names. StatementError when it has fewer than 3 columns."""
    header = next((row for row in _rows(text) if any(cell.strip() for cell in row)), [])
    header = [cell.strip() for cell in header]
    if len([cell for cell in header if cell]) < 3:
        raise StatementError(
            _(
                "This file has no header row with column names (a date, a description and an amount), so it is not a bank statement."
            )
        )
    if len(set(header)) != len(header):
        raise StatementError(_("Two columns of this file have the same name; the columns cannot be told apart."))
    return header


def header_signature(header: list[str]) -> str:
    return hashlib.sha256("\x1f".join(cell.casefold() for cell in header).encode()).hexdigest()


def zelle_payer(description: str) -> str:
    """Who sent a Zelle payment, from a bank's description ("Zelle payment from ANA LIMA Conf# 123" → "ANA LIMA")."""
    match = _ZELLE_FROM.search(description)
    return match["name"].strip() if match else description


def _bank_date(text: str) -> datetime.datetime | None:
    for format_ in _BANK_DATE_FORMATS:
        try:
            day = datetime.datetime.strptime(text.strip(), format_).date()
        except ValueError:
            continue
        # Noon in the studio's zone: the bank gives a date only, and noon keeps it on that date in every view.
        return datetime.datetime.combine(day, datetime.time(12), tzinfo=timezone.get_default_timezone())
    return None


def parse_bank(text: str, mapping: BankColumnMapping) -> list[Line]:
    """The lines of a bank CSV read with `mapping`: incoming lines whose description says Zelle are left UNMATCHED;
    the rest are marked. Without an id column, a line's id is made from its date, description, amount and how many
    identical lines came before it, so the same line gets the same id in every export."""
    rows = _rows(text)
    header_at = next(n for n, row in enumerate(rows) if any(cell.strip() for cell in row))
    header = [cell.strip() for cell in rows[header_at]]
    wanted = [mapping.date_column, mapping.description_column, mapping.amount_column]
    if mapping.id_column:
        wanted.append(mapping.id_column)
    missing = [name for name in wanted if name not in header]
    if missing:
        raise StatementError(_("This file has no column “%(column)s”.") % {"column": missing[0]})
    index = {name: header.index(name) for name in wanted}
    seen: Counter = Counter()
    lines = []
    for number, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(name, row=row):
            return row[index[name]].strip() if name and index[name] < len(row) else ""

        description = cell(mapping.description_column)
        line = Line(
            row=number,
            status=LineStatus.UNMATCHED,
            note=description,
            name=zelle_payer(description),
            amount_text=cell(mapping.amount_column),
        )
        lines.append(line)
        amount = parse_amount(line.amount_text)
        received = _bank_date(cell(mapping.date_column))
        key = (cell(mapping.date_column), description, line.amount_text)
        seen[key] += 1
        given_id = cell(mapping.id_column) if mapping.id_column else ""
        line.transaction_id = (
            given_id or "bank-" + hashlib.sha256("\x1f".join([*key, str(seen[key])]).encode()).hexdigest()[:24]
        )
        if amount is None:
            line.status = LineStatus.INVALID
            line.why = _("The amount “%(amount)s” cannot be read.") % {"amount": line.amount_text}
        elif amount < 0:
            line.status, line.why = LineStatus.IGNORED, _("Outgoing: money the studio sent.")
        elif "zelle" not in description.casefold():
            line.status, line.why = LineStatus.IGNORED, _("Not a Zelle payment.")
        elif amount == 0:
            line.status, line.why = LineStatus.INVALID, _("An amount of $0.")
        elif received is None:
            line.status = LineStatus.INVALID
            line.why = _("The date “%(date)s” cannot be read.") % {"date": cell(mapping.date_column)}
        else:
            line.amount, line.received_at = str(amount), received.isoformat()
    return lines


# --- matching -----------------------------------------------------------------------------------------------------------


def name_words(text: str) -> list[str]:
    """A name as comparable words: no accents, no case, no punctuation or emoji ("Zoë-Lee 💃" → ["zoe", "lee"])."""
    plain = unicodedata.normalize("NFKD", text or "")
    plain = "".join(char for char in plain if not unicodedata.combining(char)).casefold()
    return re.sub(r"[^\w]+|_", " ", plain).split()


def name_key(student: Student) -> tuple[str, str] | None:
    """The words a payer's name must have to be `student`'s: their first first name and last last name."""
    first, last = name_words(student.first_name), name_words(student.last_name)
    return (first[0], last[-1]) if first and last else None


def _has_name(payer_words: set[str], key: tuple[str, str] | None) -> bool:
    return key is not None and key[0] in payer_words and key[1] in payer_words


def names_match(payer: str, student: Student) -> bool:
    """The payer's name has the student's first and last names in it (a middle name or "Lima, Ana" still match)."""
    return _has_name(set(name_words(payer)), name_key(student))


def _describe(registration: Registration, balance: ledger.Balance, amount: Decimal) -> str:
    if amount < balance.due:
        return _("%(due)s due: %(left)s will still be due after it.") % {
            "due": money(balance.due),
            "left": money(balance.due - amount),
        }
    if amount > balance.due:
        return _("%(due)s due: the other %(over)s becomes account credit.") % {
            "due": money(balance.due),
            "over": money(amount - balance.due),
        }
    return _("%(due)s due.") % {"due": money(balance.due)}


def match(lines: list[Line], *, method: str) -> list[Line]:
    """Give each incoming line its match (in place; a handful of queries whatever the length of the statement)."""
    pending = [line for line in lines if line.status == LineStatus.UNMATCHED]
    first_row: dict[str, int] = {}
    for line in pending:
        if line.transaction_id in first_row:
            line.status = LineStatus.DUPLICATE
            line.why = _("The same transaction as row %(row)s.") % {"row": first_row[line.transaction_id]}
        else:
            first_row[line.transaction_id] = line.row
    pending = [line for line in pending if line.status == LineStatus.UNMATCHED]
    imported = dict(
        Payment.objects.filter(method=method, transaction_id__in=[line.transaction_id for line in pending]).values_list(
            "transaction_id", "registration__reference"
        )
    )
    references = {line.row: find_reference(line.note) for line in pending}
    by_reference = {
        registration.reference: registration
        for registration in ledger.with_balances(
            Registration.objects.filter(reference__in={ref for ref in references.values() if ref})
        ).select_related("student")
    }
    open_registrations = list(
        ledger.with_balances(
            Registration.objects.filter(
                payment_status__in=[PaymentStatus.PENDING, PaymentStatus.EXPIRED],
                course__end_date__gte=studio_today() - datetime.timedelta(days=_OPEN_DAYS),
            )
        )
        .select_related("student")
        .order_by("pk")
    )
    # Each name made comparable once, not once per line and registration.
    name_keys = {registration.pk: name_key(registration.student) for registration in open_registrations}
    # Payments recorded by hand (no transaction id) of the registrations a line may pay, whatever their status: the
    # owner may have recorded a line's payment on seeing Venmo's notification (one query).
    candidate_ids = {r.pk for r in by_reference.values()} | {r.pk for r in open_registrations}
    by_hand = {
        (payment.registration_id, payment.amount): payment
        for payment in Payment.objects.filter(registration_id__in=candidate_ids, transaction_id="").order_by(
            "received_at", "pk"
        )
    }
    for line in pending:
        if line.transaction_id in imported:
            line.status = LineStatus.IMPORTED
            line.why = _("Recorded already for %(reference)s.") % {"reference": imported[line.transaction_id]}
            continue
        amount = line.decimal_amount
        reference = references[line.row]
        prefix = ""
        if reference:
            registration = by_reference.get(reference)
            if registration is not None:
                _match_reference(line, registration, amount, by_hand=by_hand)
                continue
            prefix = _("Unknown reference %(reference)s.") % {"reference": reference} + " "
        payer = set(name_words(line.name))
        named = [r for r in open_registrations if _has_name(payer, name_keys[r.pk])]
        named = [r for r in named if ledger.balance_from(r).due > 0]
        exact = [r for r in named if ledger.balance_from(r).due == amount]
        if len(exact) == 1:
            registration = exact[0]
            line.status, line.registration_id = LineStatus.MATCHED_BY_NAME, registration.pk
            line.why = prefix + _("%(reference)s of %(name)s, %(due)s due.") % {
                "reference": registration.reference,
                "name": registration.student.full_name,
                "due": money(amount),
            }
            _warn_if_recorded_by_hand(line, registration, amount, by_hand=by_hand)
        elif exact or named:
            line.status = LineStatus.AMBIGUOUS
            line.candidate_ids = [r.pk for r in (exact or named)]
            line.why = prefix + (
                _("Several registrations of this name are due this amount: pick one.")
                if exact
                else _("A registration of this name is due another amount: pick it if this pays for it.")
            )
        else:
            line.why = prefix + _("No registration waiting for payment has this reference or this name and amount.")
    return lines


def _warn_if_recorded_by_hand(
    line: Line, registration: Registration, amount: Decimal, *, by_hand: dict[tuple[int, Decimal], Payment]
) -> None:
    """A payment of the same amount recorded by hand for the registration is most likely this line's payment (the
    owner recorded it on seeing Venmo's notification): the line is left unticked and says so."""
    same = by_hand.get((registration.pk, amount))
    if same is None:
        return
    line.by_hand = True
    line.why += " " + _(
        "%(amount)s was recorded by hand on %(day)s, most likely this payment: tick it only if it is another one."
    ) % {"amount": money(amount), "day": plain_date(timezone.localtime(same.received_at).date())}


def _match_reference(
    line: Line, registration: Registration, amount: Decimal, *, by_hand: dict[tuple[int, Decimal], Payment]
) -> None:
    balance = ledger.balance_from(registration)
    line.registration_id = registration.pk
    if registration.payment_status == PaymentStatus.CANCELED:
        line.status = LineStatus.CANCELED
        line.why = _("%(reference)s is canceled: nothing is recorded. Refund the student, or re-open it first.") % {
            "reference": registration.reference
        }
        return
    line.status = LineStatus.MATCHED
    if registration.payment_status == PaymentStatus.COMPLETED:
        line.to_credit = True
        line.why = _("%(reference)s is paid already: if ticked, the amount becomes the student's account credit.") % {
            "reference": registration.reference
        }
    else:
        line.why = _describe(registration, balance, amount)
        if registration.payment_status == PaymentStatus.EXPIRED:
            line.why += " " + _("Its hold ran out: it is confirmed only if its seat is still free.")
    _warn_if_recorded_by_hand(line, registration, amount, by_hand=by_hand)


# --- importing ----------------------------------------------------------------------------------------------------------


def start_import(*, upload, kind: str, actor: AbstractBaseUser | None) -> StatementImport:
    """Read, parse and match an uploaded statement into a preview (a StatementImport waiting for confirmation); a bank
    CSV whose header row has no remembered mapping waits for its columns instead. Records no payment. Raises
    StatementError for a file that cannot be imported."""
    if kind not in StatementImport.Kind.values:
        raise StatementError(_("Choose Venmo statement or bank statement."))
    text = read_upload(upload)
    filename = str(getattr(upload, "name", ""))[:200]
    if kind == StatementImport.Kind.VENMO:
        lines = match(parse_venmo(text), method=Payment.PaymentMethod.VENMO)
        return StatementImport.objects.create(
            kind=kind, filename=filename, lines=[asdict(line) for line in lines], uploaded_by=actor
        )
    header = bank_header(text)
    mapping = BankColumnMapping.objects.filter(header_signature=header_signature(header)).first()
    statement_import = StatementImport(
        kind=kind, filename=filename, header=header, uploaded_by=actor, status=StatementImport.Status.MAPPING
    )
    if mapping is None:
        statement_import.source_text = text
    else:
        lines = match(parse_bank(text, mapping), method=Payment.PaymentMethod.ZELLE)
        statement_import.lines, statement_import.status = (
            [asdict(line) for line in lines],
            StatementImport.Status.PREVIEW,
        )
    statement_import.save()
    return statement_import


def map_bank_columns(
    *, statement_import: StatementImport, date_column: str, description_column: str, amount_column: str, id_column: str
) -> StatementImport:
    """Remember which columns of this bank's CSV hold what, then parse and match the waiting statement. Raises
    StatementError for a column the file does not have, or when the statement is not waiting for its columns."""
    with transaction.atomic():
        statement_import = StatementImport.objects.select_for_update().get(pk=statement_import.pk)
        if statement_import.status != StatementImport.Status.MAPPING:
            raise StatementError(_("This statement's columns are chosen already."))
        header = statement_import.header
        chosen = [date_column, description_column, amount_column]
        if any(column not in header for column in [*chosen, *([id_column] if id_column else [])]):
            raise StatementError(_("Choose columns of this file."))
        if len(set(chosen)) < 3:
            raise StatementError(_("The date, the description and the amount are three different columns."))
        mapping, _created = BankColumnMapping.objects.update_or_create(
            header_signature=header_signature(header),
            defaults={
                "header": header,
                "date_column": date_column,
                "description_column": description_column,
                "amount_column": amount_column,
                "id_column": id_column,
            },
        )
        lines = match(parse_bank(statement_import.source_text, mapping), method=Payment.PaymentMethod.ZELLE)
        statement_import.lines = [asdict(line) for line in lines]
        statement_import.status = StatementImport.Status.PREVIEW
        statement_import.source_text = ""
        statement_import.save(update_fields=["lines", "status", "source_text"])
    return statement_import


def candidates(statement_import: StatementImport) -> dict[int, Registration]:
    """The registrations the preview names (matches and candidates), by pk, with their student and course."""
    ids = {line.registration_id for line in lines_of(statement_import) if line.registration_id}
    ids |= {pk for line in lines_of(statement_import) for pk in line.candidate_ids}
    return {
        registration.pk: registration
        for registration in Registration.objects.filter(pk__in=ids).select_related("student", "course")
    }


def _chosen_registrations(
    lines: list[Line], *, ticked: set[int], picks: dict[int, str], references: dict[int, str]
) -> dict[int, Registration]:
    """The registration each ticked line pays, re-checked against the stored preview (the browser sends choices
    only). Raises LineErrors."""
    errors: dict[int, str] = {}
    chosen: dict[int, int] = {}
    typed: dict[int, str] = {}
    for index in sorted(ticked):
        if not 0 <= index < len(lines) or not lines[index].is_recordable:
            errors[index] = _("This line cannot be recorded.")
            continue
        line = lines[index]
        if line.status in (LineStatus.MATCHED, LineStatus.MATCHED_BY_NAME):
            chosen[index] = line.registration_id
        elif line.status == LineStatus.AMBIGUOUS:
            pick = picks.get(index, "")
            if not (pick.isascii() and pick.isdecimal()) or int(pick) not in line.candidate_ids:
                errors[index] = _("Row %(row)s: pick the registration it pays.") % {"row": line.row}
            else:
                chosen[index] = int(pick)
        else:
            reference = find_reference(references.get(index, ""))
            if reference is None:
                errors[index] = _("Row %(row)s: type the reference (DRP-…) of the registration it pays.") % {
                    "row": line.row
                }
            else:
                typed[index] = reference
    by_reference = {r.reference: r for r in Registration.objects.filter(reference__in=typed.values())}
    for index, reference in typed.items():
        registration = by_reference.get(reference)
        if registration is None:
            errors[index] = _("Row %(row)s: no registration has the reference %(reference)s.") % {
                "row": lines[index].row,
                "reference": reference,
            }
        else:
            chosen[index] = registration.pk
    if errors:
        raise LineErrors(errors)
    registrations = Registration.objects.select_related("student").in_bulk(set(chosen.values()))
    return {index: registrations[pk] for index, pk in chosen.items()}


@dataclass
class ImportResult:
    recorded: list[tuple[Line, Registration]]
    already: list[Line]  # recorded meanwhile (another admin, another upload): skipped
    paid: list[Registration]  # registrations this import paid in full
    # Recorded lines for a registration paid in full already (before the import, or by an earlier line): credit.
    credited: list[tuple[Line, Registration]] = field(default_factory=list)


def confirm_import(
    *,
    statement_import: StatementImport,
    ticked: set[int],
    actor: AbstractBaseUser | None,
    picks: dict[int, str] | None = None,
    references: dict[int, str] | None = None,
) -> ImportResult:
    """Record each ticked line (its index in the preview) as a Payment of its registration, in one transaction: the
    match, the owner's pick among the candidates, or a reference the owner typed. Each registration paid in full is
    confirmed and its student emailed once; one still part-paid gets one email with what is due. Raises
    StatementError when the statement was confirmed already (nothing is recorded twice) or nothing is ticked, and
    LineErrors (nothing recorded) for a choice that does not hold or a line that cannot be recorded."""
    with transaction.atomic():
        # Two clicks on "Confirm", or two admins on one preview: the second waits here, then finds it confirmed.
        statement_import = StatementImport.objects.select_for_update().get(pk=statement_import.pk)
        if statement_import.status == StatementImport.Status.CONFIRMED:
            raise StatementError(_("This statement was confirmed already: its payments are recorded, once."))
        if statement_import.status != StatementImport.Status.PREVIEW:
            raise StatementError(_("Choose the statement's columns first."))
        if not ticked:
            raise StatementError(_("Tick the lines to record."))
        lines = lines_of(statement_import)
        chosen = _chosen_registrations(lines, ticked=ticked, picks=picks or {}, references=references or {})
        method = (
            Payment.PaymentMethod.VENMO
            if statement_import.kind == StatementImport.Kind.VENMO
            else Payment.PaymentMethod.ZELLE
        )
        result = ImportResult(recorded=[], already=[], paid=[])
        confirmed: list[Registration] = []
        errors: dict[int, str] = {}
        # Slot by slot, then registration by registration: a fixed lock order, so two imports at once never deadlock.
        order = sorted(chosen.items(), key=lambda item: (item[1].slot_id, item[1].pk, lines[item[0]].row))
        # Paid in full before this import (as read in its transaction), or by an earlier line of it.
        paid_already = {r.pk for r in chosen.values() if r.payment_status == PaymentStatus.COMPLETED}
        for index, registration in order:
            line = lines[index]
            try:
                transitions.confirm_payment(
                    registration=registration,
                    actor=actor,
                    method=method,
                    amount=line.decimal_amount,
                    transaction_id=line.transaction_id,
                    received_at=datetime.datetime.fromisoformat(line.received_at),
                    note=f"{line.name}: {line.note}" if line.note else line.name,
                    source=Payment.Source.STATEMENT,
                    statement_import=statement_import,
                    email_part_payment=False,
                    confirmed=confirmed,
                )
            except ledger.DuplicatePayment:
                result.already.append(line)
            except RegistrationError as error:
                errors[index] = _("Row %(row)s (%(reference)s): %(error)s") % {
                    "row": line.row,
                    "reference": registration.reference,
                    "error": error,
                }
            else:
                result.recorded.append((line, registration))
                if registration.pk in paid_already:
                    result.credited.append((line, registration))
                elif confirmed and confirmed[-1].pk == registration.pk:
                    paid_already.add(registration.pk)
        if errors:
            # Raised inside the transaction: nothing is recorded. The owner unticks those lines and confirms again.
            raise LineErrors(errors)
        result.paid = confirmed
        touched = {registration.pk for _line, registration in result.recorded}
        for registration in ledger.with_balances(Registration.objects.filter(pk__in=touched)).select_related(
            "student", "course", "slot__course"
        ):
            if registration.payment_status == PaymentStatus.PENDING:
                transitions.send_part_payment_email(registration, balance=ledger.balance_from(registration))
        statement_import.status = StatementImport.Status.CONFIRMED
        statement_import.confirmed_by = actor
        statement_import.confirmed_at = timezone.now()
        statement_import.save(update_fields=["status", "confirmed_by", "confirmed_at"])
        # Last, once every slot is locked: a course's version row stays locked from its bump until the commit.
        for course_id in sorted({registration.course_id for registration in confirmed}):
            seats_changed(course_id)
    return result
