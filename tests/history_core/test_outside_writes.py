"""SQLite: a program that opens the database file itself cannot write tracked tables.

The triggers call SQL functions that only Django's connections have; SQLite looks
them up when it prepares a statement, so a write to a tracked table from the
``sqlite3`` shell (which ``manage.py dbshell`` runs) or from another program fails
before it changes anything, with an error that names the function. Reads, and
writes to untracked tables, work as usual.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from catalog.models import Product
from history_core import context

pytestmark = [
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's functions"),
    pytest.mark.django_db(transaction=True),
]
MISSING = "no such function: history_core_"
WRITES = {
    "insert": "INSERT INTO catalog_product (name, price, description) VALUES ('x', 1, '')",
    "update": "UPDATE catalog_product SET name = 'changed outside'",
    "delete": "DELETE FROM catalog_product",
    "history delete": "DELETE FROM catalog_historicalproduct",
}
PRODUCTS = "SELECT * FROM catalog_product"
VERSIONS = "SELECT * FROM catalog_historicalproduct"


@pytest.fixture
def copy(tmp_path: Path, make_product: Any) -> Iterator[Path]:
    """A file with the test database as it is: one product, its history, triggers."""
    assert Product._meta.db_table == "catalog_product"
    assert Product.history.model._meta.db_table == "catalog_historicalproduct"
    with context(reason="made in Django"):
        make_product(name="made in Django")
    path = tmp_path / "copy.sqlite3"
    with connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [str(path)])
    yield path


def _rows(path: Path, sql: str) -> list[Any]:
    with sqlite3.connect(path) as other:
        return other.execute(sql).fetchall()


@pytest.mark.parametrize("write", WRITES)
def test_another_program_cannot_write_a_tracked_table(copy: Path, write: str) -> None:
    before = (
        _rows(copy, VERSIONS),
        _rows(copy, PRODUCTS),
    )
    other = sqlite3.connect(copy)
    with pytest.raises(sqlite3.OperationalError, match=MISSING):
        other.execute(WRITES[write])
    other.commit()
    other.close()
    after = (
        _rows(copy, VERSIONS),
        _rows(copy, PRODUCTS),
    )
    assert after == before
    assert len(before[0]) == 1


def test_another_program_reads_and_writes_untracked_tables(copy: Path) -> None:
    with sqlite3.connect(copy) as other:
        reasons = other.execute(
            "SELECT history_change_reason FROM catalog_historicalproduct"
        )
        assert reasons.fetchall() == [("made in Django",)]
        other.execute("CREATE TABLE outside_note (note TEXT)")
        other.execute("INSERT INTO outside_note VALUES ('outside')")
        other.execute("UPDATE django_content_type SET model = model || '!'")
    assert _rows(copy, "SELECT note FROM outside_note") == [("outside",)]
    changed = _rows(copy, "SELECT DISTINCT substr(model, -1) FROM django_content_type")
    assert changed == [("!",)]


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="no sqlite3 shell")
def test_the_sqlite3_shell_cannot_write_a_tracked_table(copy: Path) -> None:
    done = subprocess.run(  # noqa: S603 - the sqlite3 shell on our own file
        ["sqlite3", str(copy), WRITES["update"]],  # noqa: S607 - from PATH
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert MISSING in done.stderr
    assert _rows(copy, "SELECT name FROM catalog_product") == [("made in Django",)]


def test_django_connections_keep_the_function_of_earlier_triggers() -> None:
    # Triggers installed by an earlier version call history_core_context() until
    # the next migrate reinstalls them: their writes must not fail meanwhile.
    with context(reason="upgrading"), connection.cursor() as cursor:
        cursor.execute("SELECT history_core_context()")
        encoded = json.loads(cursor.fetchone()[0])
    assert encoded["reason"] == "upgrading"
    assert set(encoded) == {"reason", "now"}
