"""Read workloads R1-R4, on history tables built set-based (see ``dataset``)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.dataset import BASE, Shape, build
from bench.harness import Meter, Results, Sample, measure, rotated
from bench.systems import PGHistory, Plain, System


def _selected(only: set[str] | None, *names: str) -> bool:
    return not only or any(n in only for n in names)


def run_reads(
    results: Results,
    systems: list[System],
    sizes: dict[str, Any],
    repeat: int,
    only: set[str] | None,
) -> None:
    """R3 and R4 on one data set, then R1 and R2 on the large one."""
    if _selected(only, "R3", "R4"):
        shape: Shape = sizes["r3"]
        print(f"building R3/R4 data: {shape}", flush=True)
        for system in systems:
            build(system, shape)
        if _selected(only, "R3"):
            _r3(results, systems, shape, repeat)
        if _selected(only, "R4"):
            _r4(results, systems, sizes["r4_loops"], repeat)
    if _selected(only, "R1", "R2"):
        shape = sizes["r2"]
        print(f"building R1/R2 data: {shape}", flush=True)
        for system in systems:
            build(system, shape, max(shape.objects + shape.rare, shape.versions))
        if _selected(only, "R1"):
            _r1(results, systems, shape, repeat)
        if _selected(only, "R2"):
            _r2(results, systems, shape, sizes["r2_lookups"], repeat)
            _explain(results, systems, shape)


def _r3(results: Results, systems: list[System], shape: Shape, repeat: int) -> None:
    print(f"R3: Model.history.as_of over {shape.objects} objects", flush=True)
    for rep in range(repeat):
        for system in rotated(systems, rep):
            holder: dict[str, Any] = {}

            def run(system: System = system, holder: dict[str, Any] = holder) -> None:
                holder["rows"] = system.as_of_all(shape.end)

            sample = measure(run)
            if len(holder["rows"]) != shape.objects:
                results.note(
                    f"R3 {system.name}: {len(holder['rows'])} objects, "
                    f"expected {shape.objects}"
                )
            results.add("R3", system.name, 1, sample)
    results.note(
        "R3 plain lists the same live rows; pghistory has no whole-model as-of, so "
        "it runs a hand-written DISTINCT ON query returning events."
    )


def _r4(results: Results, systems: list[System], loops: int, repeat: int) -> None:
    print(f"R4: diff of two versions in memory x {loops}", flush=True)
    usable = [s for s in systems if not isinstance(s, PGHistory)]
    pairs = {s.name: s.two_versions(1) for s in usable}
    for rep in range(repeat):
        for system in rotated(usable, rep):
            old, new = pairs[system.name]

            def run(system: System = system, old: Any = old, new: Any = new) -> None:
                diff = system.diff
                for _ in range(loops):
                    diff(old, new)

            results.add("R4", system.name, loops, measure(run))
    results.note(
        "R4 plain is a hand-written comparison of the four fields of two instances; "
        "pghistory has no in-memory diff (its diffs are computed in SQL)."
    )


def _r1(results: Results, systems: list[System], shape: Shape, repeat: int) -> None:
    print(f"R1: timeline of one object with {shape.versions} versions", flush=True)
    for rep in range(repeat):
        for system in rotated(systems, rep):
            pk = 1 + rep % shape.objects
            if isinstance(system, Plain):
                model = system.model

                def run(model: Any = model) -> Any:
                    return list(model.objects.order_by("pk")[: shape.versions])

            else:

                def run(system: System = system, pk: int = pk) -> Any:
                    rows = system.timeline(pk)
                    assert len(rows) == shape.versions, (system.name, len(rows))

            results.add("R1", system.name, 1, measure(run))
    results.note(f"R1 plain lists {shape.versions} live rows.")


def _lookups(
    shape: Shape, count: int, rng: random.Random
) -> list[tuple[str, int, Any]]:
    span = shape.objects * shape.versions
    rare_count = max(1, count // 2) if shape.rare else 0
    picks = []
    for i in range(count + rare_count):
        ts = BASE + timedelta(seconds=rng.randrange(shape.objects + 1, span))
        if i < count:
            picks.append(("R2 often", rng.randrange(1, shape.objects + 1), ts))
        else:
            first = shape.objects + 1
            picks.append(("R2 rare", rng.randrange(first, first + shape.rare), ts))
    return picks


def _time_one(call: Callable[[], Any]) -> Sample:
    meter = Meter()
    with meter.active():
        start = time.perf_counter()
        call()
        elapsed = time.perf_counter() - start
    return Sample(elapsed, meter.queries, meter.commits)


def _r2(
    results: Results, systems: list[System], shape: Shape, count: int, repeat: int
) -> None:
    print(
        f"R2: as_of of one object, {shape.history_rows} history rows, "
        f"{count} often-changed + {count // 2} rare lookups per repetition",
        flush=True,
    )
    rng = random.Random(4)
    for rep in range(repeat):
        picks = _lookups(shape, count, rng)
        for system in rotated(systems, rep):
            for workload, pk, ts in picks:
                sample = _time_one(lambda s=system, p=pk, t=ts: s.as_of_one(p, t))
                results.add(workload, system.name, 1, sample)
    results.note(
        f"R2: {shape.objects} objects x {shape.versions} versions + {shape.rare} "
        "objects written once a year earlier; plain is a primary-key get() of the live "
        "row; pghistory has no as_of, so it runs the equivalent filter/order/first()."
    )


def _captured_sql(call: Callable[[], Any]) -> str:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return str(ctx.captured_queries[-1]["sql"])


def _explain(results: Results, systems: list[System], shape: Shape) -> None:
    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS) "
        if connection.vendor == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    ts: datetime = shape.end
    cases = [("often-changed", 1)]
    if shape.rare:
        cases.append(("written once", shape.objects + 1))
    for system in systems:
        if system.name not in {"history_core", "simple-history"}:
            continue
        for label, pk in cases:
            sql = _captured_sql(lambda s=system, p=pk: s.as_of_one(p, ts))
            with connection.cursor() as cursor:
                cursor.execute(prefix + sql)
                plan = "\n".join(" | ".join(map(str, row)) for row in cursor.fetchall())
            results.plans.append((f"{system.name} as_of, {label} object", sql, plan))
