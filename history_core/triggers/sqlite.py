"""SQLite capture: row-level ``AFTER`` triggers.

The context comes from the SQL functions ``history_core_now()``,
``history_core_user()``, ``history_core_reason()`` and ``history_core_meta()``
that :mod:`history_core.database` registers on every connection Django opens; a
connection without them (the ``sqlite3`` shell, another program) cannot write a
tracked table: SQLite resolves a trigger's functions when it prepares the
statement, and refuses it with ``no such function: history_core_...``. Each
trigger's definition hash is a comment in its body (SQLite keeps a trigger's SQL as
written), so ``history_triggers --check`` sees one changed by hand.
"""

from __future__ import annotations

import re
from typing import Any

from ..options import TrackingOptions
from .common import (
    PREFIX,
    Installed,
    TableSource,
    Trigger,
    column_expr,
    compared,
    history_columns,
    name,
    sources,
)

# The SQL functions the triggers call, registered on every connection Django
# opens (:func:`history_core.database.connect`); each returns a value cached for
# the statement.
NOW = f"{PREFIX}now"
USER = f"{PREFIX}user"
REASON = f"{PREFIX}reason"
META = f"{PREFIX}meta"
RECORD_NOOP = f"{PREFIX}record_noop"
PRUNING = f"{PREFIX}pruning"

_DIGEST = re.compile(r"/\* history_core ([0-9a-f]+) \*/")


def _changed_fields(source: TableSource, qn: Any) -> str:
    """The JSON array of the changed fields' names, sorted, built in SQL.

    One ``SELECT`` per field under a ``UNION ALL``: measured cheaper per row than
    concatenating ``CASE`` strings or ``printf`` (SQLite copies the string at
    each ``||``).
    """
    picks = " UNION ALL ".join(
        f"SELECT '{f.name}' AS f WHERE OLD.{qn(f.column)} IS NOT NEW.{qn(f.column)}"
        for f in sorted(source.fields, key=lambda f: f.name)
    )
    return f"(SELECT json_group_array(f) FROM ({picks}))" if picks else "'[]'"


def _body(
    options: TrackingOptions, source: TableSource, connection: Any, kind: str
) -> str:
    """The ``INSERT`` of one version: a ``VALUES`` row unless other tables join.

    The context comes from four functions with no arguments, each a cached value
    of the statement (no JSON to parse per row); ``VALUES`` costs fewer steps per
    row than an ``INSERT ... SELECT``.
    """
    qn = connection.ops.quote_name
    alias = "OLD" if kind == "-" else "NEW"
    columns = column_expr(options, source, alias, qn)
    changed = _changed_fields(source, qn) if kind == "~" else "'[]'"
    metadata = [f"{NOW}()", f"'{kind}'", f"{USER}()", f"{REASON}()", f"{META}()"]
    values = ", ".join([*columns, *metadata, changed])
    history = qn(options.historical_model._meta.db_table)
    insert = f"INSERT INTO {history} ({history_columns(options, qn)})"
    if not source.others:
        return f"{insert} VALUES ({values});"
    (first, table, pk), *rest = source.others
    joined = "".join(
        f" JOIN {qn(t)} {a} ON {a}.{qn(k)} = {alias}.{qn(source.pk_column)}"
        for a, t, k in rest
    )
    return (
        f"{insert} SELECT {values} FROM {qn(table)} {first}{joined} "
        f"WHERE {first}.{qn(pk)} = {alias}.{qn(source.pk_column)};"
    )


def _with_digest(trigger: str, table: str, create: str) -> Trigger:
    """``create`` with the hash of its definition as a comment after ``BEGIN``."""
    plain = Trigger(trigger, table, create)
    return Trigger(
        trigger,
        table,
        create.replace(" BEGIN ", f" BEGIN /* history_core {plain.digest} */ ", 1),
    )


def triggers(options: TrackingOptions, connection: Any) -> list[Trigger]:
    """The triggers that record ``options.model``'s history, and guard its table."""
    qn = connection.ops.quote_name
    found = []
    for source in sources(options):
        if not source.own and not source.fields:
            continue
        base = name(options.label, source.table)
        kinds = {"INSERT": "+", "UPDATE": "~", "DELETE": "-"} if source.own else {}
        kinds.setdefault("UPDATE", "~")
        for event, kind in kinds.items():
            when = ""
            if kind == "~":
                tests = [
                    f"OLD.{qn(f.column)} IS NOT NEW.{qn(f.column)}"
                    for f in compared(options, source)
                ]
                if options.record_noop_saves is None:
                    # Last: a row that changed never calls into Python for it.
                    tests.append(f"{RECORD_NOOP}()")
                elif options.record_noop_saves:
                    tests = ["1"]
                when = f" WHEN {' OR '.join(tests) or '0'}"
            trigger = f"{base}_{event[0].lower()}"
            create = (
                f'CREATE TRIGGER "{trigger}" AFTER {event} ON '
                f"{qn(source.table)} FOR EACH ROW{when} BEGIN "
                f"{_body(options, source, connection, kind)} END"
            )
            found.append(_with_digest(trigger, source.table, create))
    history = options.historical_model._meta.db_table
    for event in ("UPDATE", "DELETE"):
        trigger = f"{name(options.label, 'append-only')}_{event[0].lower()}"
        create = (
            f'CREATE TRIGGER "{trigger}" BEFORE {event} ON {qn(history)} FOR EACH ROW '
            f"WHEN NOT {PRUNING}() BEGIN SELECT RAISE(ABORT, 'history rows of "
            f"{history} are append-only: {event} refused (drop old versions with "
            "prune_history)'); END"
        )
        found.append(_with_digest(trigger, history, create))
    return found


def exists(cursor: Any, connection: Any, table: str) -> bool:
    """Whether ``table`` exists."""
    cursor.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [table]
    )
    return cursor.fetchone() is not None


def columns(cursor: Any, connection: Any, table: str) -> set[str]:
    """The column names of ``table`` (empty if it does not exist)."""
    cursor.execute("SELECT name FROM pragma_table_info(%s)", [table])
    return {row[0] for row in cursor.fetchall()}


def installed(cursor: Any) -> list[Installed]:
    """Every history_core trigger in the database."""
    cursor.execute(
        "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'trigger' "
        "AND name LIKE %s",
        [f"{PREFIX}%"],
    )
    found = []
    for table, trigger, sql in cursor.fetchall():
        digest = _DIGEST.search(sql or "")
        found.append(
            Installed(
                table, table, trigger, digest.group(1) if digest else "", sql or ""
            )
        )
    return found


def install(cursor: Any, connection: Any, trigger: Trigger) -> None:
    """Create ``trigger``."""
    cursor.execute(trigger.create)


def drop(cursor: Any, found: Installed) -> None:
    """Remove a trigger found by :func:`installed`."""
    cursor.execute(f'DROP TRIGGER IF EXISTS "{found.name}"')


def current(found: Installed, trigger: Trigger) -> bool:
    """Whether the installed trigger is the one the code would install today."""
    return found.body == trigger.create
