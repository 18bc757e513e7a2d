"""Capture in the database: one trigger per tracked table writes the versions.

Every write that reaches a tracked table, whatever ORM path, manager, queryset
subclass, router or override produced it (raw SQL included), fires the table's
triggers inside the same statement. The snapshot is the row as stored (``NEW``) or
as deleted (``OLD``), the changed fields are computed by comparing the two in the
database, and a write that changes no tracked field records nothing. Nothing runs
in Python around the write, so the host application's transactions, exceptions and
return values are exactly Django's.

* PostgreSQL: statement-level ``AFTER`` triggers with transition tables, one
  ``INSERT ... SELECT`` per statement, however many rows it wrote. The version's
  date is ``clock_timestamp()`` read by the trigger, after the statement holds its
  row locks, so versions follow the order in which rows were written. Who, why and
  how arrive in the transaction-local setting ``history_core.context`` (see
  :mod:`history_core.database`).
* SQLite: row-level ``AFTER`` triggers; the context comes from the SQL function
  ``history_core_context()`` registered on every connection.

A multi-table child's fields live in several tables: its triggers join them, and an
``UPDATE`` of a parent's table records a version of each child row it touches.
History tables get triggers that refuse ``UPDATE`` and ``DELETE`` except while
``prune_history`` runs.

Triggers are (re)installed after every ``migrate`` and removed before it, so
migrations alter tables without them in the way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, models

from .options import TrackingOptions

PREFIX = "history_core_"
CONTEXT_SETTING = "history_core.context"
STATEMENT_SETTING = "history_core.statement"
PRUNE_SETTING = "history_core.prune"
APPEND_ONLY_FUNCTION = f"{PREFIX}append_only"


@dataclass(frozen=True)
class TableSource:
    """The part of a tracked model's row that one table holds.

    Attributes:
        table: the table the trigger is on.
        pk_column: its primary key column (a child's is its parent link).
        fields: the tracked fields stored in this table.
        others: ``(alias, table, pk column)`` of the model's other tables, joined
            on the same primary key value.
        own: whether ``table`` is the model's own table (it alone sees the row
            created and deleted; parents' tables see updates of inherited fields).
    """

    table: str
    pk_column: str
    fields: tuple[models.Field[Any, Any], ...]
    others: tuple[tuple[str, str, str], ...]
    own: bool


def _pk_column(model: Any) -> str:
    return str(model._meta.pk.column)


def sources(options: TrackingOptions) -> list[TableSource]:
    """Return one :class:`TableSource` per table holding ``options.model``'s row."""
    model: Any = options.model
    tables: dict[str, Any] = {model._meta.db_table: model}
    for parent in model._meta.get_parent_list():
        tables.setdefault(parent._meta.db_table, parent)
    result = []
    for table, owner in tables.items():
        others = tuple(
            (f"t{i}", other, _pk_column(tables[other]))
            for i, other in enumerate(t for t in tables if t != table)
        )
        fields = tuple(f for f in options.fields if f.model._meta.db_table == table)  # type: ignore[union-attr]
        result.append(
            TableSource(table, _pk_column(owner), fields, others, owner is model)
        )
    return result


def _name(*parts: str) -> str:
    digest = hashlib.sha1("|".join(parts).encode(), usedforsecurity=False)
    return f"{PREFIX}{digest.hexdigest()[:16]}"


def _column_expr(
    options: TrackingOptions, source: TableSource, alias: str, qn: Any
) -> list[str]:
    """The SELECT list for the history columns, reading ``alias`` for this table."""
    by_table = {other: a for a, other, _ in source.others}
    exprs = []
    for field in options.fields:
        table = field.model._meta.db_table  # type: ignore[union-attr]
        owner = alias if table == source.table else by_table[table]
        exprs.append(f"{owner}.{qn(field.column)}")
    return exprs


def _joins(source: TableSource, alias: str, qn: Any) -> str:
    key = f"{alias}.{qn(source.pk_column)}"
    return "".join(
        f" JOIN {qn(table)} {a} ON {a}.{qn(pk)} = {key}"
        for a, table, pk in source.others
    )


def _compared(options: TrackingOptions, source: TableSource) -> list[Any]:
    """The fields whose change makes a version (auto_now fields alone do not)."""
    return [f for f in source.fields if f.attname not in options.ignored_for_noop]


def _history_columns(options: TrackingOptions, qn: Any) -> str:
    meta = [
        "history_date",
        "history_type",
        "history_user_id",
        "history_change_reason",
        "history_context",
        "history_changed_fields",
    ]
    return ", ".join(qn(c) for c in [*options.columns, *meta])


def _user_db_type(options: TrackingOptions, connection: Any) -> str:
    field: Any = options.historical_model._meta.get_field("history_user")
    return str(field.db_type(connection))


# -- PostgreSQL ------------------------------------------------------------------


def _pg_noop(options: TrackingOptions) -> str:
    if options.record_noop_saves is not None:
        return "TRUE" if options.record_noop_saves else "FALSE"
    return "COALESCE((ctx->>'noop')::boolean, FALSE)"


def _pg_insert(
    options: TrackingOptions, source: TableSource, connection: Any, kind: str
) -> str:
    """The trigger body's INSERT INTO history for one kind of statement."""
    qn = connection.ops.quote_name
    alias = "o" if kind == "-" else "n"
    rows = "old_rows" if kind == "-" else "new_rows"
    pk = qn(source.pk_column)
    columns = _column_expr(options, source, alias, qn)
    changed = "'[]'::jsonb"
    where = ""
    join_old = ""
    if kind == "~":
        join_old = f" LEFT JOIN old_rows o ON o.{pk} = n.{pk}"
        # One text built per row ('["a","b"]'): cheaper than an array subquery.
        picks = [
            f"CASE WHEN o.{qn(f.column)} IS DISTINCT FROM n.{qn(f.column)} "
            f"THEN '\"{f.name}\"' END"
            for f in sorted(source.fields, key=lambda f: f.name)
        ]
        changed = f"('[' || {_concat(picks)} || ']')::jsonb" if picks else "'[]'::jsonb"
        compared = _compared(options, source)
        old_row = ", ".join(f"o.{qn(f.column)}" for f in compared)
        new_row = ", ".join(f"n.{qn(f.column)}" for f in compared)
        distinct = f"ROW({old_row}) IS DISTINCT FROM ROW({new_row})"
        where = f" WHERE o.{pk} IS NULL OR {_pg_noop(options)}" + (
            f" OR {distinct}" if compared else ""
        )
    user_type = _user_db_type(options, connection)
    metadata = (
        f"ts, '{kind}', (ctx->>'user')::{user_type}, ctx->>'reason', "
        f"COALESCE(ctx->'meta', '{{}}'::jsonb), {changed}"
    )
    history = qn(options.historical_model._meta.db_table)
    return (
        f"INSERT INTO {history} ({_history_columns(options, qn)}) "
        f"SELECT {', '.join(columns)}, {metadata} FROM {rows} {alias}{join_old}"
        f"{_joins(source, alias, qn)}{where} ORDER BY {alias}.{pk};"
    )


def _concat(parts: list[str]) -> str:
    """``concat_ws(',', ...)`` of ``parts`` (NULLs skipped), under 100 arguments."""
    if len(parts) <= 90:
        return f"concat_ws(',', {', '.join(parts)})"
    chunks = [parts[i : i + 90] for i in range(0, len(parts), 90)]
    return _concat([f"NULLIF({_concat(chunk)}, '')" for chunk in chunks])


def _pg_function(options: TrackingOptions, source: TableSource, connection: Any) -> str:
    name = _name(options.label, source.table)
    if source.own:
        body = (
            f"IF TG_OP = 'INSERT' THEN {_pg_insert(options, source, connection, '+')}\n"
            f"ELSIF TG_OP = 'UPDATE' THEN {_pg_insert(options, source, connection, '~')}\n"
            f"ELSE {_pg_insert(options, source, connection, '-')}\nEND IF;"
        )
    else:
        body = _pg_insert(options, source, connection, "~")
    return (
        f'CREATE OR REPLACE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS $$\n'
        "DECLARE\n"
        "  ctx jsonb := CASE WHEN current_setting("
        f"'{STATEMENT_SETTING}', true) IN (statement_timestamp()::text, '*') THEN "
        f"NULLIF(current_setting('{CONTEXT_SETTING}', true), '')::jsonb END;\n"
        "  ts timestamptz := COALESCE((ctx->>'now')::timestamptz, clock_timestamp());\n"
        f"BEGIN\n{body}\nRETURN NULL;\nEND $$;"
    )


_PG_EVENTS = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}


def _pg_statements(options: TrackingOptions, connection: Any) -> list[str]:
    qn = connection.ops.quote_name
    statements = []
    for source in sources(options):
        if not source.own and not source.fields:
            continue
        function = _name(options.label, source.table)
        statements.append(_pg_function(options, source, connection))
        events = ["INSERT", "UPDATE", "DELETE"] if source.own else ["UPDATE"]
        for event in events:
            trigger = f"{function}_{event[0].lower()}"
            statements.append(
                f'CREATE TRIGGER "{trigger}" AFTER {event} ON {qn(source.table)} '
                f"{_PG_EVENTS[event]} FOR EACH STATEMENT "
                f'EXECUTE FUNCTION "{function}"()'
            )
    history = qn(options.historical_model._meta.db_table)
    # Per row: an UPDATE that matches nothing (loaddata tries one before each
    # INSERT) is not a rewrite.
    append_only = _name(options.label, "append-only")
    statements.append(
        f'CREATE TRIGGER "{append_only}_r" BEFORE UPDATE OR DELETE ON {history} '
        f'FOR EACH ROW EXECUTE FUNCTION "{APPEND_ONLY_FUNCTION}"()'
    )
    statements.append(
        f'CREATE TRIGGER "{append_only}_t" BEFORE TRUNCATE ON {history} '
        f'FOR EACH STATEMENT EXECUTE FUNCTION "{APPEND_ONLY_FUNCTION}"()'
    )
    return statements


def _pg_append_only() -> str:
    return (
        f'CREATE OR REPLACE FUNCTION "{APPEND_ONLY_FUNCTION}"() RETURNS trigger '
        "LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"IF current_setting('{PRUNE_SETTING}', true) IS DISTINCT FROM 'on' THEN\n"
        "  RAISE EXCEPTION 'history rows of % are append-only: % refused', "
        "TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation', HINT = "
        "'Versions are written by history_core only; drop old ones with the "
        "prune_history command.';\nEND IF;\n"
        "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\nRETURN NEW;\nEND $$;"
    )


# -- SQLite --------------------------------------------------------------------------


def _sqlite_body(
    options: TrackingOptions, source: TableSource, connection: Any, kind: str
) -> str:
    qn = connection.ops.quote_name
    alias = "OLD" if kind == "-" else "NEW"
    columns = _column_expr(options, source, alias, qn)
    changed = "'[]'"
    if kind == "~":
        picks = " UNION ALL ".join(
            f"SELECT '{f.name}' AS f WHERE OLD.{qn(f.column)} IS NOT NEW.{qn(f.column)}"
            for f in sorted(source.fields, key=lambda f: f.name)
        )
        changed = f"(SELECT json_group_array(f) FROM ({picks}))" if picks else "'[]'"
    metadata = (
        f"json_extract(c.v, '$.now'), '{kind}', json_extract(c.v, '$.user'), "
        "json_extract(c.v, '$.reason'), COALESCE(json_extract(c.v, '$.meta'), '{}'), "
        f"{changed}"
    )
    history = qn(options.historical_model._meta.db_table)
    joins = "".join(
        f" JOIN {qn(table)} {a} ON {a}.{qn(pk)} = {alias}.{qn(source.pk_column)}"
        for a, table, pk in source.others
    )
    return (
        f"INSERT INTO {history} ({_history_columns(options, qn)}) "
        f"SELECT {', '.join(columns)}, {metadata} "
        f"FROM (SELECT {PREFIX}context() AS v) c{joins};"
    )


def _sqlite_statements(options: TrackingOptions, connection: Any) -> list[str]:
    qn = connection.ops.quote_name
    statements = []
    for source in sources(options):
        if not source.own and not source.fields:
            continue
        base = _name(options.label, source.table)
        kinds = {"INSERT": "+", "UPDATE": "~", "DELETE": "-"} if source.own else {}
        kinds.setdefault("UPDATE", "~")
        for event, kind in kinds.items():
            when = ""
            if kind == "~":
                tests = [
                    f"OLD.{qn(f.column)} IS NOT NEW.{qn(f.column)}"
                    for f in _compared(options, source)
                ]
                if options.record_noop_saves is None:
                    tests.insert(0, f"{PREFIX}record_noop()")
                elif options.record_noop_saves:
                    tests = ["1"]
                when = f" WHEN {' OR '.join(tests) or '0'}"
            body = _sqlite_body(options, source, connection, kind)
            statements.append(
                f'CREATE TRIGGER "{base}_{event[0].lower()}" AFTER {event} ON '
                f"{qn(source.table)} FOR EACH ROW{when} BEGIN {body} END"
            )
    history = qn(options.historical_model._meta.db_table)
    for event in ("UPDATE", "DELETE"):
        statements.append(
            f'CREATE TRIGGER "{_name(options.label, "append-only")}_{event[0].lower()}" '
            f"BEFORE {event} ON {history} FOR EACH ROW WHEN NOT {PREFIX}pruning() "
            f"BEGIN SELECT RAISE(ABORT, 'history rows of {options.historical_model._meta.db_table} "
            f"are append-only: {event} refused (drop old versions with prune_history)'); END"
        )
    return statements


# -- installing ----------------------------------------------------------------------


def statements(options: TrackingOptions, using: str) -> list[str]:
    """Return the DDL that installs ``options.model``'s triggers on ``using``."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        return _pg_statements(options, connection)
    if connection.vendor == "sqlite":
        return _sqlite_statements(options, connection)
    raise NotImplementedError(
        f"history_core captures changes with triggers on PostgreSQL and SQLite; "
        f"{connection.vendor} is not supported yet."
    )


def expected(options: TrackingOptions, using: str) -> set[str]:
    """Return the names of the triggers ``options.model`` needs on ``using``."""
    found = set()
    for statement in statements(options, using):
        if statement.startswith("CREATE TRIGGER"):
            found.add(statement.split('"', 2)[1])
    return found


def installed(using: str) -> list[tuple[str, str]]:
    """Return ``(table, trigger)`` for every history_core trigger on ``using``."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c "
                "ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND t.tgname LIKE %s "
                "AND pg_catalog.pg_table_is_visible(c.oid)",
                [f"{PREFIX}%"],
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE %s",
                [f"{PREFIX}%"],
            )
        else:
            return []
        return sorted(cursor.fetchall())


def names_of(options: TrackingOptions) -> set[str]:
    """Return the name stems of ``options.model``'s triggers (each adds a suffix)."""
    return {_name(options.label, s.table) for s in sources(options)} | {
        _name(options.label, "append-only")
    }


def tables_of(options: TrackingOptions) -> list[str]:
    """Return the tables carrying ``options.model``'s triggers."""
    return [s.table for s in sources(options)] + [
        options.historical_model._meta.db_table
    ]


def drop(using: str, stems: Iterable[str] | None = None) -> None:
    """Remove history_core's triggers from ``using`` (only those of ``stems``)."""
    connection = connections[using]
    qn = connection.ops.quote_name
    wanted = set(stems) if stems is not None else None
    with connection.cursor() as cursor:
        for table, trigger in installed(using):
            stem = trigger.rsplit("_", 1)[0]
            if wanted is not None and not {stem, trigger} & wanted:
                continue
            on = f" ON {qn(table)}" if connection.vendor == "postgresql" else ""
            cursor.execute(f'DROP TRIGGER IF EXISTS "{trigger}"{on}')


def install(options_list: Sequence[TrackingOptions], using: str) -> int:
    """(Re)install the triggers of the given tracked models on ``using``.

    Models whose tables do not exist on ``using`` (routed elsewhere, not migrated
    yet) are skipped. Returns the number of models whose triggers were installed.
    """
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return 0
    existing = set(connection.introspection.table_names())
    ready = [
        o for o in options_list if all(table in existing for table in tables_of(o))
    ]
    drop(using, {n for o in ready for n in names_of(o)})
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and ready:
            cursor.execute(_pg_append_only())
        for options in ready:
            for statement in statements(options, using):
                cursor.execute(statement)
    return len(ready)
