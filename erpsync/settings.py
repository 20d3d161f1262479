"""erpsync settings: one file, driven by environment variables.

Without any variable set it runs on SQLite under var/ with development defaults, so a fresh
clone works. Production sets ERPSYNC_DEBUG=0, DATABASE_URL, ERPSYNC_SECRET_KEY,
ERPSYNC_ENCRYPTION_KEY (or ERPSYNC_ENCRYPTION_KEY_FILE) and ERPSYNC_ALLOWED_HOSTS.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ERPSYNC_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# Export files are read only from here, each company from its own subfolder (named by its slug).
EXPORT_ROOT = Path(os.environ.get("ERPSYNC_EXPORT_ROOT", VAR_DIR / "exports"))

DEBUG = os.environ.get("ERPSYNC_DEBUG", "1") == "1"


def _dev_key_file(name: str, make) -> str:
    """A key kept in var/ so development restarts keep sessions and encrypted secrets."""
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("ERPSYNC_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set ERPSYNC_SECRET_KEY: it signs sessions and CSRF tokens.")
    SECRET_KEY = _dev_key_file("secret_key", lambda: secrets.token_urlsafe(50))


def _encryption_keys() -> list[str]:
    """Fernet keys for secrets at rest; the first encrypts, all decrypt (rotation)."""
    raw = os.environ.get("ERPSYNC_ENCRYPTION_KEY", "")
    key_file = os.environ.get("ERPSYNC_ENCRYPTION_KEY_FILE", "")
    if not raw and key_file:
        try:
            raw = Path(key_file).read_text()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"ERPSYNC_ENCRYPTION_KEY_FILE names {key_file}, which cannot be read: {exc.strerror}."
            ) from None
    if not raw:
        if not DEBUG:
            raise ImproperlyConfigured(
                "Set ERPSYNC_ENCRYPTION_KEY or ERPSYNC_ENCRYPTION_KEY_FILE: connection secrets "
                "are encrypted at rest with it. Make one with: python -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
        from cryptography.fernet import Fernet

        raw = _dev_key_file("encryption_key", lambda: Fernet.generate_key().decode())
    return [key.strip() for key in raw.replace("\n", ",").split(",") if key.strip()]


ENCRYPTION_KEYS = _encryption_keys()

ALLOWED_HOSTS = [h for h in os.environ.get("ERPSYNC_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("ERPSYNC_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks_db",
    "crontask",
    "axes",
    "erpsync.companies",
    "erpsync.projects",
    "erpsync.erp",
    "erpsync.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "erpsync.companies.context.CurrentCompanyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "erpsync.htmx_errors.HtmxErrorMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it answers a locked-out sign-in
]

# Sign-in throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords in a row for one
# user name, or from one address, sign-ins from there are refused for LOGIN_LOCKOUT_MINUTES.
# A right password after the lockout ends clears the count. `manage.py login_unlock` ends one early.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("ERPSYNC_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("ERPSYNC_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one reaching the limit locks
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "erpsync.companies.throttle.locked_out"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_CLIENT_IP_CALLABLE = "erpsync.companies.throttle.client_address"
AXES_VERBOSE = False  # erpsync logs lockouts itself, without the password

ROOT_URLCONF = "erpsync.urls"
WSGI_APPLICATION = "erpsync.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "erpsync.companies.context.company_context",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'erpsync.sqlite3'}"),
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so two imports cannot both
    # read "below the project limit" and then both write.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so tests with threads and live servers share one database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("ERPSYNC_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

CRONTASK = {"REDIS_URL": os.environ.get("ERPSYNC_REDIS_URL") or None}

# How often synced projects pull their job costs (a crontab expression).
JOB_COST_SYNC_SCHEDULE = os.environ.get("ERPSYNC_JOB_COST_SYNC_SCHEDULE", "*/15 * * * *")
# A run whose process has not renewed its lease for this long is interrupted (its process died).
RUN_LEASE_SECONDS = int(os.environ.get("ERPSYNC_RUN_LEASE_SECONDS", "120"))
# /healthz fails when the oldest task has waited longer than this for a worker (no worker is running).
HEALTH_QUEUE_SECONDS = int(os.environ.get("ERPSYNC_HEALTH_QUEUE_SECONDS", "600"))
RUN_REAPER_SCHEDULE = os.environ.get("ERPSYNC_RUN_REAPER_SCHEDULE", "* * * * *")  # how often the reaper looks
# A full refresh of incrementally refreshed connections, so deletions in the ERP are seen too.
FULL_REFRESH_SCHEDULE = os.environ.get("ERPSYNC_FULL_REFRESH_SCHEDULE", "30 2 * * *")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("ERPSYNC_TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# In development static files are served straight from their folders, without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# Production is served over TLS: plain HTTP is redirected and browsers are told to keep to HTTPS.
# Behind a proxy that ends TLS, ERPSYNC_TLS_PROXY=1 trusts its X-Forwarded-Proto header;
# ERPSYNC_SSL_REDIRECT=0 leaves the redirect to the proxy.
SECURE_SSL_REDIRECT = not DEBUG and os.environ.get("ERPSYNC_SSL_REDIRECT", "1") == "1"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probes may ask over plain HTTP inside the network
if os.environ.get("ERPSYNC_TLS_PROXY") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content-Security-Policy: every script, style and image comes from erpsync itself (static files,
# vendored); no inline script or style, no eval, no frames, forms post only here.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get("ERPSYNC_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("ERPSYNC_HSTS_INCLUDE_SUBDOMAINS", "1") == "1"
SECURE_HSTS_PRELOAD = os.environ.get("ERPSYNC_HSTS_PRELOAD", "0") == "1"
# Joining the browsers' HSTS preload list binds every subdomain for months: the site owner opts in.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
if not DEBUG and not SECURE_SSL_REDIRECT:  # ERPSYNC_SSL_REDIRECT=0: the proxy in front redirects plain HTTP
    SILENCED_SYSTEM_CHECKS.append("security.W008")

# Demo and default connector data.
DEMO_EXPORT_DIR = BASE_DIR / "erpsync" / "demo" / "export"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ERPSYNC_LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}, "axes": {"level": "WARNING"},
                # refusals (403, 404) are answers to users, not faults: no traceback in the log for them
                "django.request": {"level": "ERROR"}},
}
