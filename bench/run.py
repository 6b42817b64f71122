"""The benchmark behind `make bench` (run by scripts/pg.sh, which provides a throwaway PostgreSQL in DATABASE_URL).

1. Builds a small studio (500 registrations) and a large one (50,000) in two databases, with bulk inserts.
2. For each, starts gunicorn as deployed (`-c deploy/gunicorn.conf.py`, BENCH_WORKERS sync workers, 4 by default;
   persistent database connections, DEBUG off, no rate limits, emails queued with no worker to send them) and drives
   it with wrk (installed from Debian's packages when missing) for a fixed time per page: /healthz, the catalog, a
   course page, a payment page, the roster of a 60-student session, the admin registration changelist and
   dashboard, and on the large studio registration POSTs spread over slots, all on one slot, and for a slot's last
   seats.
3. On the large studio, a rush: simulated students, each with its own cookies and the CSRF token of the form it was
   shown, going catalog -> course page -> registration POST -> payment page (and its QR code, as a browser fetches
   it), while an admin confirms payments with the admin's own action; then /healthz, the catalog and the course page
   measured again while a smaller rush goes on.
4. Prints requests/s, p50 and p99 latency, each page's ratio to /healthz in the same run and the small->large
   latency growth; the rush's journeys/s and each step's p50/p99; checks that no slot holds more seats than its
   capacity and that no request got a 5xx; prints the workers' memory; writes everything to
   bench/results/<UTC timestamp>.json. Exits 1 when a check fails.

    python bench/run.py            # what `make bench` runs (needs DATABASE_URL to a PostgreSQL it may fill)
    python bench/run.py build large|small   # internal: build one studio in DATABASE_URL, print its ids as JSON
"""

import datetime
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PORT = int(os.environ.get("BENCH_PORT", "8201"))
DURATION = int(os.environ.get("BENCH_SECONDS", "8"))  # per page; the whole run stays under ~4 minutes
# The one-slot run stops before its slot fills: 500 seats (the most a slot may have) last 4 s at up to 125
# registrations a second, so every POST measured is a registration waiting for that slot's lock, not a "full" page.
ONE_SLOT_SECONDS = min(DURATION, 4)
# gunicorn as deployed (deploy/gunicorn.conf.py) with this many sync workers: 4 on the 2-core machine of README
# "Performance", as the measurements the targets come from used.
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
# The rush: students registering at once (one thread each, one journey after another, each a new student), for
# RUSH_SECONDS; then RUSH_BACKGROUND of them keep going while the pages are measured "during a rush".
RUSH_STUDENTS = int(os.environ.get("BENCH_RUSH_STUDENTS", "16"))
RUSH_SECONDS = int(os.environ.get("BENCH_RUSH_SECONDS", "20"))
RUSH_BACKGROUND = 4
RUSH_POPULAR = 0.5  # the share of students who go for the one popular class (the others pick from the catalog)
SLOW_SECONDS = 3  # a page slower than this alone is reported, not load-tested
WRK_THREADS, WRK_CONNECTIONS = 2, 8
# DEBUG off like production; plain HTTP on 127.0.0.1, so no HTTPS redirect; limits off so the load is not refused.
SERVER_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-" + "x" * 40,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_HSTS_SECONDS": "0",
    "RATELIMIT_ENABLE": "0",
    "EMAIL_URL": "dummymail://",
    "TASKS_BACKEND": "database",  # as in production: an email is one queued row, sent by a worker we do not run
    "CONN_MAX_AGE": "600",
    "LOG_LEVEL": "WARNING",
    # Each simulated student is its own client, as behind nginx (deploy/nginx.conf passes X-Real-IP): the cap on
    # unpaid holds per client stays on and counts each one apart.
    "RATELIMIT_IP_META_KEY": "HTTP_X_REAL_IP",
}
CSRF_COOKIE, SESSION_COOKIE = "__Host-csrftoken", "__Host-sessionid"  # the names with DEBUG off
LAST_SEATS_NAME = "register (last seats)"
TARGETS = {  # minimum ratio to /healthz in the same run (README "Performance")
    "catalog": 0.6,
    "course page": 0.6,
    "payment page": 0.3,
    "register (spread)": 0.2,
    "register (one slot)": 0.15,
    "roster of 60": 0.05,
    "admin changelist": 0.02,
    "catalog (rush)": 0.6,
    "course page (rush)": 0.6,
    "rush journeys": 0.05,
}


# --- inside Django: build a studio ---------------------------------------------------------------------------------


def build_command(size: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dance_portal.settings")
    import django

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User

    from bench import build_data

    started = time.monotonic()
    studio = build_data.build(build_data.Sizes() if size == "large" else build_data.SMALL)
    from django.db import connection

    with connection.cursor() as cursor:
        # What autovacuum would do after a bulk load, done now so it does not run during the measurements.
        cursor.execute("VACUUM ANALYZE")
    staff = User.objects.get(pk=studio.staff_user_id)
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    backends = settings.AUTHENTICATION_BACKENDS
    model_backend = "django.contrib.auth.backends.ModelBackend"
    session[SESSION_KEY] = str(staff.pk)
    session[BACKEND_SESSION_KEY] = model_backend if model_backend in backends else backends[-1]
    session[HASH_SESSION_KEY] = staff.get_session_auth_hash()
    session.create()
    # A pending registration whose payment page the benchmark loads (Venmo, so the page shows its QR code's link).
    from studio.models import SystemSetting

    SystemSetting.objects.update_or_create(setting_key="venmo_username", defaults={"setting_value": "bench-studio"})
    from registrations.models import Registration

    pending = Registration.objects.filter(payment_status=Registration.PaymentStatus.PENDING).order_by("pk").first()
    out = {
        "payment_page": pending.get_absolute_url(),
        "course_id": studio.course_id,
        "roster_session_id": studio.roster_session_id,
        "open_slots": studio.open_slots,
        "one_slot": studio.one_slot,
        "last_seats_slot": studio.last_seats_slot,
        "last_seats": build_data.LAST_SEATS,
        "staff_session": session.session_key,
        "build_seconds": round(time.monotonic() - started, 1),
    }
    print("STUDIO_JSON " + json.dumps(out))


# --- outside Django: databases, gunicorn, wrk ----------------------------------------------------------------------


def sh(args, *, env=None, capture=False, check=True):
    return subprocess.run(
        args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=check,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )


def psql(database_url: str, sql: str, *, autocommit=False) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(database_url)
    conn.autocommit = autocommit
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall() if cursor.description else []
        conn.commit() if not autocommit else None
        return rows
    finally:
        conn.close()


def with_db_name(database_url: str, name: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path="/" + name))


def prepare_database(database_url: str, size: str) -> dict:
    env = {**SERVER_ENV, "DATABASE_URL": database_url}
    sh([PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], env=env)
    out = sh([PYTHON, str(ROOT / "bench" / "run.py"), "build", size], env=env, capture=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("STUDIO_JSON "))
    return json.loads(line.removeprefix("STUDIO_JSON "))


def ensure_wrk() -> str | None:
    if shutil.which("wrk"):
        return shutil.which("wrk")
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("==> installing wrk from Debian's packages")
        if sh(["apt-get", "install", "-y", "-qq", "wrk"], check=False).returncode != 0:
            sh(["apt-get", "update", "-qq"], check=False)
            sh(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
    return shutil.which("wrk")


class Server:
    def __init__(self, database_url: str):
        self.env = {**SERVER_ENV, "DATABASE_URL": database_url}
        self.process = None
        self.log = open(ROOT / "bench" / "results" / "gunicorn.log", "a")  # gitignored with the results
        self.log_start = len((ROOT / "bench" / "results" / "gunicorn.log").read_text(errors="replace"))

    def __enter__(self):
        gunicorn = str(Path(PYTHON).with_name("gunicorn"))
        # The production configuration; only where it listens and how many workers come from the environment.
        self.process = subprocess.Popen(
            [gunicorn, "-c", "deploy/gunicorn.conf.py", "dance_portal.wsgi"],
            cwd=ROOT,
            env={**os.environ, **self.env, "GUNICORN_BIND": f"127.0.0.1:{PORT}", "GUNICORN_WORKERS": str(WORKERS)},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2).read()
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if self.process.poll() is not None:
                    raise SystemExit("gunicorn exited before it answered /healthz") from None
                time.sleep(0.2)
        raise SystemExit("gunicorn did not answer /healthz within 30 s")

    def worker_restarts(self) -> int:
        """Workers started beyond the first ones (max_requests reached, or a worker that died)."""
        self.log.flush()
        text = (ROOT / "bench" / "results" / "gunicorn.log").read_text(errors="replace")
        return max(0, text[self.log_start :].count("Booting worker") - WORKERS)

    def worker_rss_mb(self) -> list[float]:
        rss = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) != self.process.pid:
                    continue
                status = (stat.parent / "status").read_text()
            except (OSError, IndexError, ValueError):
                continue
            kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            rss.append(round(kb / 1024, 1))
        return sorted(rss)

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


LUA = r"""
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  n = 0; s2 = 0; s3 = 0; s4 = 0; s5 = 0
end
function response(status, headers, body)
  if status >= 500 then s5 = s5 + 1 elseif status >= 400 then s4 = s4 + 1
  elseif status >= 300 then s3 = s3 + 1 else s2 = s2 + 1 end
end
function done(summary, latency, requests)
  local c = {s2 = 0, s3 = 0, s4 = 0, s5 = 0}
  for _, t in ipairs(threads) do
    for k, _ in pairs(c) do c[k] = c[k] + t:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "socket_errors": %d, ' ..
    '"s2": %d, "s3": %d, "s4": %d, "s5": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, c.s2, c.s3, c.s4, c.s5))
end
"""


def lua_get(cookie: str = "") -> str:
    header = f'wrk.headers["Cookie"] = "{cookie}"\n' if cookie else ""
    return header + LUA


def lua_post(slots: list[tuple[int, int]], csrf: str, run_id: str) -> str:
    """POST the registration form: a new student each request, slots taken in turn (wrk threads interleave)."""
    table = ", ".join(f"{{{course}, {slot}}}" for course, slot in slots)
    return (
        LUA
        + f"""
local slots = {{{table}}}
local headers = {{["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = "{CSRF_COOKIE}={csrf}"}}
function request()
  n = n + 1
  local pick = slots[((tid * 7919 + n) % #slots) + 1]
  -- each POST from its own client address, as nginx passes it on (the cap on unpaid holds per client stays on)
  headers["X-Real-IP"] = "10." .. tid .. "." .. (math.floor(n / 250) % 250) .. "." .. (n % 250)
  local body = "csrfmiddlewaretoken={csrf}&slot=" .. pick[2] ..
    "&pricing_type=full_package&payment_method=venmo&email=bench-{run_id}-" .. tid .. "-" .. n ..
    "%40example.com&first_name=Bench&last_name=Student&phone=555-0100&instagram_handle=&website="
  return wrk.format("POST", "/courses/" .. pick[1] .. "/register/", headers, body)
end
"""
    )


def run_wrk(wrk: str, path: str, lua: str, seconds: int = DURATION) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        out = subprocess.run(
            [
                wrk,
                "-t",
                str(WRK_THREADS),
                "-c",
                str(WRK_CONNECTIONS),
                "-d",
                f"{seconds}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                f"http://127.0.0.1:{PORT}{path}",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(script.name)
    line = next((line for line in out.splitlines() if line.startswith("BENCH_JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no result for {path}:\n{out}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    return {
        "path": path,
        "requests": raw["requests"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "status_2xx": raw["s2"],
        "status_3xx": raw["s3"],
        "status_4xx": raw["s4"],
        "status_5xx": raw["s5"],
        "socket_errors": raw["socket_errors"],
    }


def python_load(path: str, *, cookie: str = "", body_for=None, seconds: int = DURATION) -> dict:
    """A small threaded load generator for machines without wrk (less precise: it shares the GIL with itself)."""
    import http.client
    import threading

    latencies, statuses, lock = [], [], threading.Lock()
    stop = time.monotonic() + seconds

    def worker(tid: int):
        n = 0
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        while time.monotonic() < stop:
            n += 1
            headers = {"Cookie": cookie} if cookie else {}
            method, url, body = "GET", path, None
            if body_for is not None:
                url, body, extra = body_for(tid, n)
                method = "POST"
                headers.update(extra)
            started = time.monotonic()
            try:
                conn.request(method, url, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
                status = 0
            with lock:
                latencies.append(time.monotonic() - started)
                statuses.append(status)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(WRK_CONNECTIONS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000, 2) if latencies else 0

    return {
        "path": path,
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "status_2xx": sum(200 <= s < 300 for s in statuses),
        "status_3xx": sum(300 <= s < 400 for s in statuses),
        "status_4xx": sum(400 <= s < 500 for s in statuses),
        "status_5xx": sum(s >= 500 for s in statuses),
        "socket_errors": sum(s == 0 for s in statuses),
    }


def measure_get(wrk, name, path, cookie="") -> dict:
    # One request first: a cold cache or template load is not what we measure.
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", headers={"Cookie": cookie} if cookie else {})
    started = time.monotonic()
    try:
        urllib.request.urlopen(request, timeout=60).read()
    except (urllib.error.URLError, TimeoutError) as error:
        # A page that fails or times out is reported (as 5xx / no figures), not measured under load.
        print(f"    {name}: {error}", flush=True)
        return {
            "name": name,
            "path": path,
            "requests": 0,
            "rps": 0.0,
            "p50_ms": None,
            "p99_ms": None,
            "status_2xx": 0,
            "status_3xx": 0,
            "status_4xx": 0,
            "status_5xx": 1,
            "socket_errors": 0,
            "error": str(error),
        }
    alone = time.monotonic() - started
    if alone > SLOW_SECONDS:
        # Under load its requests would queue behind each other for minutes and stall the pages measured after it.
        print(f"    {name}: one request took {alone:.1f} s; not measured under load", flush=True)
        return {
            "name": name,
            "path": path,
            "requests": 1,
            "rps": 0.0,
            "p50_ms": round(alone * 1000, 1),
            "p99_ms": round(alone * 1000, 1),
            "status_2xx": 1,
            "status_3xx": 0,
            "status_4xx": 0,
            "status_5xx": 0,
            "socket_errors": 0,
            "error": f"one request took {alone:.1f} s",
        }
    result = run_wrk(wrk, path, lua_get(cookie)) if wrk else python_load(path, cookie=cookie)
    return {"name": name, **result}


def measure_post(wrk, name, slots, run_id, seconds: int = DURATION) -> dict:
    csrf = secrets.token_hex(16)  # 32 characters: Django accepts the cookie's secret itself as the form token
    if wrk:
        result = run_wrk(wrk, f"/courses/{slots[0][0]}/register/", lua_post(slots, csrf, run_id), seconds)
    else:

        def body_for(tid, n):
            course, slot = slots[(tid * 7919 + n) % len(slots)]
            body = (
                f"csrfmiddlewaretoken={csrf}&slot={slot}&pricing_type=full_package&payment_method=venmo"
                f"&email=bench-{run_id}-{tid}-{n}%40example.com&first_name=Bench&last_name=Student"
                "&phone=555-0100&instagram_handle=&website="
            )
            return (
                f"/courses/{course}/register/",
                body,
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": f"{CSRF_COOKIE}={csrf}",
                    "X-Real-IP": f"10.{tid}.{n // 250 % 250}.{n % 250}",
                },
            )

        result = python_load(f"/courses/{slots[0][0]}/register/", body_for=body_for, seconds=seconds)
    return {"name": name, **result}


# --- the rush: students with their own cookies and CSRF tokens, and an admin confirming payments --------------------

RUSH_STEPS = ("catalog", "course page", "register", "payment page", "QR code")
_COURSE_LINK = re.compile(r'class="course-link" href="/courses/([0-9]+)/"')
_FORM_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_FREE_SLOT = re.compile(r'<input type="radio" name="slot" value="([0-9]+)"(?![^>]*disabled)[^>]*>')
_QR = re.compile(r'<img class="venmo-qr" src="([^"]+)"')


class Browser:
    """One student's browser: its own cookies, one request at a time (gunicorn's sync workers close each connection)."""

    def __init__(self, client_ip: str):
        self.cookies: dict[str, str] = {}
        self.client_ip = client_ip  # what nginx would pass on as X-Real-IP

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, dict, str, float]:
        headers = {"X-Real-IP": self.client_ip}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            status, response_headers = response.status, response.getheaders()
        except (OSError, http.client.HTTPException):
            return 0, {}, "", time.monotonic() - started
        finally:
            connection.close()
        elapsed = time.monotonic() - started
        for name, value in response_headers:
            if name.lower() == "set-cookie":
                cookie, _, attributes = value.partition(";")
                key, _, cookie_value = cookie.strip().partition("=")
                if "max-age=0" in attributes.lower() or not cookie_value.strip('"'):
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = cookie_value
        return status, dict((name.lower(), value) for name, value in response_headers), text, elapsed


class Rush:
    """Students going through the whole journey at once, each journey a new student, until `stop` is set."""

    def __init__(self, studio: dict, run_id: str):
        self.studio, self.run_id = studio, run_id
        self.lock = threading.Lock()
        self.latencies = {step: [] for step in RUSH_STEPS}
        self.statuses = {step: [] for step in RUSH_STEPS}
        self.journeys = self.registered = self.refused = self.full_courses = self.paid_before_qr = 0
        self.errors: list[str] = []
        self.admin = {"confirmed": 0, "requests": 0, "latencies": [], "statuses": []}
        self.stop = threading.Event()
        self.counter = 0
        self.students = 0

    def _record(self, step: str, status: int, elapsed: float) -> None:
        with self.lock:
            self.latencies[step].append(elapsed)
            self.statuses[step].append(status)

    def _next_student(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def journey(self, rng: random.Random) -> None:
        n = self._next_student()
        browser = Browser(f"10.{100 + n // 62500 % 100}.{n // 250 % 250}.{n % 250}")
        status, _, html, elapsed = browser.request("GET", "/")
        self._record("catalog", status, elapsed)
        if status != 200:
            return self._failed("catalog", status)
        listed = _COURSE_LINK.findall(html)
        popular = str(self.studio["course_id"])
        choices = [popular] if rng.random() < RUSH_POPULAR else []
        choices += rng.sample(listed, min(3, len(listed)))
        for course_id in choices:  # a full class: the student tries another one from the catalog
            status, _, html, elapsed = browser.request("GET", f"/courses/{course_id}/")
            self._record("course page", status, elapsed)
            if status != 200:
                return self._failed("course page", status)
            token, slots = _FORM_TOKEN.search(html), _FREE_SLOT.findall(html)
            if token and slots and 'value="full_package"' in html:
                break
            with self.lock:
                self.full_courses += 1
        else:
            return
        form = {
            "csrfmiddlewaretoken": token.group(1),
            "slot": rng.choice(slots),
            "pricing_type": "full_package",
            "payment_method": "venmo",
            "email": f"rush-{self.run_id}-{n}@example.com",
            "first_name": "Rush",
            "last_name": f"Student {n}",
            "phone": "555-0100",
            "instagram_handle": "",
            "website": "",
        }
        body = "&".join(f"{key}={urllib.parse.quote(value, safe='')}" for key, value in form.items())
        status, headers, html, elapsed = browser.request("POST", f"/courses/{course_id}/register/", body)
        self._record("register", status, elapsed)
        if status == 200:  # refused: the slot filled up after the page was shown
            with self.lock:
                self.refused += 1
            return
        if status != 302 or "/registrations/" not in headers.get("location", ""):
            return self._failed("register", status)
        with self.lock:
            self.registered += 1
        payment = urlsplit(headers["location"]).path
        status, _, html, elapsed = browser.request("GET", payment)
        self._record("payment page", status, elapsed)
        if status != 200:
            return self._failed("payment page", status)
        qr = _QR.search(html)
        if qr:
            status, _, _, elapsed = browser.request("GET", qr.group(1).replace("&amp;", "&"))
            self._record("QR code", status, elapsed)
            if status == 404:  # the admin confirmed the payment in between: nothing to pay any more
                with self.lock:
                    self.paid_before_qr += 1
            elif status != 200:
                return self._failed("QR code", status)
        with self.lock:
            self.journeys += 1

    def _failed(self, step: str, status: int) -> None:
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append(f"{step}: {status}")

    def student(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop.is_set():
            self.journey(rng)

    def confirm_payments(self, database_url: str) -> None:
        """The studio's owner confirming payments as they come in: the admin's "Confirm payment" action on the
        registration list, every half second, for the students of this rush who registered at least 5 s before (the
        time to open Venmo and pay) and are still pending."""
        import psycopg2

        csrf = secrets.token_hex(16)
        cookie = f"{SESSION_COOKIE}={self.studio['staff_session']}; {CSRF_COOKIE}={csrf}"
        conn = psycopg2.connect(database_url)
        conn.autocommit = True
        try:
            while not self.stop.wait(0.5):
                with conn.cursor() as cursor:
                    cursor.execute(
                        "SELECT r.id FROM registrations_registration r JOIN students_student s ON s.id = r.student_id "
                        "WHERE r.payment_status = 'pending' AND s.email LIKE %s "
                        "AND r.created_at < now() - interval '5 seconds' ORDER BY r.id LIMIT 20",
                        [f"rush-{self.run_id}-%"],
                    )
                    ids = [row[0] for row in cursor.fetchall()]
                if not ids:
                    continue
                body = "&".join(
                    [f"csrfmiddlewaretoken={csrf}", "action=confirm_payments", "apply=1", "method=", "note=Bench"]
                    + [f"_selected_action={pk}" for pk in ids]
                )
                headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
                started = time.monotonic()
                connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                try:
                    connection.request("POST", "/admin/registrations/registration/", body=body, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    status = 0
                finally:
                    connection.close()
                with self.lock:
                    self.admin["requests"] += 1
                    self.admin["latencies"].append(time.monotonic() - started)
                    self.admin["statuses"].append(status)
                    if status == 302:
                        self.admin["confirmed"] += len(ids)
        finally:
            conn.close()

    def run(self, database_url: str, *, students: int, seconds: float | None) -> float:
        """Run `students` students and the admin for `seconds` (None: until `stop` is set); returns the time taken."""
        self.students = students
        threads = [threading.Thread(target=self.student, args=(seed,), daemon=True) for seed in range(students)]
        threads.append(threading.Thread(target=self.confirm_payments, args=(database_url,), daemon=True))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        if seconds is None:
            return 0.0
        time.sleep(seconds)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        return time.monotonic() - started

    def summary(self, elapsed: float) -> dict:
        def pct(values, p):
            values = sorted(values)
            return round(values[min(len(values) - 1, int(len(values) * p))] * 1000, 1) if values else None

        steps = {
            step: {
                "requests": len(self.latencies[step]),
                "p50_ms": pct(self.latencies[step], 0.5),
                "p99_ms": pct(self.latencies[step], 0.99),
                "status_5xx": sum(status >= 500 for status in self.statuses[step]),
                "failed": sum(status == 0 for status in self.statuses[step]),
            }
            for step in RUSH_STEPS
        }
        return {
            "students": self.students,
            "seconds": round(elapsed, 1),
            "journeys": self.journeys,
            "journeys_per_s": round(self.journeys / elapsed, 1) if elapsed else 0.0,
            "registered": self.registered,
            "refused_full": self.refused,
            "full_courses_seen": self.full_courses,
            "paid_before_qr": self.paid_before_qr,
            "steps": steps,
            "admin": {
                "confirm_requests": self.admin["requests"],
                "confirmed": self.admin["confirmed"],
                "p50_ms": pct(self.admin["latencies"], 0.5),
                "p99_ms": pct(self.admin["latencies"], 0.99),
                "status_5xx": sum(status >= 500 for status in self.admin["statuses"]),
                "not_302": sum(status != 302 for status in self.admin["statuses"]),
            },
            "status_5xx": sum(step["status_5xx"] for step in steps.values())
            + sum(status >= 500 for status in self.admin["statuses"]),
            "errors": self.errors,
        }


def run_rush(wrk, studio: dict, *, database_url: str, run_id: str) -> tuple[dict, list[dict]]:
    """The rush, then /healthz, the catalog and the popular course page measured while a smaller rush goes on."""
    rush = Rush(studio, run_id)
    elapsed = rush.run(database_url, students=RUSH_STUDENTS, seconds=RUSH_SECONDS)
    summary = rush.summary(elapsed)
    print(
        f"    rush: {summary['journeys']} journeys in {summary['seconds']} s ({summary['journeys_per_s']}/s), "
        f"{summary['registered']} registered, {summary['refused_full']} refused (full), "
        f"{summary['admin']['confirmed']} confirmed by the admin",
        flush=True,
    )
    background = Rush(studio, run_id + "b")
    background.run(database_url, students=RUSH_BACKGROUND, seconds=None)
    started = time.monotonic()
    try:
        pages = [
            measure_get(wrk, "/healthz (rush)", "/healthz"),
            measure_get(wrk, "catalog (rush)", "/"),
            measure_get(wrk, "course page (rush)", f"/courses/{studio['course_id']}/"),
        ]
    finally:
        background.stop.set()
        time.sleep(1)
    summary["background"] = background.summary(time.monotonic() - started)
    for row in pages:
        print(f"    {row['name']:<22} {row['rps']:>8} req/s", flush=True)
    ceiling = pages[0]["rps"] or 1
    for row in pages:
        row["ratio"] = round(row["rps"] / ceiling, 3)
    return summary, pages


def oversold_slots(database_url: str) -> list[tuple]:
    """Slots whose seat-holding registrations (paid, or pending with a running hold) and offers exceed capacity."""
    return psql(
        database_url,
        """
        SELECT s.id, s.capacity, COUNT(r.id) AS taken
        FROM courses_courseslot s
        JOIN registrations_registration r ON r.slot_id = s.id AND r.class_date IS NULL AND (
            r.payment_status = 'completed' OR (r.payment_status = 'pending' AND r.payment_due_at > now()))
        GROUP BY s.id, s.capacity
        HAVING COUNT(r.id) > s.capacity
    """,
    )


def run_pages(wrk, studio: dict, *, with_posts: bool, database_url: str) -> dict:
    staff = f"{SESSION_COOKIE}={studio['staff_session']}"
    results = []
    with Server(database_url) as server:
        pages = [
            ("/healthz", "/healthz", ""),
            ("catalog", "/", ""),
            ("course page", f"/courses/{studio['course_id']}/", ""),
            ("payment page", studio["payment_page"], ""),
            ("roster of 60", f"/attendance/{studio['roster_session_id']}/", staff),
            ("admin changelist", "/admin/registrations/registration/", staff),
            ("admin dashboard", "/admin/", staff),
        ]
        for name, path, cookie in pages:
            results.append(measure_get(wrk, name, path, cookie))
            print(f"    {name:<22} {results[-1]['rps']:>8} req/s", flush=True)
        if with_posts:
            run_id = secrets.token_hex(3)
            posts = (
                ("register (spread)", studio["open_slots"], DURATION),
                ("register (one slot)", [studio["one_slot"]], ONE_SLOT_SECONDS),
                (LAST_SEATS_NAME, [studio["last_seats_slot"]], DURATION),
            )
            for name, slots, seconds in posts:
                results.append(measure_post(wrk, name, slots, f"{run_id}{len(results)}", seconds))
                print(f"    {name:<22} {results[-1]['rps']:>8} req/s", flush=True)
            rush, rush_pages = run_rush(wrk, studio, database_url=database_url, run_id=run_id)
        rss = server.worker_rss_mb()
        restarts = server.worker_restarts()
    ceiling = results[0]["rps"] or 1
    for row in results:
        row["ratio"] = round(row["rps"] / ceiling, 3)
    out = {"pages": results, "worker_rss_mb": rss, "worker_restarts": restarts}
    if with_posts:
        rush["ratio"] = round(rush["journeys_per_s"] / ceiling, 4)
        out.update(rush=rush, rush_pages=rush_pages)
    return out


def print_table(large: dict, small: dict) -> None:
    small_p50 = {row["name"]: row["p50_ms"] for row in small["pages"]}
    print()
    print(
        f"{'page (50,000 registrations)':<28}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}{'target':>11}"
        f"{'5xx':>5}{'p50@500':>9}{'growth':>8}"
    )
    for row in large["pages"]:
        target = TARGETS.get(row["name"])
        mark = "" if target is None else ("ok" if row["ratio"] >= target else "MISS")
        before = small_p50.get(row["name"])
        growth = f"{row['p50_ms'] / before:.2f}x" if before and row["p50_ms"] is not None else ""
        print(
            f"{row['name']:<28}{row['rps']:>9}{row['p50_ms']:>9}{row['p99_ms']:>9}{row['ratio']:>8}"
            f"{(f'{target} {mark}' if target else ''):>11}{row['status_5xx']:>5}{(before or ''):>9}{growth:>8}"
        )
    for row in large.get("rush_pages", [])[1:]:
        target = TARGETS.get(row["name"])
        mark = "ok" if row["ratio"] >= target else "MISS"
        print(
            f"{row['name']:<28}{row['rps']:>9}{row['p50_ms']:>9}{row['p99_ms']:>9}{row['ratio']:>8}"
            f"{f'{target} {mark}':>11}{row['status_5xx']:>5}  (/healthz {large['rush_pages'][0]['rps']} req/s then)"
        )
    rush = large.get("rush")
    if rush:
        target = TARGETS["rush journeys"]
        mark = "ok" if rush["ratio"] >= target else "MISS"
        print(
            f"\nrush: {rush['students']} students for {rush['seconds']} s: {rush['journeys']} journeys, "
            f"{rush['journeys_per_s']}/s, ratio to /healthz {rush['ratio']} (target {target} {mark}); "
            f"{rush['registered']} registered, {rush['refused_full']} refused (full), "
            f"{rush['full_courses_seen']} full course pages seen, {rush['admin']['confirmed']} payments confirmed"
        )
        print(f"{'step':<16}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'5xx':>5}")
        for step, row in rush["steps"].items():
            print(f"{step:<16}{row['requests']:>9}{row['p50_ms']!s:>9}{row['p99_ms']!s:>9}{row['status_5xx']:>5}")
        admin = rush["admin"]
        print(
            f"{'admin confirms':<16}{admin['confirm_requests']:>9}{admin['p50_ms']!s:>9}{admin['p99_ms']!s:>9}"
            f"{admin['status_5xx']:>5}"
        )
    print(f"\ngunicorn worker RSS after the run: {large['worker_rss_mb']} MB (limit 150 MB)")
    print(
        f"gunicorn workers replaced during the run: {large['worker_restarts']} (large), {small['worker_restarts']} (small)"
    )


def main() -> int:
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        raise SystemExit("DATABASE_URL must point at a throwaway PostgreSQL (make bench runs this via scripts/pg.sh)")
    wrk = ensure_wrk()
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    print(f"==> load generator: {wrk or 'the built-in Python one (wrk not available)'}")
    sh([PYTHON, "manage.py", "collectstatic", "--no-input", "-v", "0"], env=SERVER_ENV)
    small_url = with_db_name(database_url, "bench_small")
    psql(database_url, "DROP DATABASE IF EXISTS bench_small", autocommit=True)
    psql(database_url, "CREATE DATABASE bench_small", autocommit=True)
    print("==> building the small studio (500 registrations)")
    small_studio = prepare_database(small_url, "small")
    print("==> building the large studio (50,000 registrations)")
    large_studio = prepare_database(database_url, "large")
    print(f"    built in {large_studio['build_seconds']} s")
    print(f"==> small studio: {DURATION} s per page")
    small = run_pages(wrk, small_studio, with_posts=False, database_url=small_url)
    print(f"==> large studio: {DURATION} s per page")
    large = run_pages(wrk, large_studio, with_posts=True, database_url=database_url)
    oversold = oversold_slots(database_url)
    print_table(large, small)
    failures = []
    if oversold:
        failures.append(f"oversold slots (id, capacity, taken): {oversold}")
    last_seats = next(row for row in large["pages"] if row["name"] == LAST_SEATS_NAME)
    if last_seats["status_3xx"] != large_studio["last_seats"]:
        # Each registration answers with a redirect to its payment page; every other POST finds the class full.
        failures.append(f"{last_seats['status_3xx']} registrations for the last {large_studio['last_seats']} seats")
    one_slot = next(row for row in large["pages"] if row["name"] == "register (one slot)")
    if one_slot["status_2xx"]:
        # Not the portal's fault, but then the figure is not what it says: some POSTs only got the "full" page.
        print(f"NOTE: the one-slot run filled its slot; {one_slot['status_2xx']} of its POSTs got the 'full' page")
    fives = {
        row["name"]: row["status_5xx"]
        for row in large["pages"] + small["pages"] + large["rush_pages"]
        if row["status_5xx"]
    }
    if large["rush"]["status_5xx"]:
        fives["rush"] = large["rush"]["status_5xx"]
    if fives:
        failures.append(f"5xx responses: {fives}")
    if large["rush"]["errors"] or large["rush"]["admin"]["not_302"]:
        failures.append(f"rush: unexpected answers {large['rush']['errors']}, admin {large['rush']['admin']}")
    if not large["rush"]["journeys"]:
        failures.append("rush: no journey completed")
    print(f"oversold slots: {len(oversold)}")
    result = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu": _cpu_model(),
        },
        "settings": {
            "gunicorn": "deploy/gunicorn.conf.py",
            "rush_students": RUSH_STUDENTS,
            "rush_seconds": RUSH_SECONDS,
            "workers": WORKERS,
            "seconds_per_page": DURATION,
            "wrk_threads": WRK_THREADS,
            "connections": WRK_CONNECTIONS,
            "load_generator": "wrk" if wrk else "python",
        },
        "large": large,
        "small": small,
        "oversold_slots": oversold,
        "failures": failures,
        "build_seconds": large_studio["build_seconds"],
    }
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results: {out.relative_to(ROOT)}")
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "build":
        build_command(sys.argv[2])
    else:
        sys.exit(main())
