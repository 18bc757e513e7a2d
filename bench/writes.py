"""Write workloads W1-W8: every system starts from empty tables for each run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from bench.benchapp.models import TrackedMember
from bench.harness import Results, measure, reset_tables, rotated
from bench.systems import InsertFloor, System


def new_item(model: Any, i: int) -> Any:
    """An unsaved benchmark object, the same for every system."""
    return model(
        name=f"item {i}",
        price=Decimal(i % 1000) + Decimal("0.99"),
        description=f"description of item {i}, long enough to be a realistic text",
        qty=i,
    )


def seed(system: System, n: int) -> list[Any]:
    """Insert ``n`` rows with the base manager (uncaptured by Python-side tracking)."""
    objs = [new_item(system.model, i) for i in range(n)]
    system.model._base_manager.bulk_create(objs)
    return list(system.model.objects.order_by("pk"))


def _w1(system: System, n: int) -> Callable[[], Any]:
    model = system.model
    fields = [
        {
            "name": f"item {i}",
            "price": Decimal("9.99"),
            "description": "created",
            "qty": i,
        }
        for i in range(n)
    ]

    def run() -> None:
        for values in fields:
            model.objects.create(**values)

    return run


def _saves(objs: list[Any]) -> None:
    for obj in objs:
        obj.qty += 1
        obj.save()


def _w2(system: System, n: int) -> Callable[[], Any]:
    objs = seed(system, n)
    return lambda: _saves(objs)


def _w3(system: System, n: int) -> Callable[[], Any]:
    objs = seed(system, n)

    def run() -> None:
        with transaction.atomic():
            _saves(objs)

    return run


def _w4(system: System, n: int) -> Callable[[], Any]:
    objs = [new_item(system.model, i) for i in range(n)]
    return lambda: system.bulk_create(objs)


def _w5(system: System, n: int) -> Callable[[], Any]:
    seed(system, n)
    return system.update_all


def _w6(system: System, n: int) -> Callable[[], Any]:
    objs = seed(system, n)
    for obj in objs:
        obj.qty += 1
    return lambda: system.bulk_update(objs, ["qty"])


def _w8(system: System, n: int) -> Callable[[], Any]:
    assert system.cascade is not None
    group_model, member_model = system.cascade
    group = group_model.objects.create(name="group")
    member_model.objects.bulk_create(
        [member_model(group=group, name=f"member {i}", qty=i) for i in range(n)],
        batch_size=5000,
    )
    return lambda: system.delete_group(group)


@dataclass(frozen=True)
class WriteWorkload:
    """A write workload: its name, size key, and a ``prepare -> run`` factory."""

    name: str
    label: str
    size: str
    prepare: Callable[[System, int], Callable[[], Any]]


WRITES = [
    WriteWorkload("W1", "create() in autocommit", "single", _w1),
    WriteWorkload("W2", "save() one changed field, autocommit", "single", _w2),
    WriteWorkload("W3", "save() one changed field, one transaction", "single", _w3),
    WriteWorkload("W4", "bulk_create", "bulk", _w4),
    WriteWorkload("W5", "QuerySet.update()", "bulk", _w5),
    WriteWorkload("W6", "bulk_update of loaded objects", "bulk", _w6),
    WriteWorkload("W7", "QuerySet.update() of many rows", "large", _w5),
    WriteWorkload("W8", "delete() cascading to many rows", "cascade", _w8),
]
# W8 needs models of its own: systems without them (the peers) skip it.
NEEDS_CASCADE = {"W8"}


def _cascade_tables(system: System) -> list[Any]:
    if system.cascade is None:
        return []
    tables = list(system.cascade)
    tables += [m.history.model for m in system.cascade if hasattr(m, "history")]
    if isinstance(system, InsertFloor):
        tables.append(TrackedMember.history.model)
    return tables


def _history_rows(system: System, workload: str) -> int:
    if workload not in NEEDS_CASCADE:
        return system.history_count()
    tables = _cascade_tables(system)
    return sum(
        int(t._base_manager.count())
        for t in tables
        if t._meta.model_name.startswith("historical")
    )


def run_writes(
    results: Results,
    systems: list[System],
    sizes: dict[str, int],
    repeat: int,
    only: set[str] | None,
) -> None:
    """Run each selected write workload, systems interleaved per repetition."""
    for workload in WRITES:
        if only and workload.name not in only:
            continue
        n = sizes[workload.size]
        print(f"{workload.name}: {workload.label} x {n}", flush=True)
        for rep in range(repeat):
            for system in rotated(systems, rep):
                if (
                    system.workloads is not None
                    and workload.name not in system.workloads
                ) or (workload.name in NEEDS_CASCADE and system.cascade is None):
                    continue
                reset_tables(*system.tables(), *_cascade_tables(system))
                run = workload.prepare(system, n)
                before = _history_rows(system, workload.name)
                sample = measure(run)
                sample.history_rows = _history_rows(system, workload.name) - before
                results.add(workload.name, system.name, n, sample)
