"""Settings for the test suite: the project settings plus the test app."""

import os

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
