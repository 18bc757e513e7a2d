"""Single-statement saves on PostgreSQL: the change and its snapshot in one query.

On PostgreSQL a tracked model's INSERT or UPDATE and its history INSERT run as one
statement::

    WITH live AS (UPDATE catalog_product SET ... WHERE id = %s RETURNING *)
    INSERT INTO catalog_historicalproduct (...) SELECT ..., <metadata> FROM live
    RETURNING ...

One statement is one transaction in autocommit mode (no BEGIN/COMMIT round trips, a
single commit), and the snapshot is exactly the row the database stored. An UPDATE
also reads and locks the row it replaces (``FROM (SELECT ... FOR UPDATE)``) and
compares old and new in the database, so ``history_changed_fields`` and no-op
detection are exact even for stale instances and concurrent writers. The SQL is kept
per model and set of columns; a save prepares only its parameters. Other
databases, and models this cannot serve (multi-table inheritance,
``select_on_save``, excluded database-computed fields), use the signal path inside
``transaction.atomic`` (see ``tracking``); the results are the same.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import sql

from .capture import (
    METADATA_FIELDS,
    copy_sql,
    from_db_row,
    metadata,
    metadata_params,
    remember,
)
from .options import TrackingOptions

WRITTEN = "_history_written"


def supported(options: TrackingOptions) -> bool:
    """Return whether ``options.model`` can save in one statement (on PostgreSQL)."""
    opts = options.model._meta
    tracked = set(options.fields)
    untracked_returning = [
        f
        for f in opts.concrete_fields
        if f not in tracked and getattr(f, "db_returning", False)
    ]
    return not opts.parents and not opts.select_on_save and not untracked_returning


def active(options: TrackingOptions, using: str) -> bool:
    """Return whether saves of this model on ``using`` take the single-statement path."""
    return options.single_statement and connections[using].vendor == "postgresql"


def _execute(
    options: TrackingOptions,
    instance: models.Model,
    using: str,
    write_sql: str,
    write_params: Any,
    history: tuple[str, list[str]],
) -> list[Any] | None:
    """Run ``write_sql`` and its history INSERT as one statement; return the row."""
    connection = connections[using]
    qn = connection.ops.quote_name
    history_type, changed = history
    head, meta_params = copy_sql(
        options, "live", history_type, changed, metadata(instance), connection
    )
    returning = ", ".join(qn(c) for c in options.columns)
    statement = f"WITH live AS ({write_sql} RETURNING *) {head} RETURNING {returning}"
    with connection.cursor() as cursor:
        cursor.execute(statement, [*write_params, *meta_params])
        row = cursor.fetchone()
    if row is None:
        return None
    values = from_db_row(connection, options.fields, row)
    remember(instance, dict(zip(options.attnames, values, strict=True)))
    instance.__dict__[WRITTEN] = True
    return values


def _plain(values: list[Any]) -> bool:
    """Whether every value is a plain value (no expression compiled into the SQL)."""
    return not any(hasattr(v, "resolve_expression") for v in values)


def insert(
    options: TrackingOptions,
    instance: models.Model,
    using: str,
    fields: list[Any],
    returning_fields: list[Any] | None,
    raw: bool,
) -> list[tuple[Any, ...]]:
    """``Model._do_insert`` in one statement; returns what Django expects."""
    connection = connections[using]
    raws = [
        getattr(instance, f.attname) if raw else f.pre_save(instance, True)
        for f in fields
    ]
    key = ("insert", using, tuple(f.attname for f in fields))
    write_sql = options.sql_cache.get(key)
    if write_sql is not None and _plain(raws):
        write_params = [
            f.get_db_prep_save(v, connection) for f, v in zip(fields, raws, strict=True)
        ]
    else:
        query = sql.InsertQuery(type(instance))
        query.insert_values(fields, [instance], raw=True)  # values were pre-saved above
        compiler = query.get_compiler(using=using)
        ((write_sql, write_params),) = compiler.as_sql()
        if _plain(raws) and write_sql.count("%s") == len(fields):
            options.sql_cache[key] = write_sql  # reuse: only the parameters change
    values = _execute(options, instance, using, write_sql, write_params, ("+", []))
    assert values is not None  # an INSERT always returns its row
    return [returned(options, values, returning_fields)]


def returned(
    options: TrackingOptions, values: list[Any], returning_fields: list[Any] | None
) -> tuple[Any, ...]:
    """Return the values Django asked for (``returning_fields``) from a stored row."""
    by_attname = dict(zip(options.attnames, values, strict=True))
    return tuple(by_attname[f.attname] for f in returning_fields or ())


def _update_statement(
    options: TrackingOptions, connection: Any, write_sql: str, record_noop: bool
) -> tuple[str, list[str]]:
    """Wrap a compiled ``UPDATE ... WHERE pk = %s`` into the history statement.

    Parameters: the UPDATE's SET values, the pk twice, the history metadata, then
    the tracked field names (returned, in order).
    """
    qn = connection.ops.quote_name
    opts = options.model._meta
    pk: Any = opts.pk
    table, pk_column = qn(opts.db_table), qn(pk.column)
    where = f" WHERE {table}.{pk_column} = %s"
    if not write_sql.endswith(where):
        raise ValueError(f"Unexpected UPDATE for {options.label}: {write_sql}")
    columns = [qn(c) for c in options.columns]
    olds = [qn(f"old_{i}") for i in range(len(columns))]
    # The old row is read and locked by the UPDATE itself (FROM a FOR UPDATE
    # subquery), so it is the version this UPDATE replaces, even under concurrency.
    update_sql = (
        f"{write_sql[: -len(where)]} FROM (SELECT {', '.join(columns)} FROM {table}"
        f"{where} FOR UPDATE) AS o{where} RETURNING {table}.*, "
        + ", ".join(f"o.{c} AS {old}" for c, old in zip(columns, olds, strict=True))
    )
    historical = options.historical_model._meta
    meta_columns = [  # in the order of metadata(), as update() passes them
        qn(historical.get_field(name).column)
        for name in (*METADATA_FIELDS, "history_type")
    ]
    pairs = dict(zip(columns, olds, strict=True))
    by_name = sorted(zip((f.name for f in options.fields), columns, strict=True))
    changes = ", ".join(
        f"(%s::text, l.{pairs[c]} IS DISTINCT FROM l.{c})" for _, c in by_name
    )
    compared = [
        qn(str(f.column))
        for f in options.fields
        if f.attname not in options.ignored_for_noop
    ]
    only_changes = ""
    if not record_noop and compared:
        old_row = ", ".join(f"l.{pairs[c]}" for c in compared)
        new_row = ", ".join(f"l.{c}" for c in compared)
        only_changes = f" WHERE ROW({old_row}) IS DISTINCT FROM ROW({new_row})"
    history_table = qn(options.historical_model._meta.db_table)
    target = ", ".join([*columns, *meta_columns, qn("history_changed_fields")])
    live_columns = ", ".join(f"l.{c}" for c in columns)
    statement = (
        f"WITH live AS ({update_sql}), "
        f"saved AS (INSERT INTO {history_table} ({target}) "
        f"SELECT {live_columns}, {', '.join(['%s'] * len(meta_columns))}, "
        f"to_jsonb(ARRAY(SELECT v.n FROM (VALUES {changes}) AS v(n, d) WHERE v.d)) "
        f"FROM live AS l{only_changes} RETURNING 1) "
        f"SELECT {live_columns}, (SELECT count(*) FROM saved) FROM live AS l"
    )
    return statement, [name for name, _ in by_name]


def update(
    options: TrackingOptions,
    instance: models.Model,
    base_qs: Any,
    using: str,
    pk_val: Any,
    values: list[Any],
    record_noop: bool,
) -> list[Any] | None:
    """``Model._do_update`` in one statement; returns the stored row or None.

    The row as it was (``old``, locked) and as written (``live``) are compared in
    the database: the changed fields are exact even for a stale or hand-built
    instance, and a save that changes nothing records nothing.
    """
    connection = connections[using]
    pk: Any = options.model._meta.pk
    # Django writes None as a literal NULL: the SQL depends on which values are None.
    shape = tuple((f.attname, v is None) for f, _, v in values)
    key = ("update", using, shape, record_noop)
    cached = options.sql_cache.get(key)
    assigned = [v for _, _, v in values]
    if cached is not None and _plain(assigned):
        statement, names = cached
        set_params = [
            f.get_db_prep_save(v, connection)
            for (f, _, _), v in zip(values, assigned, strict=True)
            if v is not None
        ]
        pk_param = pk.get_db_prep_value(pk_val, connection)
    else:
        query = base_qs.filter(pk=pk_val).query.chain(sql.UpdateQuery)
        query.add_update_fields(values)
        query.annotations = {}
        compiler = query.get_compiler(using)
        compiler.pre_sql_setup()
        write_sql, write_params = compiler.as_sql()
        statement, names = _update_statement(
            options, connection, write_sql, record_noop
        )
        set_params, pk_param = write_params[:-1], write_params[-1]
        placeholders = sum(v is not None for v in assigned) + 1
        if _plain(assigned) and write_sql.count("%s") == placeholders:
            options.sql_cache[key] = (statement, names)  # only parameters change
    meta = metadata(instance, consume=False)
    _, meta_params = metadata_params(options, {**meta, "history_type": "~"}, connection)
    params = [*set_params, pk_param, pk_param, *meta_params, *names]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        return None  # no such row: Django goes on to INSERT it
    metadata(instance)  # the user and reason were used (or the save was a no-op)
    stored = from_db_row(connection, options.fields, row[:-1])
    remember(instance, dict(zip(options.attnames, stored, strict=True)))
    instance.__dict__[WRITTEN] = True
    return stored


def forget(instance: models.Model) -> bool:
    """Return (and clear) whether the instance's history was written already."""
    return bool(instance.__dict__.pop(WRITTEN, False))


def update_queryset(
    options: TrackingOptions,
    queryset: Any,
    assignments: dict[str, Any],
    changed: list[str],
) -> int | None:
    """``QuerySet.update()`` with its history in one statement; None if unsupported.

    ``WITH live AS (UPDATE ... WHERE <the queryset's filter> RETURNING *) INSERT INTO
    history SELECT ... FROM live``: PostgreSQL re-checks the filter on rows changed
    concurrently, and the history rows are exactly the rows updated, as stored.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or options.model._meta.parents:
        return None
    query = queryset.query.chain(sql.UpdateQuery)
    query.add_update_values(assignments)
    query.annotations = {}
    if query.related_updates:
        return None
    compiler = query.get_compiler(queryset.db)
    try:
        compiler.pre_sql_setup()
        write_sql, write_params = compiler.as_sql()
    except EmptyResultSet:  # e.g. filter(pk__in=[]): nothing can match
        return 0
    head, meta_params = copy_sql(options, "live", "~", changed, metadata(), connection)
    pk_column = connection.ops.quote_name(options.model._meta.pk.column)  # type: ignore[union-attr,arg-type]
    statement = f"WITH live AS ({write_sql} RETURNING *) {head} ORDER BY {pk_column}"
    with connection.cursor() as cursor:
        cursor.execute(statement, [*write_params, *meta_params])
        return int(cursor.rowcount)
