"""Capture in the database: one trigger per tracked table writes the versions.

Every write that reaches a tracked table, whatever ORM path, manager, queryset
subclass, router or override produced it (raw SQL included), fires the table's
triggers inside the same statement. The snapshot is the row as stored (``NEW``) or
as deleted (``OLD``), the changed fields are computed by comparing the two in the
database, and a write that changes no tracked field records nothing. Nothing runs
in Python around the write, so the host application's transactions, exceptions and
return values are exactly Django's.

Each vendor's triggers live in a module of their own, behind the same small
interface (``triggers``, ``exists``, ``installed``, ``install``, ``drop``,
``current``): :mod:`.postgresql` (statement-level triggers with transition tables)
and :mod:`.sqlite` (row-level triggers). This module installs, checks and removes
them the same way for both.

A multi-table child's fields live in several tables: its triggers join them, and an
``UPDATE`` of a parent's table records a version of each child row it touches.
History tables get triggers that refuse ``UPDATE`` and ``DELETE`` except while
``prune_history`` runs.

Triggers are (re)installed after every ``migrate``; before it, those on the tables
its plan touches are dropped, as found in the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from django.db import connections

from ..options import TrackingOptions
from . import postgresql, sqlite
from .common import (
    CONTEXT_SETTING,
    PREFIX,
    PRUNE_SETTING,
    STATEMENT_SETTING,
    Installed,
    Trigger,
    name,
    sources,
)

__all__ = [
    "CONTEXT_SETTING",
    "PREFIX",
    "PRUNE_SETTING",
    "STATEMENT_SETTING",
    "Installed",
    "Report",
    "Trigger",
    "check",
    "drop",
    "drop_touching",
    "expected",
    "fits",
    "install",
    "installed",
    "missing_tables",
    "names_of",
    "repair",
    "statements",
    "supported",
    "tables_of",
]

VENDORS: dict[str, ModuleType] = {"postgresql": postgresql, "sqlite": sqlite}


def supported(using: str) -> bool:
    """Whether history_core can capture changes on the database ``using``."""
    return connections[using].vendor in VENDORS


def _vendor(connection: Any) -> ModuleType:
    try:
        return VENDORS[connection.vendor]
    except KeyError:
        raise NotImplementedError(
            f"history_core captures changes with triggers on PostgreSQL and SQLite; "
            f"{connection.vendor} is not supported yet."
        ) from None


def triggers_of(options: TrackingOptions, using: str) -> list[Trigger]:
    """The triggers ``options.model`` needs on ``using``, as installed today."""
    connection = connections[using]
    return list(_vendor(connection).triggers(options, connection))


def statements(options: TrackingOptions, using: str) -> list[str]:
    """Return the DDL that installs ``options.model``'s triggers on ``using``."""
    found: list[str] = []
    for trigger in triggers_of(options, using):
        if trigger.function and trigger.function not in found:
            found.append(trigger.function)
        found.append(trigger.create)
    return found


def expected(options: TrackingOptions, using: str) -> set[str]:
    """Return the names of the triggers ``options.model`` needs on ``using``."""
    return {t.name for t in triggers_of(options, using)}


def installed(using: str) -> list[Installed]:
    """Every history_core trigger on ``using`` (any table, any schema)."""
    connection = connections[using]
    if connection.vendor not in VENDORS:
        return []
    with connection.cursor() as cursor:
        return sorted(
            _vendor(connection).installed(cursor), key=lambda i: (i.table, i.name)
        )


def names_of(options: TrackingOptions) -> set[str]:
    """Return the name stems of ``options.model``'s triggers (each adds a suffix)."""
    return {name(options.label, s.table) for s in sources(options)} | {
        name(options.label, "append-only")
    }


def tables_of(options: TrackingOptions) -> list[str]:
    """Return the tables carrying ``options.model``'s triggers."""
    return [s.table for s in sources(options)] + [
        options.historical_model._meta.db_table
    ]


def missing_tables(options: TrackingOptions, using: str) -> list[str]:
    """The tables of ``options.model`` that do not exist on ``using``."""
    connection = connections[using]
    vendor = _vendor(connection)
    with connection.cursor() as cursor:
        return [
            t for t in tables_of(options) if not vendor.exists(cursor, connection, t)
        ]


def _drop_where(using: str, chosen: Any) -> int:
    connection = connections[using]
    if connection.vendor not in VENDORS:
        return 0
    vendor = _vendor(connection)
    count = 0
    with connection.cursor() as cursor:
        for found in vendor.installed(cursor):
            if chosen(found):
                vendor.drop(cursor, found)
                count += 1
    return count


def drop(using: str, stems: Iterable[str] | None = None) -> int:
    """Remove history_core's triggers from ``using`` (only those of ``stems``)."""
    wanted = set(stems) if stems is not None else None
    return _drop_where(
        using, lambda found: wanted is None or bool({found.stem, found.name} & wanted)
    )


def bare(table: str, connection: Any) -> str:
    """A ``db_table`` as the database stores its name: no schema, cut to length."""
    own = table.split('"."')[-1]
    if connection.vendor == "postgresql":
        return own.encode()[:63].decode(errors="ignore")
    return own


def drop_touching(using: str, tables: Iterable[str]) -> int:
    """Drop every history_core trigger on, or writing to, one of ``tables``.

    Found in the database, not in the registry: a trigger installed for a model
    since renamed, untracked or deleted goes too when its tables are touched.
    """
    connection = connections[using]
    qn = connection.ops.quote_name
    names = {bare(t, connection) for t in tables}
    quoted = {qn(n) for n in names}
    return _drop_where(
        using,
        lambda found: found.relname in names or any(q in found.body for q in quoted),
    )


def install(options_list: Sequence[TrackingOptions], using: str) -> int:
    """(Re)install the triggers of the given tracked models on ``using``.

    Models whose tables do not exist on ``using`` (routed elsewhere, not migrated
    yet) are skipped. Returns the number of models whose triggers were installed.
    """
    connection = connections[using]
    if connection.vendor not in VENDORS:
        return 0
    vendor = _vendor(connection)
    ready = [o for o in options_list if not missing_tables(o, using)]
    drop(using, {n for o in ready for n in names_of(o)})
    with connection.cursor() as cursor:
        for options in ready:
            for trigger in vendor.triggers(options, connection):
                vendor.install(cursor, connection, trigger)
    return len(ready)


def fits(options: TrackingOptions, using: str) -> bool:
    """Whether ``using``'s tables have every column ``options.model``'s triggers use.

    In the middle of a ``migrate`` plan the tables may have an older shape than the
    code's models; triggers built from the code are only installed where they fit.
    """
    connection = connections[using]
    vendor = _vendor(connection)
    history = options.historical_model._meta.db_table
    meta = {f.column for f in options.historical_model._meta.concrete_fields}
    with connection.cursor() as cursor:
        if not meta <= vendor.columns(cursor, connection, history):
            return False
        for source in sources(options):
            wanted = {source.pk_column} | {f.column for f in source.fields}
            if not wanted <= vendor.columns(cursor, connection, source.table):
                return False
    return True


def repair(options_list: Sequence[TrackingOptions], using: str) -> list[str]:
    """Install the triggers of the models whose tables fit and whose triggers are
    missing or stale; return their labels. Models whose tables do not fit (yet)
    are left without."""
    connection = connections[using]
    if connection.vendor not in VENDORS:
        return []
    vendor = _vendor(connection)
    found = {i.name: i for i in installed(using)}
    repaired = []
    for options in options_list:
        wanted = vendor.triggers(options, connection)
        if all(t.name in found and vendor.current(found[t.name], t) for t in wanted):
            continue
        if missing_tables(options, using) or not fits(options, using):
            continue
        install([options], using)
        repaired.append(options.label)
    return repaired


@dataclass
class Report:
    """How the triggers on a database compare with what the code would install.

    Attributes:
        missing: ``(model label, trigger name)`` the code expects and is not there.
        stale: ``(model label, trigger name)`` there with another definition.
        orphaned: ``(table, trigger name)`` of history_core no tracked model needs.
        unready: model labels whose tables do not exist (not migrated, routed away).
    """

    missing: list[tuple[str, str]] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)
    orphaned: list[tuple[str, str]] = field(default_factory=list)
    unready: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every trigger is there, current, and wanted."""
        return not (self.missing or self.stale or self.orphaned)


def check(
    options_list: Sequence[TrackingOptions], using: str, everything: bool = True
) -> Report:
    """Compare ``using``'s triggers with those of ``options_list``.

    ``everything``: ``options_list`` is every tracked model, so a trigger none of
    them needs is orphaned (with a selection, other models' triggers are not).
    """
    connection = connections[using]
    vendor = _vendor(connection)
    report = Report()
    found = {i.name: i for i in installed(using)}
    wanted: set[str] = set()
    for options in options_list:
        if missing_tables(options, using):
            report.unready.append(options.label)
            continue
        for trigger in vendor.triggers(options, connection):
            wanted.add(trigger.name)
            there = found.get(trigger.name)
            if there is None:
                report.missing.append((options.label, trigger.name))
            elif not vendor.current(there, trigger):
                report.stale.append((options.label, trigger.name))
    if everything:
        report.orphaned = [
            (i.table, n) for n, i in sorted(found.items()) if n not in wanted
        ]
    return report
