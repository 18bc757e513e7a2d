"""Settings of the benchmark suite: the project's settings plus the bench apps.

Environment variables:
    BENCH_DB: ``sqlite`` (default) or ``postgres``.
    BENCH_PG_URL: PostgreSQL server (default ``postgres://root@127.0.0.1:5432/bench``);
        the suite creates and drops its own ``test_<name>`` database there.
    BENCH_SQLITE_PATH: SQLite file (default: a file in the temporary directory).
    BENCH_NO_PEERS: ``1`` leaves the peers out even when installed (as in CI).

The comparators are added only when they can run: django-simple-history when it is
importable, django-pghistory (with django-pgtrigger) when it is importable and the
database is PostgreSQL. Each lives in its own app with its own migrations, so the
migrations stay consistent whichever apps are installed.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import dj_database_url

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

BENCH_DB = os.environ.get("BENCH_DB", "sqlite")
if BENCH_DB not in {"sqlite", "postgres"}:
    raise ValueError(f"BENCH_DB must be 'sqlite' or 'postgres', not {BENCH_DB!r}.")

DEBUG = False  # DEBUG records every query in memory: not what production pays
ROOT_URLCONF = "bench.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if BENCH_DB == "postgres":
    _url = os.environ.get("BENCH_PG_URL", "postgres://root@127.0.0.1:5432/bench")
    DATABASES = {"default": dj_database_url.parse(_url, conn_max_age=0)}
else:
    _path = os.environ.get(
        "BENCH_SQLITE_PATH", str(Path(tempfile.gettempdir()) / "history_bench.sqlite3")
    )
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _path,
            # WAL with synchronous=NORMAL: the usual production setting for SQLite.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            },
            "TEST": {"NAME": _path},
        }
    }


def _importable(name: str) -> bool:
    if os.environ.get("BENCH_NO_PEERS") == "1":
        return False
    return importlib.util.find_spec(name) is not None


HAS_SIMPLE_HISTORY = _importable("simple_history")
HAS_PGHISTORY = (
    BENCH_DB == "postgres" and _importable("pghistory") and _importable("pgtrigger")
)

INSTALLED_APPS = [*INSTALLED_APPS, "bench.benchapp"]
if HAS_SIMPLE_HISTORY:
    INSTALLED_APPS += ["simple_history", "bench.shapp"]
if HAS_PGHISTORY:
    INSTALLED_APPS += ["pgtrigger", "pghistory", "bench.pghapp"]
