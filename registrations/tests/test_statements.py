"""The statement matcher's rules (README "Payments"), through registrations/statements.py: reading Venmo's and a bank's
CSV, the bad files, matching each line, and importing the owner's choices once."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registrations import ledger, statements
from registrations.models import BankColumnMapping, CreditEntry, Payment, Registration, StatementImport
from registrations.statements import LineErrors, LineStatus, StatementError
from registrations.tests.factories import RegistrationFactory
from registrations.tests.statement_fixtures import STATEMENTS, VENMO_SEPTEMBER, registration, september_studio
from studio.models import EmailLog

pytestmark = pytest.mark.django_db

PaymentStatus = Registration.PaymentStatus
VENMO_HEADER = (
    ",ID,Datetime,Type,Status,Note,From,To,Amount (total),Amount (tip),Amount (tax),Amount (fee),Tax Rate,"
    "Tax Exempt,Funding Source,Destination,Beginning Balance,Ending Balance,Statement Period Venmo Fees,"
    "Terminal Location,Year to Date Venmo Fees,Disclaimer\n"
)


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user(username="owner", is_staff=True)


def upload(content: bytes | str, name="statement.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode() if isinstance(content, str) else content, "text/csv")


def venmo_row(id_, note, who, amount, *, status="Complete", kind="Payment", when="2026-09-01T10:00:00"):
    return f",{id_},{when},{kind},{status},{note},{who},Groove Studio,{amount},,0,,0,,,Venmo balance,,,,Venmo,,\n"


def venmo(*rows: str) -> str:
    return "Account Statement - (@Groove-Studio) ,,,\nAccount Activity,,,\n" + VENMO_HEADER + "".join(rows)


def start(owner, content, kind="venmo", name="statement.csv") -> StatementImport:
    return statements.start_import(upload=upload(content, name), kind=kind, actor=owner)


def by_row(statement_import) -> dict[int, statements.Line]:
    return {line.row: line for line in statements.lines_of(statement_import)}


def index_of(statement_import, row: int) -> int:
    return next(i for i, line in enumerate(statements.lines_of(statement_import)) if line.row == row)


# --- reading Venmo's statement --------------------------------------------------------------------------------------------


def test_the_september_statement_is_read_and_matched_line_by_line(owner):
    studio = september_studio()

    statement_import = start(owner, VENMO_SEPTEMBER.read_bytes(), name="venmo-2026-09.csv")

    lines = by_row(statement_import)
    assert statement_import.status == StatementImport.Status.PREVIEW
    assert {row: line.status for row, line in lines.items()} == {
        4: LineStatus.IGNORED,  # beginning balance
        5: LineStatus.MATCHED,
        6: LineStatus.MATCHED,
        7: LineStatus.MATCHED_BY_NAME,
        8: LineStatus.MATCHED,
        9: LineStatus.MATCHED,
        10: LineStatus.AMBIGUOUS,
        11: LineStatus.AMBIGUOUS,
        12: LineStatus.UNMATCHED,
        13: LineStatus.IGNORED,
        14: LineStatus.IGNORED,
        15: LineStatus.IGNORED,
        16: LineStatus.IGNORED,
        17: LineStatus.IMPORTED,
        18: LineStatus.DUPLICATE,
        19: LineStatus.CANCELED,
        20: LineStatus.MATCHED_BY_NAME,
        21: LineStatus.INVALID,
        22: LineStatus.MATCHED,
        23: LineStatus.MATCHED,
        24: LineStatus.MATCHED,
        25: LineStatus.IGNORED,  # ending balance
        26: LineStatus.IGNORED,  # the disclaimer
    }
    assert lines[5].registration_id == studio["ana"].pk and lines[5].amount == "120.00"
    assert lines[6].registration_id == studio["bruno"].pk
    assert lines[7].registration_id == studio["chloe"].pk and lines[7].name == "Chloé Martin"
    assert "$20.00 will still be due" in lines[8].why
    assert "$30.00 becomes account credit" in lines[9].why
    assert sorted(lines[10].candidate_ids) == sorted([studio["maya_1"].pk, studio["maya_2"].pk])
    assert lines[11].candidate_ids == [studio["farah"].pk]
    assert lines[13].why == "Outgoing: money the studio sent."
    assert "Pending: not received" in lines[15].why and "Failed: not received" in lines[16].why
    assert "DRP-5S9WMN" in lines[17].why
    assert "row 5" in lines[18].why
    assert "DRP-6T2XPQ is canceled" in lines[19].why
    assert lines[20].why.startswith("Unknown reference DRP-ZZZZZZ.") and lines[20].registration_id == studio["kofi"].pk
    assert "“+ $abc” cannot be read" in lines[21].why
    assert lines[22].name == "Noor Aziz"  # a charge: the one charged paid
    assert lines[23].to_credit and not lines[23].ticked
    assert lines[24].amount == "1200.00"
    assert not Payment.objects.filter(source=Payment.Source.STATEMENT).exists()  # nothing until confirmed


def test_a_statement_with_a_bom_or_in_latin_1_reads_the_same(owner):
    registration("Chloé", "Martin", "120.00")
    row = venmo_row("77", "house", "Chloé Martin", "+ $120.00")

    with_bom = start(owner, ("\ufeff" + venmo(row)).encode("utf-8"))
    latin_1 = start(owner, venmo(row.replace("77", "78")).encode("latin-1"))

    for statement_import in (with_bom, latin_1):
        (line,) = [line for line in statements.lines_of(statement_import) if line.transaction_id]
        assert (line.name, line.status) == ("Chloé Martin", LineStatus.MATCHED_BY_NAME)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The file is empty."),
        (b"   \n\n", "The file is empty."),
        (b"Date,Description,Amount\n2026-09-01,Coffee,-4.50\n", "This is not a Venmo statement"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV text file."),
        (b"hello world", "This is not a Venmo statement"),
    ],
)
def test_a_file_that_is_not_a_statement_is_refused_with_a_clear_message(owner, content, message):
    with pytest.raises(StatementError, match=message):
        start(owner, content)

    assert not StatementImport.objects.exists()


def test_a_huge_file_is_refused_before_it_is_read(owner):
    class Huge:
        name = "venmo.csv"
        size = 20 * 1024 * 1024

        def read(self, *args):
            raise AssertionError("a 20 MB file must not be read")

    with pytest.raises(StatementError, match="This file is 21.0 MB; a statement can be at most 1.5 MB"):
        statements.start_import(upload=Huge(), kind="venmo", actor=owner)


def test_a_file_just_over_the_limit_is_refused_too(owner):
    content = venmo() + "x" * statements.MAX_STATEMENT_BYTES

    with pytest.raises(StatementError, match="at most 1.5 MB"):
        start(owner, content)


@pytest.mark.parametrize(
    "amount, status, why",
    [
        ("- $35.00", LineStatus.IGNORED, "Outgoing"),
        ("-35", LineStatus.IGNORED, "Outgoing"),
        ("+ $0.00", LineStatus.INVALID, "An amount of $0."),
        ("+ $35.5.0", LineStatus.INVALID, "cannot be read"),
        ('"+ 35,00"', LineStatus.INVALID, "cannot be read"),  # a European decimal comma
        ("", LineStatus.INVALID, "cannot be read"),
        ("+ $1e3", LineStatus.INVALID, "cannot be read"),
        ("+ $NaN", LineStatus.INVALID, "cannot be read"),
        ('"+ $1,000,000.00"', LineStatus.INVALID, "cannot be read"),  # more than a payment can hold
        ("+ $123456789", LineStatus.INVALID, "cannot be read"),
    ],
)
def test_negative_and_malformed_amounts_are_marked_and_never_recordable(owner, amount, status, why):
    registration("Ana", "Lima", "35.00", reference="DRP-7K3QAB")

    statement_import = start(owner, venmo(venmo_row("1", "DRP-7K3QAB", "Ana Lima", amount)))

    (line,) = statements.lines_of(statement_import)
    assert line.status == status and why in line.why
    assert not line.is_recordable
    with pytest.raises(LineErrors):
        statements.confirm_import(statement_import=statement_import, ticked={0}, actor=owner)


def test_an_unreadable_date_is_marked(owner):
    statement_import = start(owner, venmo(venmo_row("1", "x", "Ana Lima", "+ $35.00", when="yesterday")))

    (line,) = statements.lines_of(statement_import)
    assert line.status == LineStatus.INVALID and "“yesterday” cannot be read" in line.why


def test_amounts_in_dollars_and_cents_with_thousands_are_read():
    assert statements.parse_amount("+ $1,200.00") == Decimal("1200.00")
    assert statements.parse_amount("- $20.5") == Decimal("-20.50")
    assert statements.parse_amount("(15.25)") == Decimal("-15.25")
    assert statements.parse_amount("$7") == Decimal("7.00")
    assert statements.parse_amount("1,20.00") is None
    assert statements.parse_amount("12.345") is None
    assert statements.parse_amount("+ $999,999.99") == Decimal("999999.99")
    assert statements.parse_amount("+ $1,000,000.00") is None
    assert statements.parse_amount("- $1,000,000.00") is None


def test_names_match_without_accents_case_punctuation_or_emoji():
    student = registration("Zoë", "Lee-Park", "35.00").student

    assert statements.names_match("ZOE LEE-PARK", student)
    assert statements.names_match("Zoë 💃 Lee Park", student)
    assert statements.names_match("Lee-Park, Zoe", student)
    assert not statements.names_match("Zoe Smith", student)
    assert not statements.names_match("", student)


def test_each_name_is_made_comparable_once_per_statement_not_once_per_pair(owner, monkeypatch):
    for n in range(5):
        registration(f"Ana{n}", "Lima", "35.00")
    calls = []
    words = statements.name_words
    monkeypatch.setattr(statements, "name_words", lambda text: calls.append(text) or words(text))

    start(owner, venmo(*[venmo_row(str(n), "", f"Someone {n}", "+ $35.00") for n in range(4)]))

    # Each payer once, each student's first and last name once: not again for every line.
    assert len(calls) == 4 + 2 * 5


# --- confirming -----------------------------------------------------------------------------------------------------------


def test_confirming_records_each_ticked_line_once_with_its_transaction_id(owner):
    studio = september_studio()
    statement_import = start(owner, VENMO_SEPTEMBER.read_bytes())
    ticked = {i for i, line in enumerate(statements.lines_of(statement_import)) if line.ticked}
    maya = index_of(statement_import, 10)

    result = statements.confirm_import(
        statement_import=statement_import,
        ticked=ticked | {maya},
        picks={maya: str(studio["maya_2"].pk)},
        actor=owner,
    )

    recorded = Payment.objects.filter(source=Payment.Source.STATEMENT)
    assert recorded.count() == len(ticked) + 1 == 9
    ana = recorded.get(transaction_id="4012345678901234501")
    assert (ana.registration, ana.amount, ana.method, ana.statement_import, ana.recorded_by) == (
        studio["ana"],
        Decimal("120.00"),
        "venmo",
        statement_import,
        owner,
    )
    assert ana.received_at.date() == datetime.date(2026, 9, 1)
    for name in ("ana", "bruno", "chloe", "eunji", "kofi", "noor", "rafael", "maya_2"):
        studio[name].refresh_from_db()
        assert studio[name].payment_status == PaymentStatus.COMPLETED, name
    studio["dev"].refresh_from_db()
    assert studio["dev"].payment_status == PaymentStatus.PENDING  # $100 of $120
    assert ledger.credit_balance(studio["eunji"].student) == Decimal("30.00")
    assert len(result.paid) == 8 and not result.already
    statement_import.refresh_from_db()
    assert statement_import.status == StatementImport.Status.CONFIRMED and statement_import.confirmed_by == owner


def test_each_student_gets_one_email_from_an_import(owner):
    september_studio()
    statement_import = start(owner, VENMO_SEPTEMBER.read_bytes())
    ticked = {i for i, line in enumerate(statements.lines_of(statement_import)) if line.ticked}

    statements.confirm_import(statement_import=statement_import, ticked=ticked, actor=owner)

    confirmed = list(EmailLog.objects.filter(kind="payment_confirmed").values_list("to_email", flat=True))
    partial = list(EmailLog.objects.filter(kind="payment_partial").values_list("to_email", flat=True))
    assert len(confirmed) == len(set(confirmed)) == 7
    assert len(partial) == 1  # Dev Patel: $20 still due
    assert not set(confirmed) & set(partial)


def test_two_lines_paying_one_registration_send_one_confirmation(owner):
    registration("Ana", "Lima", "120.00", reference="DRP-7K3QAB")
    statement_import = start(
        owner,
        venmo(
            venmo_row("1", "DRP-7K3QAB part 1", "Ana Lima", "+ $60.00"),
            venmo_row("2", "DRP-7K3QAB part 2", "Ana Lima", "+ $60.00"),
        ),
    )

    statements.confirm_import(statement_import=statement_import, ticked={0, 1}, actor=owner)

    assert EmailLog.objects.filter(kind="payment_confirmed").count() == 1
    assert not EmailLog.objects.filter(kind="payment_partial").exists()


def test_confirming_the_same_preview_twice_records_nothing_twice(owner):
    september_studio()
    statement_import = start(owner, VENMO_SEPTEMBER.read_bytes())
    ticked = {i for i, line in enumerate(statements.lines_of(statement_import)) if line.ticked}
    statements.confirm_import(statement_import=statement_import, ticked=ticked, actor=owner)
    count = Payment.objects.count()

    with pytest.raises(StatementError, match="confirmed already"):
        statements.confirm_import(statement_import=statement_import, ticked=ticked, actor=owner)

    assert Payment.objects.count() == count


def test_the_same_statement_uploaded_again_shows_its_lines_as_imported(owner):
    september_studio()
    first = start(owner, VENMO_SEPTEMBER.read_bytes())
    statements.confirm_import(
        statement_import=first,
        ticked={i for i, line in enumerate(statements.lines_of(first)) if line.ticked},
        actor=owner,
    )

    again = by_row(start(owner, VENMO_SEPTEMBER.read_bytes()))

    for row in (5, 6, 7, 8, 9, 20, 22, 24):
        assert again[row].status == LineStatus.IMPORTED, row


def test_a_line_imported_by_someone_else_since_the_preview_is_skipped_not_recorded_twice(owner):
    september_studio()
    first = start(owner, VENMO_SEPTEMBER.read_bytes())
    second = start(owner, VENMO_SEPTEMBER.read_bytes())  # two previews of one file
    ticked = {i for i, line in enumerate(statements.lines_of(first)) if line.ticked}
    statements.confirm_import(statement_import=first, ticked=ticked, actor=owner)
    count = Payment.objects.count()

    result = statements.confirm_import(statement_import=second, ticked=ticked, actor=owner)

    assert Payment.objects.count() == count
    assert not result.recorded and len(result.already) == len(ticked)


def test_an_ambiguous_line_needs_a_pick_among_its_candidates(owner):
    studio = september_studio()
    other = RegistrationFactory()
    statement_import = start(owner, VENMO_SEPTEMBER.read_bytes())
    maya = index_of(statement_import, 10)

    for picks in ({}, {maya: ""}, {maya: str(other.pk)}, {maya: "1 OR 1=1"}, {maya: "²"}):
        with pytest.raises(LineErrors) as refused:
            statements.confirm_import(statement_import=statement_import, ticked={maya}, picks=picks, actor=owner)
        assert "pick the registration" in refused.value.errors[maya]

    assert not Payment.objects.filter(source=Payment.Source.STATEMENT).exists()
    statements.confirm_import(
        statement_import=statement_import, ticked={maya}, picks={maya: str(studio["maya_1"].pk)}, actor=owner
    )
    assert Payment.objects.get(source=Payment.Source.STATEMENT).registration == studio["maya_1"]


def test_an_unmatched_line_is_recorded_for_a_reference_the_owner_types(owner):
    september_studio()
    omar = registration("Omar", "Farouk-Smith", "45.00", reference="DRP-3B4C5D")
    statement_import = start(owner, VENMO_SEPTEMBER.read_bytes())
    line = index_of(statement_import, 12)

    with pytest.raises(LineErrors, match="type the reference"):
        statements.confirm_import(statement_import=statement_import, ticked={line}, actor=owner)
    with pytest.raises(LineErrors, match="no registration has the reference DRP-ZZZZZZ"):
        statements.confirm_import(
            statement_import=statement_import, ticked={line}, references={line: "DRP-ZZZZZZ"}, actor=owner
        )
    statements.confirm_import(
        statement_import=statement_import, ticked={line}, references={line: " drp-3b4c5d "}, actor=owner
    )

    omar.refresh_from_db()
    assert omar.payment_status == PaymentStatus.COMPLETED


@pytest.mark.parametrize("row", [13, 17, 18, 19, 21, 15])
def test_a_line_that_cannot_be_recorded_is_refused_even_if_ticked_by_hand(owner, row):
    september_studio()
    statement_import = start(owner, VENMO_SEPTEMBER.read_bytes())

    with pytest.raises(LineErrors):
        statements.confirm_import(
            statement_import=statement_import, ticked={index_of(statement_import, row)}, actor=owner
        )
    with pytest.raises(LineErrors):
        statements.confirm_import(statement_import=statement_import, ticked={999}, actor=owner)

    assert not Payment.objects.filter(source=Payment.Source.STATEMENT).exists()


def test_a_registration_canceled_since_the_preview_records_nothing_at_all(owner):
    studio = september_studio()
    statement_import = start(owner, VENMO_SEPTEMBER.read_bytes())
    ticked = {i for i, line in enumerate(statements.lines_of(statement_import)) if line.ticked}
    from registrations.transitions import cancel_registration

    cancel_registration(registration=studio["bruno"], actor=owner, reason="Changed plans")

    with pytest.raises(LineErrors) as refused:
        statements.confirm_import(statement_import=statement_import, ticked=ticked, actor=owner)

    assert "DRP-8M4RCD" in " ".join(refused.value.errors.values())
    assert not Payment.objects.filter(source=Payment.Source.STATEMENT).exists()
    assert not EmailLog.objects.filter(kind="payment_confirmed").exists()
    statement_import.refresh_from_db()
    assert statement_import.status == StatementImport.Status.PREVIEW


def test_a_line_for_a_paid_registration_becomes_credit_when_ticked(owner):
    studio = september_studio()
    statement_import = start(owner, VENMO_SEPTEMBER.read_bytes())

    statements.confirm_import(statement_import=statement_import, ticked={index_of(statement_import, 23)}, actor=owner)

    assert ledger.credit_balance(studio["pia"].student) == Decimal("35.00")
    assert CreditEntry.objects.get().reason == CreditEntry.Reason.OVERPAYMENT


def test_an_import_counts_lines_for_registrations_paid_already_apart_from_those_it_paid_in_full(owner):
    studio = september_studio()
    statement_import = start(owner, VENMO_SEPTEMBER.read_bytes())
    ana, pia = index_of(statement_import, 5), index_of(statement_import, 23)

    result = statements.confirm_import(statement_import=statement_import, ticked={ana, pia}, actor=owner)

    assert result.paid == [studio["ana"]]
    assert [registration for _line, registration in result.credited] == [studio["pia"]]
    assert EmailLog.objects.filter(kind="payment_confirmed").count() == 1  # Ana only: Pia was emailed before


def test_a_second_line_for_a_registration_the_first_line_paid_counts_as_credit(owner):
    ana = registration("Ana", "Lima", "35.00", reference="DRP-7K3QAB")
    statement_import = start(
        owner,
        venmo(venmo_row("1", "DRP-7K3QAB", "Ana Lima", "+ $35.00"), venmo_row("2", "DRP-7K3QAB", "Ana L", "+ $35.00")),
    )

    result = statements.confirm_import(statement_import=statement_import, ticked={0, 1}, actor=owner)

    assert result.paid == [ana]
    assert [line.transaction_id for line, _registration in result.credited] == ["2"]


def test_names_and_notes_with_markup_are_kept_as_typed(owner):
    september_studio()
    statement_import = start(owner, VENMO_SEPTEMBER.read_bytes())

    assert by_row(statement_import)[24].note == "DRP-2X6B3U, O'Brien & <b>Sons</b>"


# --- a bank's CSV (Zelle) -------------------------------------------------------------------------------------------------

BANK = (
    "Posting Date,Description,Amount,Type,Balance\n"
    "09/01/2026,Zelle payment from ANA LIMA Conf# BAC123XY,120.00,CREDIT,2120.00\n"
    "09/02/2026,ZELLE FROM CHLOE MARTIN ON 09/02 REF # WFC99,120.00,CREDIT,2240.00\n"
    "09/02/2026,Coffee Roasters #42,-4.50,DEBIT,2235.50\n"
    "09/03/2026,Zelle payment to JORDAN REYES,-80.00,DEBIT,2155.50\n"
    "09/04/2026,PAYROLL DEPOSIT,900.00,CREDIT,3055.50\n"
    "09/05/2026,Zelle payment from OMAR FAROUK Conf# XX1,45.00,CREDIT,3100.50\n"
    "09/05/2026,Zelle payment from OMAR FAROUK Conf# XX1,45.00,CREDIT,3145.50\n"
)


def test_a_bank_statement_asks_for_its_columns_once_and_reads_zelle_lines(owner):
    registration("Ana", "Lima", "120.00", reference="DRP-7K3QAB")
    registration("Chloé", "Martin", "120.00")

    waiting = start(owner, BANK, kind="bank", name="bank.csv")

    assert waiting.status == StatementImport.Status.MAPPING
    assert waiting.header == ["Posting Date", "Description", "Amount", "Type", "Balance"]
    assert not waiting.lines
    statement_import = statements.map_bank_columns(
        statement_import=waiting,
        date_column="Posting Date",
        description_column="Description",
        amount_column="Amount",
        id_column="",
    )
    lines = by_row(statement_import)
    assert [lines[n].status for n in range(2, 9)] == [
        LineStatus.MATCHED_BY_NAME,
        LineStatus.MATCHED_BY_NAME,
        LineStatus.IGNORED,
        LineStatus.IGNORED,
        LineStatus.IGNORED,
        LineStatus.UNMATCHED,
        LineStatus.UNMATCHED,  # the same line twice in one export: two payments, two ids
    ]
    assert lines[2].name == "ANA LIMA" and lines[3].name == "CHLOE MARTIN"
    assert lines[6].why == "Not a Zelle payment."
    assert lines[7].transaction_id != lines[8].transaction_id
    assert statement_import.source_text == ""
    assert BankColumnMapping.objects.count() == 1

    again = start(owner, BANK, kind="bank", name="bank.csv")  # remembered: straight to the preview

    assert again.status == StatementImport.Status.PREVIEW
    assert [line.transaction_id for line in statements.lines_of(again)] == [
        line.transaction_id for line in statements.lines_of(statement_import)
    ]


def test_a_bank_line_recorded_once_is_marked_imported_in_the_next_export(owner):
    ana = registration("Ana", "Lima", "120.00")
    BankColumnMapping.objects.create(
        header_signature=statements.header_signature(["Posting Date", "Description", "Amount", "Type", "Balance"]),
        date_column="Posting Date",
        description_column="Description",
        amount_column="Amount",
    )
    first = start(owner, BANK, kind="bank")
    statements.confirm_import(statement_import=first, ticked={0}, actor=owner)

    payment = Payment.objects.get()
    assert (payment.registration, payment.method) == (ana, "zelle")
    assert by_row(start(owner, BANK, kind="bank"))[2].status == LineStatus.IMPORTED


def test_bank_columns_must_be_columns_of_the_file(owner):
    waiting = start(owner, BANK, kind="bank")

    with pytest.raises(StatementError, match="Choose columns of this file."):
        statements.map_bank_columns(
            statement_import=waiting,
            date_column="When",
            description_column="Description",
            amount_column="Amount",
            id_column="",
        )
    with pytest.raises(StatementError, match="three different columns"):
        statements.map_bank_columns(
            statement_import=waiting,
            date_column="Amount",
            description_column="Description",
            amount_column="Amount",
            id_column="",
        )


def test_a_file_without_a_header_row_is_not_a_bank_statement(owner):
    with pytest.raises(StatementError, match="no header row"):
        start(owner, "just one column\nand another\n", kind="bank")


def test_the_fixture_statements_use_invented_names_only():
    text = VENMO_SEPTEMBER.read_text()

    assert "Invented sample" in text
    assert sorted(path.name for path in STATEMENTS.iterdir()) == ["venmo-2026-09.csv"]


def test_a_line_for_a_payment_confirmed_by_hand_says_it_is_most_likely_that_one(owner):
    from registrations.transitions import confirm_payment

    paid = registration("Ana", "Lima", "120.00", reference="DRP-7K3QAB")
    confirm_payment(registration=paid, actor=owner)  # seen in Venmo's notification, confirmed by hand

    statement_import = start(owner, venmo(venmo_row("1", "DRP-7K3QAB", "Ana Lima", "+ $120.00")))

    (line,) = statements.lines_of(statement_import)
    assert line.status == LineStatus.MATCHED and line.to_credit and not line.ticked
    assert "$120.00 was recorded by hand on" in line.why and "most likely this payment" in line.why


@pytest.mark.parametrize("note", ["DRP-7K3QAB", "dance class"], ids=["by reference", "by name and amount"])
def test_a_line_for_a_part_payment_recorded_by_hand_is_not_ticked_so_it_is_not_recorded_twice(owner, note):
    from registrations.transitions import confirm_payment

    pending = registration("Ana", "Lima", "120.00", reference="DRP-7K3QAB")
    confirm_payment(registration=pending, actor=owner, amount=Decimal("60.00"))  # recorded by hand, $60 still due

    statement_import = start(owner, venmo(venmo_row("1", note, "Ana Lima", "+ $60.00")))

    (line,) = statements.lines_of(statement_import)
    assert line.registration_id == pending.pk and line.status in (LineStatus.MATCHED, LineStatus.MATCHED_BY_NAME)
    assert not line.ticked
    assert "$60.00 was recorded by hand on" in line.why and "most likely this payment" in line.why
    # Ticked anyway (it was another payment), it is recorded and completes the registration.
    statements.confirm_import(statement_import=statement_import, ticked={0}, actor=owner)
    assert ledger.balance(pending).is_paid_in_full


def test_confirming_bumps_each_courses_catalog_version_once_after_every_slot_is_locked(owner, monkeypatch):
    """The course's version row is held from its bump until the commit: bumped between two slot locks, a request
    holding the second slot and bumping the same course would deadlock with the import."""
    from courses.tests.factories import CourseFactory, CourseSlotFactory
    from registrations import seats, transitions

    course = CourseFactory()
    first, second = CourseSlotFactory(course=course), CourseSlotFactory(course=course)
    registration("Ana", "Lima", "35.00", reference="DRP-7K3QAB", slot=first)
    registration("Bruno", "Costa", "35.00", reference="DRP-8M4RCD", slot=second)
    statement_import = start(
        owner,
        venmo(venmo_row("1", "DRP-7K3QAB", "Ana Lima", "+ $35.00"), venmo_row("2", "DRP-8M4RCD", "Bo C", "+ $35.00")),
    )
    calls = []
    lock_slot = seats.lock_slot
    monkeypatch.setattr(seats, "lock_slot", lambda slot: calls.append(("lock", slot.pk)) or lock_slot(slot))
    for module in (transitions, statements):
        monkeypatch.setattr(module, "seats_changed", lambda course_id: calls.append(("bump", course_id)))

    result = statements.confirm_import(statement_import=statement_import, ticked={0, 1}, actor=owner)

    assert len(result.paid) == 2
    assert calls == [("lock", first.pk), ("lock", second.pk), ("bump", course.pk)]
