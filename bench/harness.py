"""Measuring: timing, query and commit counts, statistics and the result table."""

from __future__ import annotations

import gc
import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

WRITES = {"INSERT", "UPDATE", "DELETE"}  # statements that commit in autocommit mode
_WRITE_IN_CTE = re.compile(r"\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def _writes(sql: str) -> bool:
    """Whether ``sql`` writes: an INSERT/UPDATE/DELETE, or a CTE that contains one."""
    head = sql.lstrip()[:6].upper()
    if head in WRITES:
        return True
    return head.startswith("WITH") and _WRITE_IN_CTE.search(sql) is not None


@dataclass
class Sample:
    """One timed run of a workload by one system."""

    seconds: float
    queries: int = 0
    commits: int = 0
    history_rows: int = 0


@dataclass
class Meter:
    """Counts SQL statements and commits on the default connection while active.

    A writing statement outside an atomic block runs in autocommit mode and is its
    own commit; inside one, the commit is the explicit ``connection.commit()``.
    """

    queries: int = 0
    commits: int = 0

    def __call__(
        self, execute: Any, sql: str, params: Any, many: bool, ctx: Any
    ) -> Any:
        self.queries += 1
        if (
            connection.get_autocommit()
            and not connection.in_atomic_block
            and _writes(sql)
        ):
            self.commits += 1
        return execute(sql, params, many, ctx)

    @contextmanager
    def active(self) -> Iterator[Meter]:
        original = connection.commit

        def commit() -> None:
            self.commits += 1
            original()

        connection.commit = commit  # type: ignore[method-assign]
        try:
            with connection.execute_wrapper(self):
                yield self
        finally:
            del connection.commit  # back to the class's method


def measure(run: Callable[[], Any]) -> Sample:
    """Run ``run`` once under a meter, after a garbage collection."""
    gc.collect()
    meter = Meter()
    with meter.active():
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
    return Sample(elapsed, meter.queries, meter.commits)


def rotated(items: list[Any], shift: int) -> list[Any]:
    """``items`` rotated by ``shift``: interleaves systems across repetitions."""
    shift %= max(1, len(items))
    return items[shift:] + items[:shift]


@dataclass
class Row:
    """All samples of one workload run by one system."""

    workload: str
    system: str
    ops: int
    samples: list[Sample] = field(default_factory=list)
    note: str = ""

    @property
    def times(self) -> list[float]:
        return sorted(s.seconds for s in self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        times = self.times
        return times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]

    def per_op(self, attr: str) -> float:
        total = sum(getattr(s, attr) for s in self.samples)
        return total / (len(self.samples) * self.ops)


class Results:
    """Rows in insertion order, keyed by (workload, system); plus free-form notes."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.rows: dict[tuple[str, str], Row] = {}
        self.notes: list[str] = []
        self.plans: list[tuple[str, str, str]] = []

    def add(self, workload: str, system: str, ops: int, sample: Sample) -> None:
        key = (workload, system)
        if key not in self.rows:
            self.rows[key] = Row(workload, system, ops)
        self.rows[key].samples.append(sample)

    def note(self, text: str) -> None:
        print(f"  note: {text}", flush=True)
        self.notes.append(text)

    def ratio(self, row: Row) -> float | None:
        base = self.rows.get((row.workload, "plain"))
        if base is None or not base.samples or base.median == 0:
            return None
        return row.median / base.median

    def table(self) -> str:
        head = (
            "| workload | system | ops/run | median | p95 | min-max | per op "
            "| queries/op | commits/op | history rows/op | x plain |"
        )
        lines = [head, "|" + " --- |" * 11]
        for row in self.rows.values():
            ratio = self.ratio(row)
            lines.append(
                "| "
                + " | ".join(
                    [
                        row.workload,
                        row.system,
                        str(row.ops),
                        fmt_time(row.median),
                        fmt_time(row.p95),
                        f"{fmt_time(row.times[0])}-{fmt_time(row.times[-1])}",
                        fmt_time(row.median / row.ops),
                        f"{row.per_op('queries'):.2f}",
                        f"{row.per_op('commits'):.2f}",
                        f"{row.per_op('history_rows'):.2f}",
                        "-" if ratio is None else f"{ratio:.2f}x",
                    ]
                )
                + " |"
            )
        return "\n".join(lines)


def fmt_time(seconds: float) -> str:
    """Format a duration with a readable unit."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def reset_tables(*models: Any) -> None:
    """Empty the tables of ``models`` (and restart their ids)."""
    from history_core.database import pruning  # history tables refuse it otherwise

    tables = [m._meta.db_table for m in models]
    with pruning(connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            quoted = ", ".join(connection.ops.quote_name(t) for t in tables)
            cursor.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
            return
        for table in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
        placeholders = ", ".join(["%s"] * len(tables))
        cursor.execute(
            f"DELETE FROM sqlite_sequence WHERE name IN ({placeholders})", tables
        )


def vacuum_analyze(*models: Any) -> None:
    """Refresh planner statistics (and PostgreSQL's visibility map)."""
    with connection.cursor() as cursor:
        for model in models:
            table = connection.ops.quote_name(model._meta.db_table)
            if connection.vendor == "postgresql":
                cursor.execute(f"VACUUM ANALYZE {table}")
            else:
                cursor.execute(f"ANALYZE {table}")
