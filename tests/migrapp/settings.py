"""Settings of the ``migrate`` plan tests (tests/history_core/test_migrate_plans.py).

The demo's settings plus ``tests.migrapp``, whose models take the shape of one step
of its migration history (``MIGRAPP_STATE``): each test deploys one step's code and
database, then migrates to the last step with the last step's code, as a release does.
"""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.migrapp"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
