"""The email worker (README "Deploying"): it waits out database outages, runs again the tasks a killed worker left
running (at least once), and every email carries a stable Message-ID, so a duplicate is recognisable; the email log says
"may have been sent" where a send was interrupted."""

import datetime
import logging
import signal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from courses.tests.factories import priced_slot
from registrations.services import register_student
from students.services import StudentDetails
from studio.management.commands import email_worker
from studio.models import EmailLog
from studio.tasks import deliver_email

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def register(email="ana@example.org"):
    slot = priced_slot()
    return register_student(
        course=slot.course,
        slot=slot,
        pricing_type="full_package",
        payment_method="venmo",
        details=StudentDetails(email=email, first_name="Ana", last_name="Lima"),
    )


@pytest.fixture
def queued(settings):
    """A registration whose email is queued in the database, as on a production server."""
    settings.TASKS = DATABASE_TASKS
    register()
    return EmailLog.objects.get()


def run_worker(**options):
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("email_worker", batch=True, startup_delay=False, interval=0, verbosity=0, **options)
    finally:  # the worker installs its own signal handlers; give pytest its own back
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


# --- Message-ID and "may have been sent" --------------------------------------------------------------------------------


def test_every_email_has_a_message_id_made_from_its_log_row_and_the_site(settings, mailoutbox):
    settings.SITE_URL = "https://portal.example.com"
    log = EmailLog.objects.create(kind="registration_received", to_email="a@example.org", subject="s", body_text="t")

    deliver_email.call(log.pk)

    assert mailoutbox[0].extra_headers["Message-ID"] == f"<emaillog-{log.pk}@portal.example.com>"
    assert mailoutbox[0].message()["Message-ID"] == f"<emaillog-{log.pk}@portal.example.com>"


def test_an_interrupted_send_is_sent_again_with_the_same_message_id(mailoutbox, caplog):
    log = EmailLog.objects.create(kind="registration_received", to_email="a@example.org", subject="s", body_text="t")
    deliver_email.call(log.pk)
    first_id = mailoutbox[0].extra_headers["Message-ID"]
    # The worker was killed after handing the email to the mail server, before it could record "sent".
    EmailLog.objects.filter(pk=log.pk).update(status=EmailLog.Status.SENDING, sent_at=None)

    deliver_email.call(log.pk)

    log.refresh_from_db()
    assert [m.extra_headers["Message-ID"] for m in mailoutbox] == [first_id, first_id]
    assert (log.status, log.attempts) == (EmailLog.Status.SENT, 2)
    assert "more than once" in log.delivery_note
    assert "may have gone out" in caplog.text


def test_a_sent_row_is_never_sent_again(mailoutbox):
    log = EmailLog.objects.create(kind="registration_received", to_email="a@example.org", subject="s", body_text="t")
    deliver_email.call(log.pk)
    deliver_email.call(log.pk)

    assert len(mailoutbox) == 1
    assert EmailLog.objects.get().attempts == 1


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(username="owner", email="owner@example.org", password=None)


def test_the_email_log_says_may_have_been_sent_for_an_interrupted_row(admin_client):
    log = EmailLog.objects.create(
        kind="registration_received",
        to_email="a@example.org",
        subject="s",
        body_text="t",
        status=EmailLog.Status.SENDING,
        attempts=1,
    )

    listed = admin_client.get(reverse("admin:studio_emaillog_changelist")).content.decode()
    page = admin_client.get(reverse("admin:studio_emaillog_change", args=[log.pk])).content.decode()

    assert "may have been sent" in listed
    assert "May have been sent" in page
    assert f"&lt;emaillog-{log.pk}@" in page


# --- tasks left running ----------------------------------------------------------------------------------------------


def running_task(*, started_minutes_ago: int, attempts: int = 1) -> DBTaskResult:
    task_result = DBTaskResult.objects.create(
        args_kwargs={"args": [0], "kwargs": {}},
        task_path="studio.tasks.deliver_email",
        backend_name="default",
        run_after=timezone.now(),
        status="RUNNING",
        started_at=timezone.now() - datetime.timedelta(minutes=started_minutes_ago),
        worker_ids=[f"dead-{n}" for n in range(attempts)],
    )
    return task_result


def test_tasks_running_past_the_timeout_are_queued_again_and_fresh_ones_left_alone():
    stale = running_task(started_minutes_ago=11)
    fresh = running_task(started_minutes_ago=1)
    hopeless = running_task(started_minutes_ago=11, attempts=5)

    requeued, failed = email_worker.recover_stale_tasks(backend_name="default", stale_after=600, max_attempts=5)

    statuses = {t.pk: t.status for t in DBTaskResult.objects.all()}
    assert (requeued, failed) == (1, 1)
    assert statuses == {stale.pk: "READY", fresh.pk: "RUNNING", hopeless.pk: "FAILED"}
    assert "never finished" in DBTaskResult.objects.get(pk=hopeless.pk).traceback


@pytest.mark.django_db(transaction=True)
def test_an_email_whose_worker_was_killed_mid_send_is_sent_by_the_next_worker(queued, mailoutbox):
    """kill -9 during the SMTP conversation: the task stays RUNNING and the row `sending`. The next worker queues it
    again after the timeout and sends it (at least once), with the same Message-ID."""
    task_result = DBTaskResult.objects.get()
    task_result.claim("killed-worker")
    DBTaskResult.objects.filter(pk=task_result.pk).update(started_at=timezone.now() - datetime.timedelta(minutes=11))
    EmailLog.objects.filter(pk=queued.pk).update(status=EmailLog.Status.SENDING, attempts=1)

    run_worker(stale_after=600)

    log = EmailLog.objects.get()
    assert (log.status, log.attempts) == (EmailLog.Status.SENT, 2)
    assert [m.extra_headers["Message-ID"] for m in mailoutbox] == [f"<emaillog-{log.pk}@127.0.0.1>"]
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == ["SUCCESSFUL"]


@pytest.mark.django_db(transaction=True)
def test_a_task_that_failed_because_the_database_did_not_answer_runs_again(queued, mailoutbox, monkeypatch):
    real = email_worker.db_worker.Worker.run_task
    calls = []

    def database_gone_once(self, db_task_result):
        calls.append(db_task_result.pk)
        if len(calls) == 1:
            # What the library records when the task raised a database error.
            db_task_result.set_failed(OperationalError("server closed the connection unexpectedly"))
            return
        real(self, db_task_result)

    monkeypatch.setattr(email_worker.db_worker.Worker, "run_task", database_gone_once)

    run_worker()

    assert len(calls) == 2
    assert EmailLog.objects.get().status == EmailLog.Status.SENT
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == ["SUCCESSFUL"]


# --- the database going away -------------------------------------------------------------------------------------------


def make_worker(**overrides) -> email_worker.ResilientWorker:
    options = {
        "queue_names": ["default"],
        "interval": 0,
        "batch": True,
        "backend_name": "default",
        "startup_delay": False,
        "max_tasks": None,
        "worker_id": "test-worker",
        "excluded_queue_names": [],
        "stale_after": 600,
        "stale_check": 30,
        "max_attempts": 5,
        "max_backoff": 30,
        **overrides,
    }
    return email_worker.ResilientWorker(**options)


def test_the_worker_waits_out_a_database_outage_with_growing_pauses(monkeypatch, caplog):
    """django-tasks-db's own worker exits on the first OperationalError; this one tries again."""
    worker = make_worker()
    outage = iter([True, True, True, True, False])
    pauses = []

    def run_once():
        if next(outage):
            raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')
        return True  # the database answers again and the batch is done

    monkeypatch.setattr(worker, "run_once", run_once)
    monkeypatch.setattr(email_worker, "recover_stale_tasks", lambda **kwargs: (0, 0))
    monkeypatch.setattr(email_worker.time, "sleep", pauses.append)
    caplog.set_level(logging.WARNING, logger="studio.email_worker")

    worker.run()

    assert len(pauses) == 4
    assert pauses == sorted(pauses) and pauses[-1] > pauses[0] * 4  # 1, 2, 4, 8 s, with jitter
    assert caplog.text.count("The database is unavailable") == 4


def test_the_pauses_stop_growing_at_the_maximum(monkeypatch):
    worker = make_worker(max_backoff=5)
    outage = iter([True] * 8 + [False])
    pauses = []

    def run_once():
        if next(outage):
            raise OperationalError("the database system is shutting down")
        return True

    monkeypatch.setattr(worker, "run_once", run_once)
    monkeypatch.setattr(email_worker, "recover_stale_tasks", lambda **kwargs: (0, 0))
    monkeypatch.setattr(email_worker.time, "sleep", pauses.append)

    worker.run()

    assert max(pauses) <= 5


@pytest.mark.django_db(transaction=True)
def test_a_task_in_hand_when_the_database_went_away_is_queued_again(queued, mailoutbox, monkeypatch):
    real = email_worker.ResilientWorker.run_task
    calls = []

    def database_gone_mid_task(self, db_task_result):
        calls.append(db_task_result.pk)
        if len(calls) == 1:
            self.in_hand = db_task_result.pk
            raise OperationalError("terminating connection due to administrator command")
        real(self, db_task_result)

    monkeypatch.setattr(email_worker.ResilientWorker, "run_task", database_gone_mid_task)
    monkeypatch.setattr(email_worker.time, "sleep", lambda seconds: None)

    run_worker()

    assert len(calls) == 2
    assert EmailLog.objects.get().status == EmailLog.Status.SENT
    assert len(mailoutbox) == 1


def test_the_systemd_unit_runs_the_email_worker_and_restarts_it():
    unit = (ROOT / "deploy" / "dance-portal-worker.service").read_text()

    assert "manage.py email_worker" in unit
    assert "Restart=always" in unit
