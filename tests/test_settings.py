"""Settings come from the environment; production mode refuses to start unsafely."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    environ.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    code = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    return subprocess.run(  # noqa: S603 - the test's own interpreter
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


def test_secret_key_is_required_when_debug_is_off() -> None:
    result = _load_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_database_url_selects_the_database() -> None:
    sqlite = _load_settings(DEBUG="1", DATABASE_URL="sqlite:////tmp/x.sqlite3")
    assert sqlite.stdout.strip() == "django.db.backends.sqlite3"
    postgres = _load_settings(
        DEBUG="0", SECRET_KEY="k" * 50, DATABASE_URL="postgres://u@127.0.0.1:5432/db"
    )
    assert postgres.stdout.strip() == "django.db.backends.postgresql", postgres.stderr
