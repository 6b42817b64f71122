"""Settings for the dance registration portal, read from the environment (and an optional .env file).

Every value a deployment may change comes from an environment variable documented in README.md and .env.example.
DEBUG is off unless set; with DEBUG off SECRET_KEY is required and HTTPS-only cookies and redirects apply.
"""

import json
import logging
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(DEBUG=(bool, False))
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env("DEBUG")

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable (or DEBUG=1 for local development)."
        )
    # Development only: a key that is obviously not a secret, never used with DEBUG off.
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
# Rotating the key (SECURITY.md): the new one in SECRET_KEY, the old one here until sessions and links made with it
# have run out; then remove it.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The base of every link in an email; never taken from the request's Host header. In development without one, the
# address `make run` serves (PORT, 8000 by default), so emailed and calendar links work on another port too.
SITE_URL = (env("SITE_URL", default="") or f"http://127.0.0.1:{env('PORT', default='') or 8000}").rstrip("/")

INSTALLED_APPS = [
    "studio.apps.StudioAdminConfig",  # django.contrib.admin with the studio's admin site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_tasks_db",
    "axes",
    # The portal's apps, floor by floor: each imports only the apps above it in this list (README "Project layout").
    "studio",
    "students",
    "courses",
    "registrations",
    "waitlist",
    "attendance",
    "portal",
    "class_messages",
    "dance_portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Staff login POSTs from an address with too many wrong passwords get the 429 page before any password is hashed.
    "dance_portal.login_throttle.StaffLoginThrottleMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dance_portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "studio.context_processors.studio",
            ],
        },
    },
]

WSGI_APPLICATION = "dance_portal.wsgi.application"

# SQLite by default; PostgreSQL when DATABASE_URL points at it.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # SQLite ignores select_for_update(); IMMEDIATE transactions take the write lock up front instead.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# Argon2 first; the others stay so hashes made by them still verify (and are upgraded on the next login).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

# Staff login is throttled by django-axes: its backend refuses a locked-out username+IP before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="America/Los_Angeles")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# `manage.py collectstatic` copies the files here, with hashed names (and .gz/.br copies) when DEBUG is off;
# whitenoise serves them, hashed names with a ten-year `Cache-Control: max-age=315360000, public, immutable`.
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGIN_URL = "admin:login"
# Where a staff login goes when `next` is missing or unsafe (an offsite next is ignored, docs/bad-inputs.md #48).
LOGIN_REDIRECT_URL = "admin:index"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email: printed to the console in development, SMTP on localhost in production, unless EMAIL_URL says otherwise
# (e.g. smtp+tls://user:pass@smtp.example.com:587).
_email = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
_smtp_options = {
    "host": _email.get("EMAIL_HOST"),
    "port": _email.get("EMAIL_PORT"),
    "username": _email.get("EMAIL_HOST_USER"),
    "password": _email.get("EMAIL_HOST_PASSWORD"),
    "use_tls": _email.get("EMAIL_USE_TLS", False),
    "use_ssl": _email.get("EMAIL_USE_SSL", False),
    "timeout": 20,
}
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": (
            {k: v for k, v in _smtp_options.items() if v is not None}
            if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
            else {}
        ),
    }
}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="studio@localhost")

# Emails are sent through Django's tasks framework: immediately in development and tests, from a
# database-backed queue worked by `manage.py email_worker` in production (TASKS_BACKEND=database).
TASKS_BACKEND = env("TASKS_BACKEND", default="immediate")
TASKS = {
    "default": {
        "BACKEND": {
            "immediate": "django.tasks.backends.immediate.ImmediateBackend",
            "database": "django_tasks_db.DatabaseBackend",
        }[TASKS_BACKEND],
    }
}

# The email worker (`manage.py email_worker`) queues a task again when it has been RUNNING this long: its worker died
# (kill -9, power loss). Far above the longest send (the SMTP timeout is 20 s).
TASKS_STALE_AFTER_SECONDS = env.float("TASKS_STALE_AFTER_SECONDS", default=600)

# Every page gets a Content-Security-Policy without inline scripts or styles.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line (LOG_FORMAT=json) for a log collector: time, level, logger, message, and the
    HTTP status and traceback when there is one."""

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if hasattr(record, "status_code"):
            entry["status"] = record.status_code
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


# Logs go to stderr (systemd's journal in production): plain lines, or JSON lines with LOG_FORMAT=json.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": JsonLogFormatter},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# The cache every worker and server shares (README "Scaling out"): rate-limit counters, the staff login throttle and
# the catalog's page cache. By default Django's database cache in the portal's own database (studio/cache.py; its
# table is made by `migrate`), so a small install needs no cache server; CACHE_URL replaces it, e.g.
# rediscache://127.0.0.1:6379/1 (needs the redis package) or pymemcache://127.0.0.1:11211.
if env("CACHE_URL", default=""):
    CACHES = {"default": env.cache_url("CACHE_URL")}
else:
    # No culling by row count (studio/cache.py deletes expired rows as it writes), so no live counter is dropped.
    CACHES = {"default": {"BACKEND": "studio.cache.SharedDatabaseCache", "LOCATION": "studio_cache"}}

# Where the client address comes from (studio/clients.py): REMOTE_ADDR, or e.g. HTTP_X_REAL_IP when a proxy you trust
# sets that header; a request without it falls back to REMOTE_ADDR (with one warning per process). The rate limits,
# the staff login lockout and the cap on unpaid holds per client all read it through studio.clients.client_ip.
CLIENT_IP_META_KEY = env("RATELIMIT_IP_META_KEY", default="REMOTE_ADDR")

# Rate limits on public forms (README "Security"): a limited request gets templates/429.html.
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_USE_CACHE = "default"
RATELIMIT_VIEW = "studio.views.rate_limited"
RATELIMIT_IP_META_KEY = "studio.clients.client_ip"
# Public form limits, "N/s", "N/m", "N/h" or "N/d"; per client IP unless the name says per email.
RATELIMIT_REGISTRATION = env("RATELIMIT_REGISTRATION", default="30/h")
RATELIMIT_WAITLIST_JOIN = env("RATELIMIT_WAITLIST_JOIN", default="20/h")
RATELIMIT_WAITLIST_OFFER = env("RATELIMIT_WAITLIST_OFFER", default="30/h")
RATELIMIT_SIGN_IN_LINK = env("RATELIMIT_SIGN_IN_LINK", default="20/h")
RATELIMIT_SIGN_IN_LINK_PER_EMAIL = env("RATELIMIT_SIGN_IN_LINK_PER_EMAIL", default="5/h")
RATELIMIT_SIGN_IN = env("RATELIMIT_SIGN_IN", default="60/h")

# Staff login (django-axes, docs/bad-inputs.md #42): 5 failed passwords for one username from one IP lock that pair out
# for an hour; the admin login then answers 429 with templates/axes/lockout.html. Locks live in the database
# (admin: Axes > Access attempts; `manage.py axes_reset` lifts them all).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "axes/lockout.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_CLIENT_IP_CALLABLE = "studio.clients.client_ip"
# And by client address across usernames (dance_portal/login_throttle.py): after this many wrong staff passwords from
# one address, whatever the usernames, its login POSTs get the 429 page before any password is hashed.
RATELIMIT_STAFF_LOGIN = env("RATELIMIT_STAFF_LOGIN", default="20/h")
