"""The production stack on 127.0.0.1, end to end (run by scripts/prod_check.sh inside scripts/pg.sh's throwaway cluster).

DEBUG off, PostgreSQL from DATABASE_URL, `migrate` and `collectstatic`, two gunicorn instances (deploy/gunicorn.conf.py)
on two ports sharing the database, `manage.py email_worker` sending email through an SMTP sink (aiosmtpd, this file's
`sink` mode) that writes every message it receives to a folder. Then:
  1. static files: hashed names with far-future cache headers, gzip; /healthz on both instances; the 404 page;
     the rate limits are shared: one client's offer-link requests alternating between the two instances get the 429
     page at the limit + 1st, and a request without X-Real-IP (a health check) is counted by its socket, not a 500;
  2. the last seats: 20 students POST at once, split over both instances, for the last 3 seats of a slot:
     exactly 3 are registered, the others see the "class is full" message, nothing answers 5xx;
  3. the worker delivers every "registration received" email to the sink;
  4. the worker is stopped (SIGTERM, as `systemctl restart` does) in the middle of a batch and started again:
     every EmailLog row ends `sent` and the sink holds exactly one message per row;
  5. the worker is killed (SIGKILL) in the middle of an SMTP conversation, after the sink kept the message: the next
     worker queues the abandoned task again after TASKS_STALE_AFTER_SECONDS and sends it again; every row ends
     `sent`, each message in the sink carries its row's Message-ID, and the interrupted one is there twice with one
     Message-ID (at least once, and the duplicate is recognisable);
  6. PostgreSQL is stopped and started again under the running worker: the worker waits and goes on (same process),
     and the emails of registrations made after the outage are delivered.
Everything it started is stopped on the way out. Loopback only; bounded in time (DEADLINE seconds).
"""

import argparse
import concurrent.futures
import email
import email.policy
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
HOST = "127.0.0.1"
DEADLINE = 150  # seconds for the whole check; every wait below is bounded by it
STARTED = time.monotonic()

CAPACITY = 5  # the slot's seats; PRE_REGISTERED of them are taken before the race
PRE_REGISTERED = 2
RACERS = 20
BATCH = 12  # registrations whose emails are in the queue when the worker is stopped
# The SlotFull error, or the course page's own notice when the slot was already full as the POST arrived.
FULL_MESSAGE = "This class is full."
# Seconds the sink takes per message: quick at first, slow for the batch, so it is still being sent when the worker stops.
SINK_DELAY, SINK_DELAY_BATCH = 0.05, 0.5
# The limit on offer-link requests per client (RATELIMIT_WAITLIST_OFFER, set so below); a garbage token is a 404.
OFFER_LIMIT = 30
GARBAGE_OFFER = "/waitlist/offer/" + "x" * 43 + "/"
# A task RUNNING longer than this is abandoned (a killed worker): the restarted worker queues it again.
STALE_AFTER = 3


# The email worker as deploy/dance-portal-worker.service runs it, polling faster.
WORKER = [PYTHON, "manage.py", "email_worker", "--interval", "0.2", "--no-startup-delay"]


class CheckFailed(Exception):
    pass


def database_server(action: str, *options: str) -> None:
    """pg_ctl stop/start of scripts/pg.sh's throwaway cluster (as the postgres user when this runs as root)."""
    as_server_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    pg_ctl = str(Path(os.environ["PG_SH_BINDIR"]) / "pg_ctl")
    result = subprocess.run(
        [*as_server_user, pg_ctl, "-D", os.environ["PG_SH_DATA"], "-w", *options, action],
        cwd="/tmp",
        capture_output=True,
        text=True,
        timeout=min(60, time_left()),
    )
    if result.returncode != 0:
        raise CheckFailed(f"pg_ctl {action} failed:\n{result.stdout}\n{result.stderr}")


def say(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {text}", flush=True)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise CheckFailed(what)


def time_left() -> float:
    left = DEADLINE - (time.monotonic() - STARTED)
    if left <= 0:
        raise CheckFailed(f"the check ran over its {DEADLINE} s budget")
    return left


def wait_for(what: str, predicate, timeout: float, interval: float = 0.1):
    """Poll predicate() until it returns something truthy (returned), or fail after `timeout` seconds."""
    end = time.monotonic() + min(timeout, time_left())
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise CheckFailed(f"timed out waiting for {what}")
        time.sleep(interval)


def free_port(preferred: range) -> int:
    """The first port of `preferred` nobody listens on (ports 8301-8310 are this check's), else any free one."""
    for port in preferred:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does: TIME_WAIT is no obstacle
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --- processes ----------------------------------------------------------------------------------------------------


class Stack:
    """The processes this check started, each in its own process group, stopped in reverse order on exit."""

    def __init__(self, workdir: Path, env: dict):
        self.workdir = workdir
        self.env = env
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], **env) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append((name, process))
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 15) -> int:
        """SIGTERM (a graceful stop for gunicorn and email_worker), SIGKILL if it is still running after `timeout`."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        return process.returncode

    def stop_all(self) -> None:
        for _name, process in reversed(self.processes):
            try:
                self.stop(process, timeout=10)
            except ProcessLookupError:
                pass

    def log_tail(self, name: str, lines: int = 25) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def manage(env: dict, *args: str, stdin: str | None = None) -> str:
    """Run `manage.py ARGS`, fail with its output if it fails; return its stdout."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=min(120, time_left()),
    )
    if result.returncode != 0:
        raise CheckFailed(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def shell_json(env: dict, code: str):
    """Run Python in `manage.py shell` and return the JSON it prints on its last line."""
    output = manage(env, "shell", "--no-imports", "-c", code)
    return json.loads(output.strip().splitlines()[-1])


# --- HTTP -----------------------------------------------------------------------------------------------------------


def request(port: int, method: str, path: str, *, body: str | None = None, headers: dict | None = None):
    """One HTTP request to 127.0.0.1:port as if through nginx with TLS (X-Forwarded-Proto: https).

    Returns (status, headers as a list of pairs, body as text)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        all_headers = {"X-Forwarded-Proto": "https", **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read().decode("utf-8", errors="replace")
    finally:
        connection.close()


def set_cookies(headers) -> dict:
    """name → value from Set-Cookie headers. Kept by hand: the cookies are Secure (and __Host-) while this client
    talks plain http to gunicorn, as nginx does; a cookie jar would drop them."""
    cookies = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _, val = pair.partition("=")
            cookies[key.strip()] = val.strip()
    return cookies


def header(headers, name: str) -> str:
    return next((value for key, value in headers if key.lower() == name.lower()), "")


class Student:
    """One phone: its own client IP (X-Real-IP, as nginx sets it), cookies and CSRF token."""

    def __init__(self, *, port: int, number: int, tag: str):
        self.port = port
        self.email = f"{tag}-{number:03d}@example.com"
        self.ip = f"10.{number // 250}.{number % 250}.{7 if tag == 'race' else 9}"
        self.cookies: dict = {}
        self.token = ""

    def headers(self, path: str) -> dict:
        origin = f"https://{HOST}:{self.port}"
        headers = {"X-Real-IP": self.ip, "Origin": origin, "Referer": origin + path}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def open_course(self, path: str) -> None:
        status, headers, body = request(self.port, "GET", path, headers=self.headers(path))
        check(status == 200, f"GET {path} on :{self.port} answered {status}")
        self.cookies.update(set_cookies(headers))
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        check(match is not None, f"no CSRF token on {path}")
        self.token = match.group(1)

    def register(self, path: str, slot_id: int) -> tuple[int, str, str]:
        """POST the registration form; returns (status, Location, body)."""
        from urllib.parse import urlencode

        form = {
            "csrfmiddlewaretoken": self.token,
            "slot": slot_id,
            "pricing_type": "full_package",
            "payment_method": "venmo",
            "email": self.email,
            "first_name": "Prod",
            "last_name": f"Check {self.email.split('@')[0]}",
            "phone": "",
            "instagram_handle": "",
            "website": "",
        }
        # The course page's form posts to its register address (registrations:create).
        status, headers, body = request(
            self.port, "POST", path + "register/", body=urlencode(form), headers=self.headers(path)
        )
        return status, header(headers, "Location"), body


def register_all(students: list[Student], path: str, slot_id: int) -> list[tuple[int, str, str]]:
    """Every student opens the page first (own cookies and token), then all POST at the same moment."""
    for student in students:
        student.open_course(path)
    start = threading.Barrier(len(students))

    def post(student: Student):
        start.wait(timeout=30)
        return student.register(path, slot_id)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(students)) as pool:
        return list(pool.map(post, students, timeout=min(60, time_left())))


# --- the SMTP sink ----------------------------------------------------------------------------------------------------


def run_sink(port: int, folder: Path, delay_file: Path) -> None:
    """An SMTP server on 127.0.0.1:port writing each message it accepts to folder/<n>.eml (sink mode), after waiting
    the seconds written in delay_file."""
    import asyncio

    from aiosmtpd.controller import Controller

    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 1_000_000))

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            n = next(counter)
            # The message is kept first, then the sink takes its time to answer "250": a worker killed in between
            # has had its email accepted without knowing it (the check kills one then: the marker says when).
            temporary = folder / f".{n:05d}.tmp"
            temporary.write_bytes(envelope.original_content or envelope.content)
            temporary.rename(folder / f"{n:05d}.eml")  # whole files only: the checker may be counting right now
            answering = folder / f"{n:05d}.receiving"
            answering.touch()
            try:
                await asyncio.sleep(float(delay_file.read_text()))  # a slow mail server, when the check asks for one
            finally:
                answering.unlink()
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname=HOST, port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"SMTP sink on {HOST}:{port} writing to {folder}", flush=True)
    stop.wait()
    controller.stop()


def set_sink_delay(delay_file: Path, seconds: float) -> None:
    """Replace the file whole (a rename): the sink may be reading it right now."""
    temporary = delay_file.with_suffix(".tmp")
    temporary.write_text(str(seconds))
    temporary.rename(delay_file)


def sink_messages(folder: Path) -> list[tuple[str, str]]:
    """(To, Subject) of every message in the sink."""
    return [(to, subject) for to, subject, _message_id in sink_messages_with_ids(folder)]


def sink_messages_with_ids(folder: Path) -> list[tuple[str, str, str]]:
    """(To, Subject, Message-ID) of every message in the sink."""
    messages = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        messages.append((str(message["To"]), str(message["Subject"]), str(message["Message-ID"])))
    return messages


def receiving(folder: Path) -> bool:
    """True while the sink has kept a message and not yet answered "250" for it."""
    return any(folder.glob("*.receiving"))


# --- the check ------------------------------------------------------------------------------------------------------

SETUP = """
import datetime, json
from django.utils import timezone
from courses import services as course_services
from courses.models import Course, CourseSlot
from registrations import services
from students.services import StudentDetails
today = timezone.localdate()
def course(name, capacity):
    course = course_services.save_course(course=Course(
        name=name, course_type=Course.CourseType.SERIES, start_date=today + datetime.timedelta(days=7),
        end_date=today + datetime.timedelta(days=63)))
    slot = course_services.save_slot(
        slot=CourseSlot(course=course, capacity=capacity, day_of_week=today.weekday(), start_time=datetime.time(19),
                        end_time=datetime.time(20, 30), location="Studio A"),
        prices={"full_package": 120})
    return course, slot
race_course, race_slot = course("Prod check: the last seats", %(capacity)d)
for n in range(%(pre)d):
    services.register_student(course=race_course, slot=race_slot, pricing_type="full_package", payment_method="venmo",
        details=StudentDetails(email=f"early-{n}@example.com", first_name="Early", last_name=f"Bird {n}"))
batch_course, batch_slot = course("Prod check: worker restart", 100)
print(json.dumps({"race": [race_course.pk, race_slot.pk], "batch": [batch_course.pk, batch_slot.pk]}))
"""

COUNTS = """
import json
from django.db.models import Count
from studio.models import EmailLog
from registrations.models import Registration
from django_tasks_db.models import DBTaskResult
active = Registration.objects.filter(slot_id=%(slot)d, payment_status__in=["pending", "completed"])
print(json.dumps({
    "active": active.count(),
    "emails": dict(EmailLog.objects.values_list("status").annotate(n=Count("pk")).order_by()),
    "tasks": dict(DBTaskResult.objects.values_list("status").annotate(n=Count("pk")).order_by()),
    "sent": sorted([to, subject] for to, subject in EmailLog.objects.filter(status="sent").values_list("to_email", "subject")),
    "attempts": {str(pk): attempts for pk, attempts in EmailLog.objects.values_list("pk", "attempts")},
}))
"""


def counts(env: dict, slot_id: int) -> dict:
    return shell_json(env, COUNTS % {"slot": slot_id})


def main() -> int:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        print("ERROR: run through scripts/prod_check.sh (it starts a throwaway PostgreSQL and sets DATABASE_URL)")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="dance-portal-prod-check."))
    sink_dir = workdir / "mail"
    smtp_port = free_port(range(8310, 8311))
    web_ports = [free_port(range(8301, 8305)), None]
    web_ports[1] = free_port(range(web_ports[0] + 1, 8309))
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "prod-check-only-" + os.urandom(16).hex(),
        "ALLOWED_HOSTS": HOST,
        "SECURE_SSL_REDIRECT": "0",  # nginx would redirect; here the client says https with X-Forwarded-Proto
        "SITE_URL": f"https://{HOST}:{web_ports[0]}",
        "STATIC_ROOT": str(workdir / "static"),
        "EMAIL_URL": f"smtp://{HOST}:{smtp_port}",
        "TASKS_BACKEND": "database",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        # Every simulated phone has its own address, passed on by "nginx" in X-Real-IP, as in deploy/nginx.conf.
        "RATELIMIT_IP_META_KEY": "HTTP_X_REAL_IP",
        "RATELIMIT_WAITLIST_OFFER": f"{OFFER_LIMIT}/h",
        "GUNICORN_WORKERS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    stack = Stack(workdir, env)
    summary = []
    failed = False
    try:
        say(f"working folder {workdir}; database {database_url}")
        started = time.monotonic()
        manage(env, "migrate", "--no-input", "-v", "0")
        summary.append(f"migrate {time.monotonic() - started:.1f}s")
        started = time.monotonic()
        manage(env, "collectstatic", "--no-input", "-v", "0")
        summary.append(f"collectstatic {time.monotonic() - started:.1f}s")
        manage(env, "check", "--deploy", "--fail-level", "ERROR")
        say("migrated, static files collected")

        sink_delay = workdir / "sink-delay"
        set_sink_delay(sink_delay, SINK_DELAY)
        sink = stack.start(
            "smtp-sink", [PYTHON, __file__, "sink", str(smtp_port), str(sink_dir), str(sink_delay)], PYTHONPATH=""
        )
        for n, port in enumerate(web_ports, start=1):
            stack.start(
                f"web{n}",
                [GUNICORN, "-c", "deploy/gunicorn.conf.py", "dance_portal.wsgi"],
                GUNICORN_BIND=f"{HOST}:{port}",
            )
        worker = stack.start("worker1", WORKER)

        def healthy(port):
            try:
                return request(port, "GET", "/healthz")[0] == 200
            except OSError:
                return False

        for port in web_ports:
            wait_for(f"/healthz on :{port}", lambda port=port: healthy(port), timeout=30)
        wait_for("the SMTP sink", lambda: sink_dir.exists() or sink.poll() is not None, timeout=15)
        check(sink.poll() is None, "the SMTP sink did not start:\n" + stack.log_tail("smtp-sink"))
        say(
            f"up: gunicorn on :{web_ports[0]} and :{web_ports[1]} (2 workers each), email_worker, SMTP sink on :{smtp_port}"
        )

        # 1. the 404 page, static files with hashed names and far-future cache headers
        status, _, body = request(web_ports[1], "GET", "/no-such-page/")
        check(status == 404, f"an unknown address answered {status}")
        css = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', body)
        check(css is not None, "the 404 page does not link a hashed site.css (manifest storage)")
        status, headers, _ = request(web_ports[0], "GET", css.group(1), headers={"Accept-Encoding": "gzip"})
        cache_control = header(headers, "Cache-Control")
        check(
            status == 200 and "max-age=315360000" in cache_control and "immutable" in cache_control,
            f"hashed static file: {status}, Cache-Control {cache_control!r}",
        )
        check(header(headers, "Content-Encoding") == "gzip", "hashed static file not served gzipped")
        say(f"static: {css.group(1)} → Cache-Control {cache_control}, gzip; 404 page in the site's layout")

        # 1b. the rate limits are shared by both instances (and their workers): the limit + 1st request is refused
        one_client = {"X-Real-IP": "10.99.0.1"}
        answers = [
            request(web_ports[n % 2], "GET", GARBAGE_OFFER, headers=one_client)[0] for n in range(OFFER_LIMIT + 2)
        ]
        check(
            answers == [404] * OFFER_LIMIT + [429, 429],
            f"offer-link requests of one client over both instances: {answers} (limit {OFFER_LIMIT})",
        )
        # A request without X-Real-IP (a health check, a balancer talking to gunicorn): its socket address counts.
        status, _, _ = request(web_ports[0], "GET", GARBAGE_OFFER)
        check(status == 404, f"an offer-link request without X-Real-IP answered {status}")
        say(
            f"rate limits: one client over both instances got 404 ×{OFFER_LIMIT}, then 429 (shared counter); "
            "no X-Real-IP → counted by socket, 404"
        )
        summary.append(f"shared rate limit: 429 at request {OFFER_LIMIT + 1} over 2 instances")

        # 2. the last seats, from both instances at once
        ids = shell_json(env, SETUP % {"capacity": CAPACITY, "pre": PRE_REGISTERED})
        race_course, race_slot = ids["race"]
        path = f"/courses/{race_course}/"
        students = [Student(port=web_ports[n % 2], number=n, tag="race") for n in range(RACERS)]
        started = time.monotonic()
        results = register_all(students, path, race_slot)
        race_seconds = time.monotonic() - started
        statuses = [status for status, _, _ in results]
        won = [
            s
            for s, (status, location, _) in zip(students, results, strict=True)
            if status == 302 and "/registrations/" in location
        ]
        refused = [
            s for s, (status, _, body) in zip(students, results, strict=True) if status == 200 and FULL_MESSAGE in body
        ]
        check(not [s for s in statuses if s >= 500], f"5xx answers in the race: {statuses}")
        last_seats = CAPACITY - PRE_REGISTERED
        check(len(won) == last_seats, f"{len(won)} registered for {last_seats} last seats (statuses {statuses})")
        if len(refused) != RACERS - last_seats:
            other = next(body for (status, _, body), s in zip(results, students, strict=True) if s not in won + refused)
            (workdir / "unexpected.html").write_text(other)
        check(
            len(refused) == RACERS - last_seats,
            f"{len(refused)} saw the full message (statuses {statuses}); one other answer: {workdir}/unexpected.html",
        )
        state = counts(env, race_slot)
        check(state["active"] == CAPACITY, f"{state['active']} active registrations on a slot of {CAPACITY}")
        by_port = {port: sum(1 for s in won if s.port == port) for port in web_ports}
        say(
            f"race: {RACERS} POSTs over both instances in {race_seconds:.2f}s → {len(won)} registered "
            f"(per port {by_port}), {len(refused)} told the class is full, no 5xx; slot {state['active']}/{CAPACITY}"
        )
        summary.append(f"race {len(won)}/{RACERS} won, slot {state['active']}/{CAPACITY}, 0 oversold, 0 5xx")

        # 3. the worker delivers them
        expected = PRE_REGISTERED + last_seats
        wait_for("the registration emails in the sink", lambda: len(sink_messages(sink_dir)) >= expected, timeout=30)
        state = wait_for(
            "every EmailLog row sent",
            lambda: (s := counts(env, race_slot))["emails"] == {"sent": expected} and s,
            timeout=20,
        )
        delivered = sink_messages(sink_dir)
        check(sorted(list(m) for m in delivered) == state["sent"], "the sink's messages differ from the EmailLog rows")
        check(all(s.email in [to for to, _ in delivered] for s in won), "a winner's email is not in the sink")
        say(f"worker: {len(delivered)} emails delivered to the sink, every EmailLog row sent")

        # 4. stop the worker in the middle of a batch, register more while it is down, start it again
        batch_course, batch_slot = ids["batch"]
        path = f"/courses/{batch_course}/"
        batch = [Student(port=web_ports[n % 2], number=n, tag="batch") for n in range(BATCH)]
        set_sink_delay(sink_delay, SINK_DELAY_BATCH)
        results = register_all(batch, path, batch_slot)
        check(all(status == 302 for status, _, _ in results), f"batch registrations: {[r[0] for r in results]}")
        before = len(delivered)
        wait_for(
            "the first batch emails", lambda: len(sink_messages(sink_dir)) >= before + 2, timeout=20, interval=0.02
        )
        code = stack.stop(worker, timeout=20)
        at_stop = len(sink_messages(sink_dir)) - before
        state = counts(env, batch_slot)
        queued = state["emails"].get("queued", 0)
        check(queued > 0, f"the worker finished the batch before it was stopped (sent {at_stop}); nothing was tested")
        check(state["tasks"].get("RUNNING", 0) == 0, f"a task was left running: {state['tasks']}")
        say(f"worker stopped (SIGTERM, exit {code}) after {at_stop} of {BATCH} batch emails; {queued} still queued")
        late = [Student(port=web_ports[n % 2], number=100 + n, tag="batch") for n in range(3)]
        results = register_all(late, path, batch_slot)
        check(all(status == 302 for status, _, _ in results), "registering while the worker is down failed")
        worker = stack.start("worker2", WORKER)
        total = expected + BATCH + len(late)
        state = wait_for(
            "every email sent after the restart",
            lambda: (s := counts(env, batch_slot))["emails"] == {"sent": total} and s,
            timeout=60,
            interval=0.5,
        )
        wait_for("the sink to hold every email", lambda: len(sink_messages(sink_dir)) >= total, timeout=10)
        time.sleep(SINK_DELAY_BATCH * 2)  # a duplicate would arrive now
        delivered = sink_messages(sink_dir)
        check(len(delivered) == total, f"the sink holds {len(delivered)} messages for {total} EmailLog rows")
        check(sorted(list(m) for m in delivered) == state["sent"], "the sink's messages differ from the EmailLog rows")
        check(state["tasks"] == {"SUCCESSFUL": total}, f"task results: {state['tasks']}")
        say(
            f"restart: all {total} EmailLog rows sent, {len(delivered)} messages in the sink (one per row), "
            f"{state['tasks']['SUCCESSFUL']} tasks successful"
        )
        summary.append(f"worker restart: {at_stop}/{BATCH} sent before the stop, {queued} waited, 0 lost")
        summary.append(f"emails {total} sent = {len(delivered)} in the SMTP sink")

        # 5. kill -9 in the middle of an SMTP conversation; the next worker sends the abandoned email again
        set_sink_delay(sink_delay, 1.0)
        killed = [Student(port=web_ports[n % 2], number=200 + n, tag="batch") for n in range(4)]
        results = register_all(killed, path, batch_slot)
        check(
            all(status == 302 for status, _, _ in results), f"registrations before the kill: {[r[0] for r in results]}"
        )
        wait_for(
            "an email in the middle of its SMTP conversation", lambda: receiving(sink_dir), timeout=20, interval=0.01
        )
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        state = counts(env, batch_slot)
        check(state["tasks"].get("RUNNING", 0) == 1, f"after the kill, task results: {state['tasks']}")
        check(state["emails"].get("sending", 0) == 1, f"after the kill, email rows: {state['emails']}")
        say(f"worker killed (SIGKILL) mid-send: tasks {state['tasks']}, emails {state['emails']}")
        set_sink_delay(sink_delay, SINK_DELAY)
        worker = stack.start("worker3", [*WORKER, "--stale-check", "1"], TASKS_STALE_AFTER_SECONDS=str(STALE_AFTER))
        total += len(killed)
        state = wait_for(
            "every email sent after the kill",
            lambda: (s := counts(env, batch_slot))["emails"] == {"sent": total} and s,
            timeout=40,
            interval=0.5,
        )
        check(state["tasks"] == {"SUCCESSFUL": total}, f"task results after the kill: {state['tasks']}")
        time.sleep(1.5)  # a late copy would arrive now
        ids = [message_id for _to, _subject, message_id in sink_messages_with_ids(sink_dir)]
        retried = [pk for pk, attempts in state["attempts"].items() if attempts > 1]
        check(len(retried) == 1, f"rows sent more than once: {retried} (attempts {state['attempts']})")
        host = HOST
        # The interrupted email had reached the sink before the kill: it is there twice, recognisable by its
        # Message-ID; every other email once.
        for pk in state["attempts"]:
            copies = ids.count(f"<emaillog-{pk}@{host}>")
            check(copies == (2 if pk in retried else 1), f"EmailLog {pk}: {copies} messages with its Message-ID")
        check(len(ids) == total + 1, f"the sink holds {len(ids)} messages for {total} rows")
        say(
            f"kill -9: the abandoned task was queued again after {STALE_AFTER}s and sent (at least once): "
            f"{len(ids)} messages for {total} rows, the interrupted one twice with one Message-ID"
        )
        summary.append(f"kill -9 mid-send: re-sent after {STALE_AFTER}s, duplicates share a Message-ID, 0 lost")

        # 6. PostgreSQL goes away under the running worker and comes back
        database_server("stop", "-m", "fast")
        time.sleep(3)  # the worker (0.2 s polling) meets the outage and waits
        check(worker.poll() is None, "the worker exited when the database went away:\n" + stack.log_tail("worker3"))
        database_server("start", "-l", os.environ["PG_SH_LOG"], "-o", os.environ["PG_SH_OPTIONS"], "-t", "60")
        after = [Student(port=web_ports[n % 2], number=300 + n, tag="batch") for n in range(2)]
        wait_for("both instances after the restart", lambda: all(healthy(port) for port in web_ports), timeout=30)
        results = register_all(after, path, batch_slot)
        check(
            all(status == 302 for status, _, _ in results), f"registrations after the outage: {[r[0] for r in results]}"
        )
        total += len(after)
        wait_for(
            "every email sent after the outage",
            lambda: counts(env, batch_slot)["emails"] == {"sent": total},
            timeout=60,
            interval=0.5,
        )
        check(worker.poll() is None, "the worker is not the one that met the outage")
        check("The database is unavailable" in stack.log_tail("worker3", 10_000), "the worker logged no outage")
        say("database restart: the worker waited it out (same process) and sent the emails made after it")
        summary.append("PostgreSQL restart: the worker survived, 0 lost")

        for name in ("web1", "web2"):
            errors = [line for line in stack.log_tail(name, 10_000).splitlines() if '"level": "ERROR"' in line]
            check(not errors, f"{name} logged errors:\n" + "\n".join(errors[:5]))
    except CheckFailed as error:
        print(f"\nPROD CHECK FAILED: {error}\n(logs kept in {workdir})\n", flush=True)
        for name, _ in stack.processes:
            print(f"--- last lines of {name}.log ---\n{stack.log_tail(name)}\n", flush=True)
        failed = True
        return 1
    finally:
        stack.stop_all()
        say("stopped gunicorn ×2, email_worker and the SMTP sink")
        if not failed:  # kept after a failed check, for its logs
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nPROD CHECK PASSED in {time.monotonic() - STARTED:.0f}s: " + "; ".join(summary), flush=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="check", choices=["check", "sink"])
    parser.add_argument("sink_args", nargs="*")
    arguments = parser.parse_args()
    if arguments.mode == "sink":
        port, folder, delay_file = arguments.sink_args
        run_sink(int(port), Path(folder), Path(delay_file))
    else:
        # A SIGTERM (timeout in prod_check.sh, CI cancelling) unwinds main(), whose `finally` stops the stack.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
        sys.exit(main())
