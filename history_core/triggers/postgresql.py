"""PostgreSQL capture: statement-level ``AFTER`` triggers with transition tables.

One ``INSERT ... SELECT`` per statement, however many rows it wrote. The version's
date is ``clock_timestamp()`` read by the trigger, after the statement holds its row
locks, so versions follow the order in which rows were written. Who, why and how
arrive in the transaction-local setting ``history_core.context`` (see
:mod:`history_core.database`). ``TRUNCATE`` of a tracked table records the deletion
of every row it empties, read by a ``BEFORE TRUNCATE`` trigger (except while
``prune_history`` or ``flush`` empties tables on purpose).

Each trigger's definition hash is its comment (``COMMENT ON TRIGGER``), and its
function's source is compared as well, so ``history_triggers --check`` sees a trigger
or function changed by hand.
"""

from __future__ import annotations

from typing import Any

from ..options import TrackingOptions
from .common import (
    CONTEXT_SETTING,
    PREFIX,
    PRUNE_SETTING,
    STATEMENT_SETTING,
    Installed,
    TableSource,
    Trigger,
    column_expr,
    compared,
    history_columns,
    joins,
    name,
    sources,
    user_db_type,
)

APPEND_ONLY_FUNCTION = f"{PREFIX}append_only"
COMMENT_PREFIX = "history_core "


def _noop(options: TrackingOptions) -> str:
    if options.record_noop_saves is not None:
        return "TRUE" if options.record_noop_saves else "FALSE"
    return "COALESCE((ctx->>'noop')::boolean, FALSE)"


def _insert(
    options: TrackingOptions, source: TableSource, connection: Any, kind: str
) -> str:
    """The trigger body's INSERT INTO history for one kind of statement.

    ``kind`` is ``+``, ``~``, ``-`` (the transition tables) or ``truncate`` (a
    deletion of every row still in the table, read before it is emptied).
    """
    qn = connection.ops.quote_name
    deleting = kind in ("-", "truncate")
    alias = "o" if deleting else "n"
    rows = {"-": "old_rows", "truncate": qn(source.table)}.get(kind, "new_rows")
    pk = qn(source.pk_column)
    columns = column_expr(options, source, alias, qn)
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
        checked = compared(options, source)
        old_row = ", ".join(f"o.{qn(f.column)}" for f in checked)
        new_row = ", ".join(f"n.{qn(f.column)}" for f in checked)
        distinct = f"ROW({old_row}) IS DISTINCT FROM ROW({new_row})"
        where = f" WHERE o.{pk} IS NULL OR {_noop(options)}" + (
            f" OR {distinct}" if checked else ""
        )
    user_type = user_db_type(options, connection)
    metadata = (
        f"ts, '{'-' if deleting else kind}', (ctx->>'user')::{user_type}, "
        f"ctx->>'reason', COALESCE(ctx->'meta', '{{}}'::jsonb), {changed}"
    )
    history = qn(options.historical_model._meta.db_table)
    return (
        f"INSERT INTO {history} ({history_columns(options, qn)}) "
        f"SELECT {', '.join(columns)}, {metadata} FROM {rows} {alias}{join_old}"
        f"{joins(source, alias, qn)}{where} ORDER BY {alias}.{pk};"
    )


def _concat(parts: list[str]) -> str:
    """``concat_ws(',', ...)`` of ``parts`` (NULLs skipped), under 100 arguments."""
    if len(parts) <= 90:
        return f"concat_ws(',', {', '.join(parts)})"
    chunks = [parts[i : i + 90] for i in range(0, len(parts), 90)]
    return _concat([f"NULLIF({_concat(chunk)}, '')" for chunk in chunks])


def _body(options: TrackingOptions, source: TableSource, connection: Any) -> str:
    """The source of the trigger function of ``source``'s table."""
    if source.own:
        statements = (
            f"IF TG_OP = 'INSERT' THEN {_insert(options, source, connection, '+')}\n"
            f"ELSIF TG_OP = 'UPDATE' THEN {_insert(options, source, connection, '~')}\n"
            f"ELSIF TG_OP = 'DELETE' THEN {_insert(options, source, connection, '-')}\n"
            f"ELSIF current_setting('{PRUNE_SETTING}', true) IS DISTINCT FROM 'on' THEN "
            f"{_insert(options, source, connection, 'truncate')}\nEND IF;"
        )
    else:
        statements = _insert(options, source, connection, "~")
    return (
        "\nDECLARE\n"
        "  ctx jsonb := CASE WHEN current_setting("
        f"'{STATEMENT_SETTING}', true) IN (statement_timestamp()::text, '*') THEN "
        f"NULLIF(current_setting('{CONTEXT_SETTING}', true), '')::jsonb END;\n"
        "  ts timestamptz := COALESCE((ctx->>'now')::timestamptz, clock_timestamp());\n"
        f"BEGIN\n{statements}\nRETURN NULL;\nEND "
    )


_EVENTS = {
    "INSERT": "AFTER INSERT {on} REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "AFTER UPDATE {on} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "AFTER DELETE {on} REFERENCING OLD TABLE AS old_rows",
    "TRUNCATE": "BEFORE TRUNCATE {on}",
}


def triggers(options: TrackingOptions, connection: Any) -> list[Trigger]:
    """The triggers that record ``options.model``'s history, and guard its table."""
    qn = connection.ops.quote_name
    found = []
    for source in sources(options):
        if not source.own and not source.fields:
            continue
        function = name(options.label, source.table)
        body = _body(options, source, connection)
        create_function = (
            f'CREATE OR REPLACE FUNCTION "{function}"() RETURNS trigger '
            f"LANGUAGE plpgsql AS $${body}$$"
        )
        events = (
            ["INSERT", "UPDATE", "DELETE", "TRUNCATE"] if source.own else ["UPDATE"]
        )
        for event in events:
            trigger = f"{function}_{event[0].lower()}"
            when = _EVENTS[event].format(on=f"ON {qn(source.table)}")
            create = (
                f'CREATE TRIGGER "{trigger}" {when} FOR EACH STATEMENT '
                f'EXECUTE FUNCTION "{function}"()'
            )
            found.append(Trigger(trigger, source.table, create, create_function, body))
    history = options.historical_model._meta.db_table
    # Per row: an UPDATE that matches nothing (loaddata tries one before each
    # INSERT) is not a rewrite.
    append_only = name(options.label, "append-only")
    guard = _append_only_body()
    function = _append_only_function()
    for suffix, when, each in (
        ("r", "BEFORE UPDATE OR DELETE", "ROW"),
        ("t", "BEFORE TRUNCATE", "STATEMENT"),
    ):
        create = (
            f'CREATE TRIGGER "{append_only}_{suffix}" {when} ON {qn(history)} '
            f'FOR EACH {each} EXECUTE FUNCTION "{APPEND_ONLY_FUNCTION}"()'
        )
        found.append(
            Trigger(f"{append_only}_{suffix}", history, create, function, guard)
        )
    return found


def _append_only_body() -> str:
    return (
        "\nBEGIN\n"
        f"IF current_setting('{PRUNE_SETTING}', true) IS DISTINCT FROM 'on' THEN\n"
        "  RAISE EXCEPTION 'history rows of % are append-only: % refused', "
        "TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation', HINT = "
        "'Versions are written by history_core only; drop old ones with the "
        "prune_history command.';\nEND IF;\n"
        "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\nRETURN NEW;\nEND "
    )


def _append_only_function() -> str:
    return (
        f'CREATE OR REPLACE FUNCTION "{APPEND_ONLY_FUNCTION}"() RETURNS trigger '
        f"LANGUAGE plpgsql AS $${_append_only_body()}$$"
    )


def exists(cursor: Any, connection: Any, table: str) -> bool:
    """Whether ``table`` exists as Django names it (quoted, maybe schema-qualified).

    PostgreSQL resolves the name as every statement would: cut to 63 bytes, looked
    up on the search path unless qualified.
    """
    cursor.execute(
        "SELECT to_regclass(%s) IS NOT NULL", [connection.ops.quote_name(table)]
    )
    return bool(cursor.fetchone()[0])


def columns(cursor: Any, connection: Any, table: str) -> set[str]:
    """The column names of ``table`` (empty if it does not exist)."""
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attnum > 0 AND NOT attisdropped",
        [connection.ops.quote_name(table)],
    )
    return {row[0] for row in cursor.fetchall()}


def installed(cursor: Any) -> list[Installed]:
    """Every history_core trigger in the database, on any table or schema."""
    cursor.execute(
        "SELECT t.tgrelid::regclass::text, c.relname, t.tgname, "
        "COALESCE(obj_description(t.oid, 'pg_trigger'), ''), p.prosrc "
        "FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
        "JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND t.tgname LIKE %s",
        [f"{PREFIX}%"],
    )
    return [
        Installed(table, relname, trigger, comment.removeprefix(COMMENT_PREFIX), body)
        for table, relname, trigger, comment, body in cursor.fetchall()
    ]


def install(cursor: Any, connection: Any, trigger: Trigger) -> None:
    """Create ``trigger`` (and its function) with its definition hash."""
    qn = connection.ops.quote_name
    cursor.execute(trigger.function)
    cursor.execute(trigger.create)
    cursor.execute(
        f'COMMENT ON TRIGGER "{trigger.name}" ON {qn(trigger.table)} IS '
        f"'{COMMENT_PREFIX}{trigger.digest}'"
    )


def drop(cursor: Any, found: Installed) -> None:
    """Remove a trigger found by :func:`installed` (``table`` is already quoted)."""
    cursor.execute(f'DROP TRIGGER IF EXISTS "{found.name}" ON {found.table}')


def current(found: Installed, trigger: Trigger) -> bool:
    """Whether the installed trigger is the one the code would install today."""
    return found.digest == trigger.digest and found.body == trigger.body
