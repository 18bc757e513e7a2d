"""``migrate`` runs every plan plain Django runs, and the triggers are right after it.

Each test deploys one step of ``tests.migrapp`` (its code, ``MIGRAPP_STATE``, and
its migrations), writes through the ORM, then runs ``migrate`` with the last step's
code, as a release does: RenameField, RenameModel, AlterModelTable, removing
``HistoricalRecords()``, deleting a tracked model and a squashed migration, each
followed by a data migration writing the models. ``manage.py`` runs in a
subprocess on a database of its own (the suite's database has no ``migrapp``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    """A ``DATABASE_URL`` for an empty database of the test's own."""
    if not POSTGRES:
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    import psycopg

    config = settings.DATABASES["default"]
    name = f"hc_migrate_{uuid.uuid4().hex[:12]}"
    server = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"],
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        user = config["USER"]
        yield f"postgres://{user}@{server['host']}:{server['port']}/{name}"
    finally:
        with psycopg.connect(**server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(url: str, state: int, *args: str, ok: bool = True) -> str:
    """Run ``manage.py`` with step ``state``'s code; return its output."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MIGRAPP_STATE": str(state),
        "DJANGO_SETTINGS_MODULE": "tests.migrapp.settings",
    }
    done = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def inspect(url: str, code: str) -> Any:
    """Run ``code`` (which sets ``result``) in the last step's shell; return result."""
    script = f"import json\n{code}\nprint('RESULT=' + json.dumps(result, default=str))"
    out = manage(url, 12, "shell", "-c", script)
    line = next(x for x in out.splitlines() if x.startswith("RESULT="))
    return json.loads(line.removeprefix("RESULT="))


def deploy(url: str, state: int, target: str) -> None:
    """Step ``state``'s release: its migrations, then writes through its ORM."""
    # migrapp's own plan (with what it depends on); the other apps come with the
    # last step's migrate.
    manage(url, state, "migrate", "migrapp", target, "--noinput", "-v", "0")
    tracked = ["Gizmo" if state < 6 else "Widget", "LongTable"]
    tracked += ["Gadget"] if state < 10 else []
    tracked += ["Elsewhere"] if POSTGRES else []
    writes = "; ".join(
        f"o = m.{name}.objects.create(name='{name} at {state}'); "
        f"o.name = 'changed at {state}'; o._change_reason = 'release {state}'; o.save()"
        for name in tracked
    )
    manage(
        url, state, "shell", "-c", f"from tests.migrapp import models as m; {writes}"
    )


CHECK_AFTER = """
from django.core.management import call_command
from tests.migrapp import models as m
call_command("history_triggers", "--check")
w = m.Widget.objects.create(name="after", dimension=7)
w.dimension = 8
w._change_reason = "after the release"
w.save()
longs = m.LongTable.objects.create(name="long after")
result = {
    "widget": [(v.name, v.dimension, v.history_type, v.history_change_reason)
               for v in w.history.order_by("history_date", "history_id")],
    "widget_versions": m.Widget.history.count(),
    "widget_names": sorted(set(m.Widget.history.values_list("name", flat=True))),
    "long": sorted(set(m.LongTable.history.values_list("name", flat=True))),
    "long_after": longs.history.count(),
    "rows": sorted(m.Widget.objects.values_list("name", flat=True)),
    "gadgets": sorted(m.Gadget.objects.values_list("name", flat=True)),
    "elsewhere": sorted(set(m.Elsewhere.history.values_list("name", flat=True))),
}
"""


@pytest.mark.parametrize(
    ("state", "target"),
    [
        (4, "0001_initial_squashed_0004_data"),
        (10, "0010_data"),
    ],
)
def test_a_release_migrates_and_leaves_the_right_triggers(
    database: str, state: int, target: str
) -> None:
    deploy(database, state, target)
    before = inspect(
        database, "from tests.migrapp.models import *\nresult = 0"
    )  # the last step's code starts on the old database (checks pass)
    assert before == 0

    manage(database, 12, "migrate", "--noinput", "-v", "0")

    after = inspect(database, CHECK_AFTER)
    assert after["widget"] == [
        ["after", 7, "+", None],
        ["after", 8, "~", "after the release"],
    ]
    # The release's history is still there, under the model's new name.
    assert after["widget_versions"] >= 4
    # Every data migration ran (each left its row) and the table it did not touch
    # kept recording during the plan: LongTable's rows of the data migrations.
    later = [n for n in (6, 8, 10, 12) if n > state]
    assert set(after["rows"]) == {"step 12", "seen by 12", "after"}
    assert {f"step {n}" for n in later} | {f"seen by {n}" for n in later} <= set(
        after["long"]
    )
    assert f"changed at {state}" in after["long"]
    # Widget's triggers come back once its tables have the code's shape (from
    # 0007, its final table, on): later data migrations are recorded.
    assert {f"step {n}" for n in later if n >= 8} <= set(after["widget_names"])
    if state < 6:  # 0006 wrote migrapp_widget, which the code no longer has
        assert "step 6" not in after["widget_names"]
    assert after["long_after"] == 1
    assert "step 12" in after["gadgets"]
    if POSTGRES:  # a table in another schema records like any other
        assert {f"changed at {state}", "step 12"} <= set(after["elsewhere"])


def test_a_new_install_runs_the_squashed_plan_back_to_zero_and_forward(
    database: str,
) -> None:
    manage(database, 12, "migrate", "--noinput", "-v", "0")
    manage(database, 12, "migrate", "migrapp", "zero", "--noinput", "-v", "0")
    manage(database, 12, "migrate", "--noinput", "-v", "0")
    after = inspect(database, CHECK_AFTER)
    assert after["widget"][-1] == ["after", 8, "~", "after the release"]
    assert set(after["rows"]) == {"step 12", "seen by 12", "after"}
    # Triggers are installed as soon as a table has the code's shape, after the
    # migration that gave it: the data migrations after it are recorded (not those
    # inside the squashed migration that created the table; Widget has its final
    # table from 0007 on).
    assert {"step 6", "step 12", "long after"} <= set(after["long"])
    assert not {"step 2", "seen by 4"} & set(after["long"])
    assert {"step 8", "step 12"} <= set(after["widget_names"])
    assert "step 6" not in after["widget_names"]


def test_check_reports_stale_and_orphaned_triggers(database: str) -> None:
    deploy(database, 10, "0010_data")
    # Step 12's code on step 10's database, before migrate: Doohickey's triggers
    # are orphaned (its model is gone from the code).
    out = manage(database, 12, "history_triggers", "--check", ok=False)
    assert "orphaned" in out and "trigger problem" in out
    assert "history_core.W005" in manage(database, 12, "check", "--database", "default")
    assert "history_core.W005" in runserver_start(database)

    migrated = manage(database, 12, "migrate", "--noinput")
    assert "W005" not in migrated  # migrate puts them right: no warning

    assert "as this code installs them" in manage(
        database, 12, "history_triggers", "--check"
    )
    assert "W005" not in manage(database, 12, "check", "--database", "default")
    assert "W005" not in runserver_start(database)


def runserver_start(url: str) -> str:
    """What ``runserver`` says before it serves (it is stopped once it listens)."""
    from tests.services import free_port

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MIGRAPP_STATE": "12",
        "DJANGO_SETTINGS_MODULE": "tests.migrapp.settings",
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    said = []
    try:
        assert server.stdout is not None
        for line in server.stdout:
            said.append(line)
            if "Quit the server" in line:  # runserver's last line before serving
                break
    finally:
        server.kill()
        server.wait(timeout=30)
    return "".join(said)
