"""Writing historical rows from Python: ``populate_history`` only.

Every change of a tracked table is recorded by its triggers; this module serves the
one path that records rows that already existed (``populate_history``), plus value
helpers shared with revert and queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, models
from django.utils import timezone

from . import compat
from .conf import get_setting
from .context import current as current_context
from .options import TrackingOptions

METADATA_FIELDS = (
    "history_date",
    "history_user_id",
    "history_change_reason",
    "history_context",
)


def metadata(
    instance: models.Model | None = None, consume: bool = True
) -> dict[str, Any]:
    """Return the ``history_*`` values for a change made now.

    ``instance._history_user`` and ``instance._change_reason`` win over the context
    for a single save; both are consumed unless ``consume`` is false.
    """
    ctx = current_context()
    user = ctx.user
    reason = ctx.reason
    if instance is not None:
        take = instance.__dict__.pop if consume else instance.__dict__.get
        user = take("_history_user", None) or user
        reason = take("_change_reason", None) or reason
    values = (timezone.now(), getattr(user, "pk", None), reason, ctx.meta)
    return dict(zip(METADATA_FIELDS, values, strict=True))


def build_record(
    options: TrackingOptions,
    values: dict[str, Any],
    history_type: str,
    changed: Sequence[str],
    meta: dict[str, Any],
) -> Any:
    """Return an unsaved historical record holding ``values``."""
    record = options.historical_model(
        history_type=history_type, history_changed_fields=list(changed), **meta
    )
    record.__dict__.update(values)
    return record


def insert_records(options: TrackingOptions, records: list[Any], using: str) -> None:
    """Insert historical records, batched; one INSERT for a single record."""
    if not records:
        return
    manager = options.historical_model._base_manager.db_manager(using)
    if len(records) == 1:
        fields = [
            f
            for f in options.historical_model._meta.concrete_fields
            if not f.primary_key
        ]
        compat.insert_rows(manager, records, fields, using)
        return
    manager.bulk_create(records, batch_size=get_setting("BULK_BATCH_SIZE"))


def equal(field: models.Field[Any, Any], old: Any, new: Any) -> bool:
    """Compare two values of ``field``, tolerant of unnormalised input ("1.50")."""
    if old == new:
        return True
    try:
        return bool(field.to_python(old) == field.to_python(new))
    except Exception:  # noqa: BLE001 - an unparsable value is simply a change
        return False


def copy_sql(
    options: TrackingOptions,
    source: str,
    history_type: str,
    changed: Iterable[str],
    meta: dict[str, Any],
    connection: Any,
) -> tuple[str, list[Any]]:
    """Return ``INSERT INTO <history> (...) SELECT <columns>, <metadata> FROM source``.

    ``source`` is a quoted table name or a CTE alias holding rows of the live table;
    the metadata values are parameters, identifiers come from model metadata.
    """
    qn = connection.ops.quote_name
    values = {
        **meta,
        "history_type": history_type,
        "history_changed_fields": list(changed),
    }
    meta_columns, params = metadata_params(options, values, connection)
    columns = [qn(c) for c in options.columns]
    target = ", ".join([*columns, *meta_columns])
    selected = ", ".join([*columns, *["%s"] * len(params)])
    into = qn(options.historical_model._meta.db_table)
    return f"INSERT INTO {into} ({target}) SELECT {selected} FROM {source}", params  # noqa: S608


def metadata_params(
    options: TrackingOptions, values: dict[str, Any], connection: Any
) -> tuple[list[str], list[Any]]:
    """Return the quoted ``history_*`` columns of ``values`` and their parameters."""
    historical = options.historical_model
    fields = [historical._meta.get_field(name) for name in values]
    columns = [connection.ops.quote_name(f.column) for f in fields]
    params = [
        f.get_db_prep_save(v, connection)
        for f, v in zip(fields, values.values(), strict=True)
    ]
    return columns, params


def insert_from_table(
    options: TrackingOptions,
    pks: Sequence[Any],
    history_type: str,
    changed: Iterable[str],
    using: str,
) -> None:
    """Copy the current rows ``pks`` of the live table into history, set-based.

    Runs ``INSERT INTO history (...) SELECT ... FROM live WHERE pk IN (...)``: the
    snapshot is the database's own state after the change, with no Python round trip.
    """
    if not pks:
        return
    if options.model._meta.parents:  # columns live in several tables: use the ORM
        _insert_through_orm(options, pks, history_type, changed, using)
        return
    connection = connections[using]
    qn = connection.ops.quote_name
    live = qn(options.model._meta.db_table)
    head, meta_params = copy_sql(
        options, live, history_type, changed, metadata(), connection
    )
    pk_column = qn(options.model._meta.pk.column)  # type: ignore[union-attr,arg-type]
    # ORDER BY: history ids follow the objects' order, deterministically.
    order = f" ORDER BY {pk_column}"
    pk_field: Any = options.model._meta.pk
    prepared = [pk_field.get_db_prep_value(pk, connection) for pk in pks]
    with connection.cursor() as cursor:
        for chunk, condition in pk_chunks(connection, pk_column, prepared):
            cursor.execute(f"{head} WHERE {condition}{order}", [*meta_params, *chunk])


def _insert_through_orm(
    options: TrackingOptions,
    pks: Sequence[Any],
    history_type: str,
    changed: Iterable[str],
    using: str,
) -> None:
    """``insert_from_table`` for multi-table children: read the rows, insert batches."""
    meta = metadata()
    manager = options.model._base_manager.db_manager(using)
    size = get_setting("BULK_BATCH_SIZE")
    for start in range(0, len(pks), size):
        rows = manager.filter(pk__in=pks[start : start + size]).order_by("pk")
        records = [
            build_record(
                options,
                dict(zip(options.attnames, row, strict=True)),
                history_type,
                list(changed),
                meta,
            )
            for row in rows.values_list(*options.attnames)
        ]
        insert_records(options, records, using)


def pk_chunks(
    connection: Any, column: str, pks: Sequence[Any]
) -> Iterable[tuple[list[Any], str]]:
    """Split ``pks`` into ``(params, "column IN (...)")`` pieces the database accepts."""
    if connection.vendor == "postgresql":
        yield [list(pks)], f"{column} = ANY(%s)"
        return
    size = max(1, (connection.features.max_query_params or 999) - 50)
    for start in range(0, len(pks), size):
        chunk = list(pks[start : start + size])
        yield chunk, f"{column} IN ({', '.join(['%s'] * len(chunk))})"


def from_db_row(
    connection: Any, fields: Sequence[Any], row: Sequence[Any]
) -> list[Any]:
    """Convert a raw database row into Python values of ``fields`` (as the ORM does)."""
    converted = []
    for field, value in zip(fields, row, strict=True):
        col, converters = compat.db_converters(connection, field)
        for converter in converters:
            value = converter(value, col, connection)
        converted.append(value)
    return converted
