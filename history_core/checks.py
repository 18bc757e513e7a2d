"""System checks for setup mistakes, with stable ids (``history_core.E001``...)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core import checks
from django.db import DatabaseError, connections, router

from .registry import _registry

RESERVED = {
    "history_id",
    "history_date",
    "history_type",
    "history_user",
    "history_change_reason",
    "history_context",
    "history_changed_fields",
}


@checks.register()
def check_tracked_models(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Check every tracked model's configuration."""
    errors: list[checks.CheckMessage] = []
    if not settings.USE_TZ:
        errors.append(
            checks.Error(
                "history_core needs USE_TZ = True: history dates are timezone-aware instants.",
                hint="Set USE_TZ = True in your settings.",
                id="history_core.E001",
            )
        )
    for model, options in _registry.items():
        names = {f.name for f in model._meta.concrete_fields}
        for name in sorted(set(options.excluded_fields) - names):
            errors.append(
                checks.Error(
                    f"excluded_fields of {options.label} names '{name}', which is not a "
                    "concrete field of the model.",
                    hint=f"Remove '{name}' or fix its spelling; fields: {', '.join(sorted(names))}.",
                    obj=model,
                    id="history_core.E002",
                )
            )
        for name in sorted(names & RESERVED):
            errors.append(
                checks.Error(
                    f"{options.label}.{name} clashes with a history metadata column.",
                    hint="Rename the field: names starting with history_ are reserved.",
                    obj=model,
                    id="history_core.E003",
                )
            )
        if options.pk_attname in options.excluded_fields:
            errors.append(
                checks.Error(
                    f"{options.label}: the primary key cannot be excluded from history.",
                    hint="Remove the primary key from excluded_fields.",
                    obj=model,
                    id="history_core.E004",
                )
            )
    return errors


def _migratable(model: Any, alias: str) -> bool:
    return bool(
        model._meta.can_migrate(connections[alias])
    ) and router.allow_migrate_model(alias, model)


@checks.register()
def check_capture_databases(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """A tracked model that ``migrate`` would create where no trigger can record it."""
    from . import triggers

    errors: list[checks.CheckMessage] = []
    for alias in connections:
        vendor = connections[alias].vendor
        if vendor in triggers.VENDORS:
            continue
        for model, options in _registry.items():
            if _migratable(model, alias):
                errors.append(
                    checks.Error(
                        f"{options.label} is tracked, and migrate would create its table "
                        f"on '{alias}' ({vendor}), where history_core cannot install "
                        "triggers: its changes there would not be recorded.",
                        hint="Use PostgreSQL or SQLite for tracked models, or route "
                        f"{options.label} away from '{alias}' (allow_migrate).",
                        obj=model,
                        id="history_core.E005",
                    )
                )
    return errors


_quiet: ContextVar[bool] = ContextVar(
    "history_core_quiet_trigger_checks", default=False
)


@contextmanager
def quiet_trigger_checks() -> Iterator[None]:
    """No trigger warnings inside the block (``migrate``, which installs them)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def trigger_warnings(aliases: Any) -> list[checks.CheckMessage]:
    """Warnings for each database whose triggers are not the ones the code expects."""
    from . import triggers

    found: list[checks.CheckMessage] = []
    if _quiet.get():
        return found
    for alias in aliases or ():
        if alias not in connections or not triggers.supported(alias):
            continue
        try:
            report = triggers.check(list(_registry.values()), alias)
        except DatabaseError:
            continue  # unreachable: Django's own checks and commands say so
        if report.ok:
            continue
        parts = [
            f"{len(items)} {kind}"
            for kind, items in (
                ("missing", report.missing),
                ("stale", report.stale),
                ("orphaned", report.orphaned),
            )
            if items
        ]
        found.append(
            checks.Warning(
                f"The history triggers on '{alias}' are not the ones this code installs "
                f"({', '.join(parts)}): changes may be recorded wrongly or not at all.",
                hint=f"Run `manage.py migrate --database {alias}` (or `manage.py "
                f"history_triggers --database {alias}`); `history_triggers --check` "
                "lists them.",
                id="history_core.W005",
            )
        )
    return found


@checks.register(checks.Tags.database)
def check_installed_triggers(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """``check --database`` (and ``migrate``, before it runs): triggers as expected."""
    return trigger_warnings(databases)
