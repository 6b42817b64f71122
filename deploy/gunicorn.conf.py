"""gunicorn settings for the portal: `gunicorn -c deploy/gunicorn.conf.py dance_portal.wsgi`.

Every value can be changed from the environment, so the same file serves a small server, a bigger one and
`make prod-check` (two instances on two ports):
  GUNICORN_BIND      where to listen (default 127.0.0.1:8000; nginx in front proxies to it)
  GUNICORN_WORKERS   worker processes (default 2 × CPU cores + 1, at most 8: each holds a database connection)
  GUNICORN_TIMEOUT   seconds a request may take before its worker is restarted (default 30)
  GUNICORN_MAX_REQUESTS  requests a worker serves before it is replaced (default 20000)
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _int("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8))
# Sync workers: every request is short and database-bound; slow clients are buffered by nginx.
worker_class = "sync"
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (systemctl stop/restart) workers finish the requests they are serving before they exit.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
keepalive = 5
# The application is imported once, in the master, before the workers are forked (preload_app): a worker that starts
# (at boot, or replacing one that reached max_requests) is warm at once and shares the master's memory. Measured
# (README "Performance"), a worker importing Django and the project itself cost 0.5-0.7 CPU-seconds and, on two
# cores, slowed every other request while it did. No database connection is opened in the master: Django connects
# lazily, at a worker's first query, and importing the project runs none (dance_portal/tests/test_prod.py checks).
preload_app = True
# A worker is replaced after this many requests: a bound on slow memory leaks, not a routine. At 2,000 the workers
# restarted about 50 times in a few minutes of load and the catalog's p99 tripled; at 20,000 a busy worker lives for
# hours. The jitter (a tenth) keeps the workers from being replaced all at the same moment.
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = max_requests // 10
# Logs go to stdout/stderr, where systemd's journal (or any process manager) collects them.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'
# Trust X-Forwarded-* only from nginx on the same machine.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "dance_portal"
# No gunicornc control socket: it lives at one fixed path per user, which several instances on one machine share.
control_socket_disable = True
