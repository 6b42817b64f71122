"""Money under a race, on PostgreSQL where select_for_update() really locks (README "Payments"): two admins importing
the same statement at once record each payment once; one preview confirmed twice at once is confirmed once; two
registrations of one student at once spend their credit once."""

import threading
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from courses.tests.factories import CourseFactory, priced_slot
from registrations import ledger, statements
from registrations.models import CreditEntry, Payment, Registration, StatementImport
from registrations.services import register_student
from registrations.tests.factories import CreditGrantFactory
from registrations.tests.statement_fixtures import VENMO_SEPTEMBER, september_studio
from students.services import StudentDetails
from students.tests.factories import StudentFactory
from studio.models import EmailLog

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def at_once(*actions):
    """Run each action in its own thread, released together; return what each returned (or the error's repr)."""
    start = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def attempt(n, action):
        try:
            start.wait(timeout=10)
            outcomes[n] = action()
        except Exception as error:  # noqa: BLE001 - reported by the assertions
            outcomes[n] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n, action)) for n, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def preview(owner) -> tuple[StatementImport, set[int]]:
    statement_import = statements.start_import(
        upload=SimpleUploadedFile("venmo.csv", VENMO_SEPTEMBER.read_bytes(), "text/csv"), kind="venmo", actor=owner
    )
    ticked = {i for i, line in enumerate(statements.lines_of(statement_import)) if line.ticked}
    return statement_import, ticked


def test_two_admins_importing_the_same_statement_at_once_record_each_payment_once(django_user_model):
    owner = django_user_model.objects.create_user(username="owner", is_staff=True)
    partner = django_user_model.objects.create_user(username="partner", is_staff=True)
    september_studio()
    (first, ticked), (second, _same) = preview(owner), preview(partner)

    outcomes = at_once(
        lambda: statements.confirm_import(statement_import=first, ticked=ticked, actor=owner),
        lambda: statements.confirm_import(statement_import=second, ticked=ticked, actor=partner),
    )

    assert all(isinstance(outcome, statements.ImportResult) for outcome in outcomes), outcomes
    assert sum(len(outcome.recorded) for outcome in outcomes) == len(ticked)
    assert sum(len(outcome.already) for outcome in outcomes) == len(ticked)
    recorded = Payment.objects.filter(source=Payment.Source.STATEMENT)
    assert recorded.count() == len(ticked) == recorded.values("transaction_id").distinct().count()
    confirmed = list(EmailLog.objects.filter(kind="payment_confirmed").values_list("to_email", flat=True))
    assert len(confirmed) == len(set(confirmed)) == 7
    assert EmailLog.objects.filter(kind="payment_partial").count() == 1


def test_one_preview_confirmed_twice_at_once_is_recorded_once(django_user_model):
    owner = django_user_model.objects.create_user(username="owner", is_staff=True)
    september_studio()
    statement_import, ticked = preview(owner)

    outcomes = at_once(
        *[lambda: statements.confirm_import(statement_import=statement_import, ticked=ticked, actor=owner)] * 4
    )

    assert sum(isinstance(outcome, statements.ImportResult) for outcome in outcomes) == 1
    assert sum("confirmed already" in str(outcome) for outcome in outcomes) == 3
    assert Payment.objects.filter(source=Payment.Source.STATEMENT).count() == len(ticked)


def test_two_registrations_of_one_student_at_once_spend_their_credit_once():
    student = StudentFactory()
    CreditGrantFactory(student=student, amount=Decimal("50.00"))
    slots = [priced_slot(course=CourseFactory(), full_package="40.00") for _ in range(4)]

    def register(slot):
        return lambda: register_student(
            course=slot.course,
            slot=slot,
            pricing_type="full_package",
            payment_method="venmo",
            details=StudentDetails(email=student.email, first_name=student.first_name, last_name=student.last_name),
            verified_student=student,
        )

    outcomes = at_once(*[register(slot) for slot in slots])

    assert all(isinstance(outcome, Registration) for outcome in outcomes), outcomes
    used = CreditEntry.objects.filter(kind=CreditEntry.Kind.USED)
    assert sum(entry.amount for entry in used) == Decimal("50.00")
    assert sorted(r.credit_applied for r in Registration.objects.all()) == [0, 0, Decimal("10.00"), Decimal("40.00")]
    assert ledger.credit_balance(student) == 0


def wait_until_a_query_waits_for_a_lock(timeout: float = 10) -> None:
    """Return once another connection of this database waits for a row lock (a state, not a delay)."""
    deadline = threading.Event()
    for _ in range(int(timeout * 100)):
        with connection.cursor() as cursor:
            # Inside a transaction the activity view is a snapshot: take a fresh one each time.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        deadline.wait(0.01)
    raise AssertionError("Nobody waited for a lock.")


def test_confirming_a_statement_never_holds_a_course_version_while_waiting_for_a_slot(django_user_model):
    """A request that holds a slot and then bumps its course's catalog version (every registration does, last) must
    not deadlock with an import that confirmed a line of another slot of that course and waits for this one."""
    from courses.services import seats_changed
    from courses.tests.factories import CourseSlotFactory
    from registrations import seats
    from registrations.tests.statement_fixtures import registration

    owner = django_user_model.objects.create_user(username="owner", is_staff=True)
    course = CourseFactory()
    first, second = CourseSlotFactory(course=course), CourseSlotFactory(course=course)
    registration("Ana", "Lima", "35.00", reference="DRP-7K3QAB", slot=first)
    registration("Bruno", "Costa", "35.00", reference="DRP-8M4RCD", slot=second)
    header = VENMO_SEPTEMBER.read_text().splitlines()[2]
    rows = [
        f",{id_},2026-09-01T10:00:00,Payment,Complete,{reference},{name},Groove Studio,+ $35.00,,0,,0,,,Venmo balance,,,,Venmo,,"
        for id_, reference, name in [("1", "DRP-7K3QAB", "Ana Lima"), ("2", "DRP-8M4RCD", "Bruno Costa")]
    ]
    statement_import = statements.start_import(
        upload=SimpleUploadedFile("venmo.csv", "\n".join(["Statement", "Activity", header, *rows]).encode()),
        kind="venmo",
        actor=owner,
    )
    second_locked, outcomes = threading.Event(), {}

    def request_in_the_second_slot():
        try:
            with transaction.atomic():
                seats.lock_slot(second)
                second_locked.set()
                wait_until_a_query_waits_for_a_lock()  # the import, for the second slot
                seats_changed(course.pk)
            outcomes["request"] = "committed"
        except Exception as error:  # noqa: BLE001 - reported by the assertion
            outcomes["request"] = repr(error)
        finally:
            connection.close()

    def import_():
        try:
            second_locked.wait(timeout=10)
            result = statements.confirm_import(statement_import=statement_import, ticked={0, 1}, actor=owner)
            outcomes["import"] = len(result.paid)
        except Exception as error:  # noqa: BLE001 - reported by the assertion
            outcomes["import"] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=request_in_the_second_slot), threading.Thread(target=import_)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes == {"request": "committed", "import": 2}
