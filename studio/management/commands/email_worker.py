"""`manage.py email_worker`: the worker that sends the portal's emails (TASKS_BACKEND=database), README "Deploying".

It is django-tasks-db's `db_worker` (same options), made to survive what stops that one:

- the database going away (a PostgreSQL restart, a network blip): it logs a warning, waits (1 s, 2 s, 4 s ... up to
  --max-backoff, with jitter) and tries again, instead of exiting; a task it had in hand is queued again once the
  database answers, and so is a task that failed only because the database did not answer;
- a worker killed in the middle of a task (`kill -9`, power loss), which leaves the task RUNNING for ever: every
  --stale-check seconds, tasks RUNNING for longer than --stale-after seconds are queued again, or marked failed once
  they have been started --max-attempts times.

So every task runs at least once. An email interrupted in the middle of its send may go out twice; both copies carry
the same Message-ID (studio/tasks.py), and the email log says the row may have been sent more than once.
"""

import datetime
import logging
import os
import random
import time

from django.conf import settings
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, close_old_connections, connections, transaction
from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

logger = logging.getLogger("studio.email_worker")

DATABASE_ERRORS = (OperationalError, InterfaceError)
# How a task that failed only because the database did not answer is recognised (DBTaskResult.exception_class_path).
DATABASE_ERROR_PATHS = {f"{error.__module__}.{error.__qualname__}" for error in DATABASE_ERRORS}
STALE_EXCEPTION_PATH = "studio.management.commands.email_worker.StaleTask"


class StaleTask(Exception):
    """Recorded on a task given up after it was started --max-attempts times without finishing."""


def recover_stale_tasks(
    *, backend_name: str, stale_after: float, max_attempts: int, now: datetime.datetime | None = None
) -> tuple[int, int]:
    """Tasks RUNNING since more than `stale_after` seconds: their worker died. Each is queued again (READY), or marked
    FAILED once it has been started `max_attempts` times. Returns (queued again, failed)."""
    now = now or timezone.now()
    requeued = failed = 0
    with transaction.atomic():
        stale = (
            DBTaskResult.objects.running()
            .filter(backend_name=backend_name, started_at__lt=now - datetime.timedelta(seconds=stale_after))
            .select_for_update(skip_locked=True)
        )
        for task_result in stale:
            if len(task_result.worker_ids) >= max_attempts:
                task_result.status = TaskResultStatus.FAILED
                task_result.finished_at = now
                task_result.exception_class_path = STALE_EXCEPTION_PATH
                task_result.traceback = (
                    f"Started {len(task_result.worker_ids)} times and never finished: given up (--max-attempts)."
                )
                task_result.save(update_fields=["status", "finished_at", "exception_class_path", "traceback"])
                failed += 1
                logger.error("Task %s (%s) never finished: marked failed", task_result.pk, task_result.task_path)
            else:
                task_result.status = TaskResultStatus.READY
                task_result.save(update_fields=["status"])
                requeued += 1
                logger.warning(
                    "Task %s (%s) was left running since %s (its worker died?): queued again",
                    task_result.pk,
                    task_result.task_path,
                    task_result.started_at,
                )
    return requeued, failed


def requeue_task(task_id, *, worker_id: str) -> bool:
    """Queue a task this worker had claimed again, if it is still RUNNING and still this worker's."""
    task_result = DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).first()
    if task_result is None or not task_result.worker_ids or task_result.worker_ids[-1] != worker_id:
        return False
    return bool(
        DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).update(status=TaskResultStatus.READY)
    )


class ResilientWorker(db_worker.Worker):
    """django-tasks-db's Worker with database retries and the recovery of tasks left running (see the module)."""

    def __init__(
        self, *, stale_after: float, stale_check: float, max_attempts: int, max_backoff: float, **options
    ) -> None:
        super().__init__(**options)
        self.stale_after = stale_after
        self.stale_check = stale_check
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self.in_hand = None  # the id of the task being run, while it runs
        self._next_stale_check = 0.0

    def run(self) -> None:
        logger.info("Starting email worker worker_id=%s queues=%s", self.worker_id, ",".join(self.queue_names))
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # noqa: S311 (a thundering herd, not a secret)
        failures = 0
        while self.running:
            try:
                if self.in_hand is not None:
                    # The database failed while a task was in hand: it may not have finished. Run it again.
                    if requeue_task(self.in_hand, worker_id=self.worker_id):
                        logger.warning("Task %s was interrupted by the database outage: queued again", self.in_hand)
                    self.in_hand = None
                if time.monotonic() >= self._next_stale_check:
                    recover_stale_tasks(
                        backend_name=self.backend_name, stale_after=self.stale_after, max_attempts=self.max_attempts
                    )
                    self._next_stale_check = time.monotonic() + self.stale_check
                if self.run_once():
                    return
            except DATABASE_ERRORS as error:
                failures += 1
                delay = min(self.max_backoff, 2 ** min(failures - 1, 16)) * random.uniform(0.75, 1.0)  # noqa: S311
                logger.warning(
                    "The database is unavailable (%s): trying again in %.1f s (attempt %d).",
                    str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__,
                    delay,
                    failures,
                )
                self._close_connections()
                time.sleep(delay)
                continue
            if failures:
                logger.warning("The database answers again after %d failed attempt(s).", failures)
                failures = 0

    @staticmethod
    def _close_connections() -> None:
        for connection in connections.all(initialized_only=True):
            try:
                connection.close()
            except DATABASE_ERRORS:
                pass  # the connection was already broken: closing it is all that was wanted

    def run_once(self) -> bool:
        """Claim and run one task (or sleep an interval when there is none); True when the worker should stop."""
        close_old_connections()
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        retrieved = True
        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(self.worker_id)
            except OperationalError as error:
                if not is_locked_database_exception(error):
                    raise
                retrieved, task_result = False, None  # SQLite's lock: try again
        if task_result is not None:
            self.run_task(task_result)
        if self.batch and retrieved and task_result is None:
            logger.info("No more tasks to run for worker_id=%s - exiting.", self.worker_id)
            return True
        if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
            logger.info("Ran the maximum of %d tasks on worker_id=%s - exiting.", self._run_tasks, self.worker_id)
            return True
        close_old_connections()
        if self.running and task_result is None:
            time.sleep(self.interval)
        return False

    def run_task(self, db_task_result: DBTaskResult) -> None:
        self.in_hand = db_task_result.pk
        super().run_task(db_task_result)
        if (
            db_task_result.status == TaskResultStatus.FAILED
            and db_task_result.exception_class_path in DATABASE_ERROR_PATHS
            and len(db_task_result.worker_ids) < self.max_attempts
        ):
            # It failed only because the database did not answer: it has not done its work, so it runs again.
            DBTaskResult.objects.filter(pk=db_task_result.pk, status=TaskResultStatus.FAILED).update(
                status=TaskResultStatus.READY, finished_at=None
            )
            logger.warning("Task %s failed on a database error: queued again", db_task_result.pk)
        self.in_hand = None


class Command(db_worker.Command):
    help = (
        "Run the email worker: django-tasks-db's db_worker that waits out database outages and queues again the tasks "
        "a killed worker left running."
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--stale-after",
            type=float,
            default=settings.TASKS_STALE_AFTER_SECONDS,
            help="Seconds after which a RUNNING task counts as abandoned and is queued again "
            "(default: TASKS_STALE_AFTER_SECONDS, %(default)s).",
        )
        parser.add_argument(
            "--stale-check", type=float, default=30.0, help="Seconds between two looks for abandoned tasks."
        )
        parser.add_argument(
            "--max-attempts",
            type=int,
            default=5,
            help="Times a task is started before an abandoned one is marked failed instead (default: %(default)s).",
        )
        parser.add_argument(
            "--max-backoff",
            type=float,
            default=60.0,
            help="Longest wait, in seconds, between two tries while the database is down (default: %(default)s).",
        )

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        stale_after: float,
        stale_check: float,
        max_attempts: int,
        max_backoff: float,
        **options,
    ) -> None:
        # db_worker's handle(), with this worker.
        self.configure_logging(verbosity)
        if reload and batch:
            logger.warning("--reload and --batch cannot be used together: not reloading.")
            reload = False
        queue_names = queue_name.split(",")
        excluded_queue_names = exclude_queues.split(",") if exclude_queues else []
        if excluded_queue_names and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ResilientWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded_queue_names,
            stale_after=stale_after,
            stale_check=stale_check,
            max_attempts=max_attempts,
            max_backoff=max_backoff,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()  # only the child process runs the worker
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
