"""Building large history tables fast, set-based, for the read workloads.

Every system gets the same data: ``objects`` live rows, and ``objects x versions``
history rows whose versions are interleaved in time (version ``v`` of object ``o`` is
written at ``BASE + v * objects + o`` seconds), plus ``rare`` objects written once, a
year before ``BASE``. On PostgreSQL the rows come from ``generate_series``; on SQLite
from a recursive common table expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection

from bench.harness import reset_tables, vacuum_analyze
from bench.systems import PGHistory, SimpleHistory, System

BASE = datetime(2024, 1, 1, tzinfo=UTC)
RARE_AGE = timedelta(days=365)


@dataclass(frozen=True)
class Shape:
    """How many objects, versions per object and once-written objects."""

    objects: int
    versions: int
    rare: int = 0

    @property
    def end(self) -> datetime:
        """An instant after every version."""
        return BASE + timedelta(seconds=self.objects * self.versions + 1)

    @property
    def history_rows(self) -> int:
        return self.objects * self.versions + self.rare


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _series(first: int, count: int, versions: int) -> str:
    """Rows ``(o, v)``: objects ``first..first+count-1``, ``versions`` each."""
    if _pg():
        return (
            f"generate_series(0, {versions - 1}) AS vs(v) "
            f"CROSS JOIN generate_series({first}, {first + count - 1}) AS os(o)"
        )
    total = count * versions
    return (
        f"(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s "
        f"WHERE i < {total - 1}) SELECT i % {count} + {first} AS o, "
        f"i / {count} AS v FROM s)"
    )


def _timestamp(seconds_sql: str) -> str:
    if _pg():
        return f"TIMESTAMPTZ '2024-01-01 00:00:00+00' + ({seconds_sql}) * INTERVAL '1 second'"
    return f"datetime('2024-01-01 00:00:00', ({seconds_sql}) || ' seconds')"


def _json(literal_sql: str) -> str:
    return f"({literal_sql})::jsonb" if _pg() else literal_sql


def _item_columns() -> dict[str, str]:
    return {
        "id": "o",
        "name": "'item ' || o",
        "price": "(o % 1000) + 0.99",
        "description": "'description of item ' || o",
        "qty": "v",
    }


def _history_columns(system: System, ts: str) -> dict[str, str]:
    columns = _item_columns()
    if isinstance(system, PGHistory):
        columns.update(
            pgh_created_at=ts,
            pgh_label="CASE WHEN v = 0 THEN 'insert' ELSE 'update' END",
            pgh_obj_id="o",
        )
    elif isinstance(system, SimpleHistory):
        columns.update(
            history_date=ts, history_type="CASE WHEN v = 0 THEN '+' ELSE '~' END"
        )
    else:  # history_core
        columns.update(
            history_date=ts,
            history_type="CASE WHEN v = 0 THEN '+' ELSE '~' END",
            history_context=_json("'{}'"),
            history_changed_fields=_json(
                "CASE WHEN v = 0 THEN '[]' ELSE '[\"qty\"]' END"
            ),
        )
    return columns


def _insert(table: str, columns: dict[str, str], source: str, order: str) -> None:
    qn = connection.ops.quote_name
    target = ", ".join(qn(c) for c in columns)
    values = ", ".join(columns.values())
    sql = f"INSERT INTO {qn(table)} ({target}) SELECT {values} FROM {source} {order}"
    with connection.cursor() as cursor:
        cursor.execute(sql)


def insert_live(system: System, count: int) -> None:
    """``count`` live rows with ids ``1..count``."""
    _insert(system.model._meta.db_table, _item_columns(), _series(1, count, 1), "")


def build(
    system: System,
    shape: Shape,
    live_rows: int | None = None,
    extra: dict[str, str] | None = None,
) -> None:
    """Empty ``system``'s tables and fill them with ``shape``.

    ``extra`` adds (or overrides) columns of the ``objects x versions`` history rows:
    SQL expressions of ``o`` (the object) and ``v`` (the version).
    """
    reset_tables(*system.tables())
    insert_live(system, live_rows or shape.objects + shape.rare)
    if system.history_model is None:
        vacuum_analyze(system.model)
        return
    reset_tables(system.history_model)  # triggers may have recorded the live rows
    table = system.history_model._meta.db_table
    if shape.rare:
        old = _timestamp(str(-int(RARE_AGE.total_seconds())))
        columns = _history_columns(system, old)
        _insert(table, columns, _series(shape.objects + 1, shape.rare, 1), "")
    ts = _timestamp(f"v * {shape.objects} + o")
    columns = {**_history_columns(system, ts), **(extra or {})}
    source = _series(1, shape.objects, shape.versions)
    _insert(table, columns, source, "ORDER BY v, o")
    vacuum_analyze(system.model, system.history_model)
