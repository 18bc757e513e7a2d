"""Settings for the test suite: the project settings plus the test app."""

import os
from typing import Any

from config.settings import *  # noqa: F403
from config.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
# Parallel runs (python versions, developers) each get their own test database.
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"]["NAME"] = os.environ["TEST_DATABASE_NAME"]
GRAPHIQL_ENABLED = True  # the tests exercise the explorer (DEBUG is off in tests)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast in tests
# A second alias for the primary/replica router tests (history_core/test_equivalence.py):
# same server, its own test database (SQLite: its own in-memory database).
DATABASES["replica"] = {**DATABASES["default"], "TEST": {}}
if "sqlite" not in DATABASES["replica"]["ENGINE"]:
    _test_name = DATABASES["default"]["TEST"].get("NAME")
    _test_name = _test_name or f"test_{DATABASES['default']['NAME']}"
    DATABASES["replica"]["TEST"]["NAME"] = f"{_test_name}_replica"

# PostgreSQL behind poolers (history_core/test_poolers.py): the same test database
# through PgBouncer in transaction mode (started by the test on POOLER_PORT), with
# server-side binding, and through Django's own connection pool.
if "postgresql" in DATABASES["default"]["ENGINE"]:
    from tests.services import free_port

    POOLER_PORT = int(os.environ.get("PGBOUNCER_PORT") or free_port())
    _mirror = {"MIRROR": "default"}
    _direct: dict[str, Any] = {
        **DATABASES["default"],
        "TEST": _mirror,
        "CONN_MAX_AGE": 0,
    }
    _bouncer: dict[str, Any] = {
        **_direct,
        "HOST": "127.0.0.1",
        "PORT": str(POOLER_PORT),
        "DISABLE_SERVER_SIDE_CURSORS": True,  # Django's advice for transaction mode
    }
    _ssb = {"server_side_binding": True}
    _databases: dict[str, Any] = DATABASES
    _databases["pgbouncer"] = _bouncer
    _databases["pgbouncer_ssb"] = {**_bouncer, "OPTIONS": _ssb}
    _databases["direct_ssb"] = {**_direct, "OPTIONS": _ssb}
    _databases["django_pool"] = {
        **_direct,
        "OPTIONS": {"pool": {"min_size": 1, "max_size": 2}},
    }
