"""Django settings for the history demo project, read from the environment.

Environment variables:
    DATABASE_URL: database to use; defaults to an SQLite file beside ``manage.py``.
        ``postgres://user@host:5432/name`` selects PostgreSQL.
    SECRET_KEY: required when ``DEBUG`` is off.
    DEBUG: ``1``/``true`` to enable debug mode (default on for the demo).
    ALLOWED_HOSTS: comma-separated host names.
    CORS_ALLOWED_ORIGINS: comma-separated origins allowed to call the API with
        credentials, and trusted for CSRF. Default: ``http://localhost:5173`` with
        ``DEBUG`` on, none with it off.
    HTTPS: ``1`` (default when ``DEBUG`` is off) turns on the HTTPS settings:
        redirect to HTTPS, secure cookies, HSTS. ``HSTS_SECONDS`` (default one
        year) and ``HSTS_PRELOAD`` (default on) tune HSTS; ``TRUSTED_PROXY_HTTPS=1``
        trusts ``X-Forwarded-Proto: https`` from your reverse proxy.
    LOGIN_FAILURE_LIMIT / LOGIN_ADDRESS_FAILURE_LIMIT / LOGIN_COOLOFF_MINUTES: failed
        logins allowed per (account, client address) (default 5) and per address
        (default 20) before further attempts wait, and the longest wait (default 15
        minutes); see graphql_api/throttle.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str = "") -> list[str]:
    return [
        item.strip()
        for item in os.environ.get(name, default).split(",")
        if item.strip()
    ]


DEBUG = _env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: export SECRET_KEY=<a long random "
            "string> (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = "insecure-demo-key-only-for-debug"  # noqa: S105 - DEBUG-only fallback

ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "history_core",
    "graphql_api",  # before strawberry_django: its export_schema command wins
    "strawberry_django",
    "catalog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "history_core.middleware.HistoryContextMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=0,
    )
}
DATABASES["default"].setdefault("TEST", {})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Failed logins slow down further attempts, per (account, address) and per address,
# with growing delays and no lock-out (graphql_api/throttle.py). Counts are kept in
# the cache: configure CACHES with one shared by every worker (Redis, Memcached) in
# production; the local-memory default counts per process.
AUTHENTICATION_BACKENDS = ["graphql_api.throttle.ThrottledModelBackend"]
LOGIN_THROTTLE = {
    "FAILURES": int(os.environ.get("LOGIN_FAILURE_LIMIT", "5")),
    "ADDRESS_FAILURES": int(os.environ.get("LOGIN_ADDRESS_FAILURE_LIMIT", "20")),
    "MAX_DELAY": 60 * float(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Cross-origin frontends: only listed origins, with credentials (cookie sessions).
# With DEBUG off nothing is trusted unless configured.
CORS_ALLOWED_ORIGINS = _env_list(
    "CORS_ALLOWED_ORIGINS", "http://localhost:5173" if DEBUG else ""
)
CORS_ALLOW_CREDENTIALS = True
CSRF_TRUSTED_ORIGINS = CORS_ALLOWED_ORIGINS
CSRF_COOKIE_SAMESITE = "Lax"
# /graphql/ runs the CSRF check itself, for mutations only (queries need no token),
# and answers a failure as GraphQL JSON (403, code CSRF_FAILED); so does this view
# for /graphql/ paths. Elsewhere (the admin) Django's page.
CSRF_FAILURE_VIEW = "graphql_api.http.csrf_failure"
SESSION_COOKIE_SAMESITE = "Lax"

HISTORY_CORE: dict[str, object] = {}

# HTTPS in production (manage.py check --deploy is clean with DEBUG off).
if _env_bool("HTTPS", not DEBUG):
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = _env_bool("HSTS_PRELOAD", True)
if _env_bool("TRUSTED_PROXY_HTTPS", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# GraphiQL at /graphql/ in a browser; off by default in production (DEBUG off).
GRAPHIQL_ENABLED = _env_bool("GRAPHIQL", DEBUG)
