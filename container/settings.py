"""Settings for the gadget container, read from the environment.

Every value has a laptop-friendly default so that the demo runs with no
configuration at all (SQLite, no broker). With ``DJANGO_DEBUG`` off the
development defaults for secrets are refused at start-up, so a production
deployment cannot run on a key that is printed in this repository or left
in ``var/``.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Files the running process writes: the SQLite database, development keys.
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_str(name: str, default: str) -> str:
    """The variable's value; unset and empty both mean the default."""
    return (os.environ.get(name) or default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a whole number, not {raw!r}."
        ) from None


def _rate(name: str, default: str) -> str | None:
    """A DRF rate such as ``600/min``; ``off`` means no limit."""
    raw = env_str(name, default)
    if raw.lower() == "off":
        return None
    count, _, period = raw.partition("/")
    if not count.isdigit() or period[:1] not in ("s", "m", "h", "d"):
        raise ImproperlyConfigured(
            f"{name} must look like 6000/min or be off, not {raw!r}."
        )
    return raw


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def _development_file_secret(filename: str, make: str) -> str:
    """Return a per-checkout development secret kept under ``var/``."""
    path = VAR_DIR / filename
    if not path.exists():
        if make == "fernet":
            from cryptography.fernet import Fernet

            value = Fernet.generate_key().decode()
        else:
            value = secrets.token_urlsafe(50)
        path.write_text(value + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


TESTING = "pytest" in sys.modules or "test" in sys.argv[1:2]

# DEBUG is on for a laptop; production sets DJANGO_DEBUG=false.
DEBUG = env_bool("DJANGO_DEBUG", True)

# Signs sessions and CSRF tokens; the development value lives in var/.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or ""
_DEV_SECRET_KEY = not SECRET_KEY
if _DEV_SECRET_KEY:
    SECRET_KEY = _development_file_secret("dev-secret-key", make="token")

# Key ring for secrets at rest and security tokens: newest key first.
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS")
_DEV_ENCRYPTION_KEYS = not ENCRYPTION_KEYS
if _DEV_ENCRYPTION_KEYS:
    ENCRYPTION_KEYS = [_development_file_secret("dev-encryption.key", make="fernet")]

if not DEBUG and not TESTING:
    if _DEV_SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off; "
            "the development key in var/ is refused in production."
        )
    if _DEV_ENCRYPTION_KEYS:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS must be set when DJANGO_DEBUG is off; "
            "generate one with: python -c 'from cryptography.fernet import "
            "Fernet; print(Fernet.generate_key().decode())'"
        )

# Where people reach the container (scheme, host and port).
CONTAINER_ORIGIN = env_str("CONTAINER_ORIGIN", "http://localhost:8000").rstrip("/")
_container = urlsplit(CONTAINER_ORIGIN)
if _container.scheme not in {"http", "https"} or not _container.hostname:
    raise ImproperlyConfigured(
        "CONTAINER_ORIGIN must look like https://host[:port], "
        f"not {CONTAINER_ORIGIN!r}."
    )
CONTAINER_HOST = _container.netloc.lower()
CONTAINER_SCHEME = _container.scheme

# Parent domain of the per-gadget hosts ("locked domains"), with port.
GADGET_DOMAIN = env_str("GADGET_DOMAIN", "gadgets.localhost:8000").lower().strip(".")
if "/" in GADGET_DOMAIN or not GADGET_DOMAIN:
    raise ImproperlyConfigured(
        f"GADGET_DOMAIN must be a host name with an optional port, "
        f"not {GADGET_DOMAIN!r}."
    )
if GADGET_DOMAIN.split(":")[0] == CONTAINER_HOST.split(":")[0]:
    raise ImproperlyConfigured(
        "GADGET_DOMAIN must differ from the container's host: gadgets never "
        "render on the container's origin."
    )

# Host of the bundled sandbox service provider; empty or "off" turns it off
# (so, unlike other variables, an empty value does not mean the default).
_sandbox = os.environ.get("SANDBOX_HOST", "provider.localhost:8000").strip().lower()
SANDBOX_HOST = "" if _sandbox in ("", "off") else _sandbox

# host:port pairs the outbound guard lets through although they are private.
OUTBOUND_ALLOWLIST = [pair.lower() for pair in env_list("OUTBOUND_ALLOWLIST")]
for _pair in OUTBOUND_ALLOWLIST:
    _host, _, _port = _pair.rpartition(":")
    if not _host or not _port.isdigit():
        raise ImproperlyConfigured(
            f"OUTBOUND_ALLOWLIST entries must be host:port, not {_pair!r}."
        )


def _host_only(netloc: str) -> str:
    return netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc


ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS") or [
    _host_only(CONTAINER_HOST),
    "." + _host_only(GADGET_DOMAIN),
    *([_host_only(SANDBOX_HOST)] if SANDBOX_HOST else []),
    "testserver",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "gadgets",
    "oauthproxy",
    "sandbox",
    "container",
]

# Django's usual middleware, each wrapped so that under ASGI it costs no
# thread hop where it does no I/O, and does not run on gadget hosts where it
# has nothing to do (see the end of container/middleware.py).
MIDDLEWARE = [
    "container.middleware.RequestIdMiddleware",
    "container.middleware.SecurityMiddleware",
    "container.middleware.StaticFilesMiddleware",
    "container.middleware.HostRoutingMiddleware",
    "container.middleware.SessionMiddleware",
    "container.middleware.CommonMiddleware",
    "container.middleware.CsrfViewMiddleware",
    "container.middleware.AuthenticationMiddleware",
    "container.middleware.MessageMiddleware",
    "container.middleware.XFrameOptionsMiddleware",
]

# The admin looks for Django's session, auth and messages middleware by
# class; ours wrap exactly those classes (a test checks), so its three
# checks would only report that the wrappers are not subclasses.
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]

ROOT_URLCONF = "container.urls"
# URLconf for hosts under GADGET_DOMAIN (gadget content only).
GADGET_HOST_URLCONF = "container.urls_gadget_host"
# URLconf for the sandbox provider's host.
SANDBOX_URLCONF = "sandbox.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "container.wsgi.application"
ASGI_APPLICATION = "container.asgi.application"

# SQLite under var/ by default; PostgreSQL via DATABASE_URL in production.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'container.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
# Under ASGI each request's ORM calls run on a thread of their own, so
# without a pool every request would open a new PostgreSQL connection.
# Connections per web process kept in psycopg's pool (0: no pool); on by
# default in production only, where DATABASE_CONN_MAX_AGE must stay 0.
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 0 if DEBUG else 20)
if (
    DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    and DATABASE_POOL_MAX_SIZE > 0
):
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": 10,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis for cache and broker when set; otherwise everything is in-process.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "gc"),
            "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "gadget-container",
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# Cookies stay on the container's host: no Domain attribute, so no gadget
# host can read or overwrite them.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CONTAINER_SCHEME == "https"
CSRF_COOKIE_SECURE = CONTAINER_SCHEME == "https"
CSRF_TRUSTED_ORIGINS = [CONTAINER_ORIGIN]
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Popups a page opens (gadgets.oauth.Popup, from a gadget's frame) keep
# their window.opener, so the approval window can report back and close;
# plain "same-origin" would cut every such popup loose as it opens.
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin-allow-popups"
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)

# Tunables of the gadget server, in one namespaced dict.
GADGETS: dict[str, Any] = {
    # Parsed specs and message bundles are reused this long.
    "SPEC_TTL_SECONDS": env_int("GADGETS_SPEC_TTL_SECONDS", 300),
    # Largest spec or message bundle accepted, before parsing.
    "SPEC_MAX_BYTES": env_int("GADGETS_SPEC_MAX_BYTES", 512 * 1024),
    # Total time allowed for a spec or bundle fetch.
    "SPEC_FETCH_DEADLINE_SECONDS": env_int("GADGETS_SPEC_FETCH_DEADLINE_SECONDS", 5),
    # Lifetime of a gadget's security token.
    "SECURITY_TOKEN_TTL_SECONDS": env_int("GADGETS_SECURITY_TOKEN_TTL_SECONDS", 3600),
    # Clock skew tolerated when checking a token's expiry.
    "SECURITY_TOKEN_SKEW_SECONDS": 180,
    # Total time allowed for one makeRequest upstream call.
    "FETCH_DEADLINE_SECONDS": env_int("GADGETS_FETCH_DEADLINE_SECONDS", 10),
    # Largest decoded upstream response body accepted.
    "MAX_RESPONSE_BYTES": env_int("GADGETS_MAX_RESPONSE_BYTES", 8 * 1024 * 1024),
    # Largest makeRequest postData accepted (Shindig's default, 5 MiB).
    "MAX_POST_BYTES": env_int("GADGETS_MAX_POST_BYTES", 5 * 1024 * 1024),
    # Redirect hops followed for unsigned requests.
    "MAX_REDIRECTS": 5,
    # Default cache lifetime of unsigned GET makeRequest answers.
    "DEFAULT_FETCH_TTL_SECONDS": 3600,
    # Pooled outbound connections (per process).
    "MAX_CONNECTIONS": env_int("GADGETS_MAX_CONNECTIONS", 1000),
    # The container name written into tokens and config.
    "CONTAINER_NAME": "default",
}

# Django REST framework: JSON only, throttled per user and per address.
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # OpenAPI for the developer API (/api/schema/); no effect on requests.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        # makeRequests per viewer of one gadget instance ("off" disables).
        "makerequest": _rate("GADGETS_MAKEREQUEST_RATE", "6000/min"),
    },
}

# The developer API's OpenAPI schema and docs (/api/schema/, /api/docs/).
SPECTACULAR_SETTINGS = {
    "TITLE": "Gadget container developer API",
    "DESCRIPTION": "Claims, consumer registrations and usage statistics of "
    "gadget developers. Secrets are write-only.",
    "VERSION": "1",
    # Only /api/ is documented, not the gadget-facing Shindig endpoints.
    "PREPROCESSING_HOOKS": ["oauthproxy.api_schema.only_developer_api"],
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Celery: Redis when configured, otherwise tasks run in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A web request that enqueues must not hang on a broker that is down: one
# short connection attempt, then the caller logs and moves on.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY = False
# Workers themselves keep reconnecting to a broker that comes back.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": 1,
    "socket_connect_timeout": 1,
    # A message a dead worker had taken goes back to the queue after this.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 3600),
}
# Take one message at a time, so a killed worker strands no others.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Beat reads its schedule from the database, editable in the admin; the
# defaults are created by oauthproxy's migration 0002_lifecycle.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Without REDIS_URL, run the periodic jobs on a thread of the web process
# (the demo command turns this on; see docs/operations.md).
LIFECYCLE_IN_PROCESS = env_bool("LIFECYCLE_IN_PROCESS", False)

# Tunables of the OAuth proxy's token lifecycle jobs (docs/operations.md).
OAUTHPROXY: dict[str, Any] = {
    # Rows each short cleanup transaction deletes.
    "CLEANUP_BATCH_SIZE": env_int("OAUTHPROXY_CLEANUP_BATCH_SIZE", 1000),
    # Audit events are kept this long.
    "AUDIT_RETENTION_DAYS": env_int("OAUTHPROXY_AUDIT_RETENTION_DAYS", 365),
    # Redacted OAuth traces are kept this long.
    "TRACE_RETENTION_DAYS": env_int("OAUTHPROXY_TRACE_RETENTION_DAYS", 30),
    # Tokens expiring within this window are refreshed by the worker.
    "REFRESH_WINDOW_SECONDS": env_int("OAUTHPROXY_REFRESH_WINDOW_SECONDS", 900),
    # Tokens unused this long get a revocation probe.
    "PROBE_IDLE_SECONDS": env_int("OAUTHPROXY_PROBE_IDLE_SECONDS", 7 * 86400),
    # A token is probed again no sooner than this.
    "PROBE_INTERVAL_SECONDS": env_int("OAUTHPROXY_PROBE_INTERVAL_SECONDS", 86400),
}

# One event per line on stdout, each with the request id.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "container.request_ids.RequestIdFilter"}},
    "formatters": {
        "line": {
            "format": "%(asctime)s %(levelname)s %(name)s "
            "request_id=%(request_id)s %(message)s"
        }
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": sys.stdout,
            "filters": ["request_id"],
            "formatter": "line",
        }
    },
    "root": {"handlers": ["stdout"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
