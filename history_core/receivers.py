"""Signal receivers: one snapshot per save or delete, in the change's transaction."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.db import models

from . import statement
from .capture import (
    build_record,
    changed_fields,
    insert_records,
    loaded_values,
    metadata,
    remember,
)
from .conf import get_setting
from .models import CREATED, DELETED, UPDATED
from .options import TrackingOptions, live_options

# While a QuerySet.delete() runs, deleted snapshots are collected here and inserted
# in batches at the end instead of one INSERT per row.
delete_buffer: ContextVar[list[tuple[TrackingOptions, Any, str]] | None] = ContextVar(
    "history_core_delete_buffer", default=None
)


def _database_state(
    options: TrackingOptions, instance: models.Model, update_fields: Any, using: str
) -> dict[str, Any]:
    """Return the row as the database now holds it, from the instance when possible."""
    state = instance.__dict__
    attnames = options.attnames
    if update_fields is None and all(a in state for a in attnames):
        values = {a: state[a] for a in attnames}
        if not any(hasattr(v, "resolve_expression") for v in values.values()):
            return values
    # An F() expression was saved, or a partial save (update_fields, deferred
    # fields): read the row back, in the same transaction, so the snapshot is
    # exactly what was stored.
    manager = options.model._base_manager.db_manager(using)
    return manager.filter(pk=instance.pk).values(*attnames).get()


def _latest_version(
    options: TrackingOptions, instance: models.Model, using: str
) -> dict[str, Any] | None:
    historical = options.historical_model._default_manager.db_manager(using)
    return (  # type: ignore[no-any-return]
        historical.filter(**{options.pk_attname: instance.pk})
        .order_by("-history_date", "-history_id")
        .values(*options.attnames)
        .first()
    )


def previous_state(options: TrackingOptions, instance: models.Model, using: str) -> Any:
    """Return the values the instance was loaded with, or the latest version's."""
    loaded = loaded_values(instance)
    if loaded is not None and all(a in loaded for a in options.attnames):
        return loaded
    return _latest_version(options, instance, using)


def records_noop(options: TrackingOptions) -> bool:
    """Return whether saves that change nothing are recorded for this model."""
    if options.record_noop_saves is not None:
        return options.record_noop_saves
    return bool(get_setting("RECORD_NOOP_SAVES"))


def is_noop(options: TrackingOptions, changed: list[str]) -> bool:
    if records_noop(options):
        return False
    by_name = {f.name: f.attname for f in options.fields}
    return all(by_name[name] in options.ignored_for_noop for name in changed)


def record_save(
    sender: type[models.Model],
    instance: models.Model,
    created: bool,
    using: str,
    update_fields: Any = None,
    **kwargs: Any,
) -> None:
    """``post_save`` receiver: write a ``+`` or ``~`` snapshot."""
    options = live_options(sender)
    assert options is not None  # connected for tracked senders only
    if statement.forget(instance):  # written by the single-statement path
        return
    record_version(options, instance, created, using, update_fields)


def parent_receiver(options: TrackingOptions) -> Any:
    """Return a ``post_save`` receiver recording ``options.model``'s own row when a
    multi-table child is saved (Django signals the child class only)."""

    def record_parent_save(
        sender: type[models.Model],
        instance: models.Model,
        created: bool,
        using: str,
        update_fields: Any = None,
        **kwargs: Any,
    ) -> None:
        record_version(options, instance, created, using, update_fields)

    return record_parent_save


def record_version(
    options: TrackingOptions,
    instance: models.Model,
    created: bool,
    using: str,
    update_fields: Any,
) -> None:
    """Write the ``+`` or ``~`` snapshot of ``instance``'s row of ``options.model``."""
    values = _database_state(options, instance, update_fields, using)
    if created:
        history_type, changed = CREATED, []
    else:
        previous = previous_state(options, instance, using)
        history_type = UPDATED
        changed = (
            changed_fields(options, previous, values) if previous is not None else []
        )
        if previous is not None and is_noop(options, changed):
            # A no-op against the loaded values; the row may have changed since it
            # was loaded (a stale instance), so check against the latest version.
            latest = _latest_version(options, instance, using)
            changed = changed_fields(options, latest, values) if latest else []
            if latest is None or is_noop(options, changed):
                remember(instance, values)
                instance.__dict__.pop("_change_reason", None)
                instance.__dict__.pop("_history_user", None)
                return
    record = build_record(options, values, history_type, changed, metadata(instance))
    insert_records(options, [record], using)
    remember(instance, values)


_GONE: dict[str, Any] = {}  # marks an instance whose row was already deleted


def fetch_before_delete(
    sender: type[models.Model],
    instance: models.Model,
    using: str,
    origin: Any = None,
    **kwargs: Any,
) -> None:
    """``pre_delete`` receiver for ``obj.delete()``: read the row as stored.

    An instance held by the caller may be stale (changed since it was loaded, or
    deferred); the deleted snapshot must be the database's state. Rows collected by
    ``QuerySet.delete()`` or by a cascade were just read by Django and need nothing.
    """
    if origin is not instance:
        return
    options = live_options(sender)
    assert options is not None  # connected for tracked senders only
    manager = options.model._base_manager.db_manager(using)
    row = manager.filter(pk=instance.pk).values(*options.attnames).first()
    # None: the row is already gone, this delete deletes nothing and records nothing.
    instance.__dict__["_history_deleted_state"] = row if row is not None else _GONE


def record_delete(
    sender: type[models.Model], instance: models.Model, using: str, **kwargs: Any
) -> None:
    """``post_delete`` receiver: write a ``-`` snapshot of the deleted row."""
    options = live_options(sender)
    assert options is not None  # connected for tracked senders only
    state = instance.__dict__
    state["_history_pk"] = instance.pk  # Django clears the pk after the delete
    values = state.pop("_history_deleted_state", None)
    if values is _GONE:
        return
    values = values or {a: state[a] for a in options.attnames if a in state}
    if len(values) < len(options.attnames):  # deferred fields: fill from history
        previous = previous_state(options, instance, using) or {}
        values = {**previous, **values}
    record = build_record(options, values, DELETED, [], metadata(instance))
    buffer = delete_buffer.get()
    if buffer is not None:
        buffer.append((options, record, using))
    else:
        insert_records(options, [record], using)
