"""``run.py --profile``: where history_core's time goes, workload by workload.

Each selected workload runs once for plain Django and once for history_core under
cProfile; the top functions by internal time and by cumulative time are printed,
so a missed target can be traced to the code that costs it.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import random
from collections.abc import Callable
from typing import Any

from bench.dataset import Shape, build
from bench.harness import reset_tables
from bench.reads import _lookups
from bench.systems import System
from bench.writes import WRITES


def _report(title: str, run: Callable[[], Any], top: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(top)
        body = out.getvalue()
        start = body.find("   ncalls")
        print(f"\n#### {title}, by {order}\n```\n{body[start:].rstrip()}\n```")


def _read_runs(system: System, sizes: dict[str, Any], name: str) -> Callable[[], Any]:
    if name in {"R3", "R4"}:
        shape: Shape = sizes["r3"]
        build(system, shape)
        if name == "R3":
            return lambda: system.as_of_all(shape.end)
        old, new = system.two_versions(1)
        loops = sizes["r4_loops"]
        return lambda: [system.diff(old, new) for _ in range(loops)]
    shape = sizes["r2"]
    build(system, shape, max(shape.objects + shape.rare, shape.versions))
    if name == "R1":
        return lambda: system.timeline(1)
    picks = _lookups(shape, sizes["r2_lookups"], random.Random(4))
    return lambda: [system.as_of_one(pk, ts) for _, pk, ts in picks]


def run_profiles(
    systems: list[System], sizes: dict[str, Any], only: set[str], top: int = 25
) -> None:
    """Profile plain and history_core on each workload of ``only`` (W*, R1-R4)."""
    chosen = [s for s in systems if s.name in {"plain", "history_core"}]
    writes = {w.name: w for w in WRITES}
    for name in sorted(only):
        for system in chosen:
            if name in writes:
                reset_tables(*system.tables())
                workload = writes[name]
                run = workload.prepare(system, sizes[workload.size])
            elif name in {"R2", "R3", "R4"} or (
                name == "R1" and system.name != "plain"
            ):
                run = _read_runs(system, sizes, name)
            else:
                continue
            _report(f"{name} {system.name}", run, top)
