"""Who, why and how, carried to the triggers with each write statement.

The triggers (:mod:`history_core.triggers`) read the context of the statement that
fired them. Nothing here depends on the session: no context is ever set for longer
than its own statement, so a connection pooler in transaction mode (PgBouncer, RDS
Proxy) that hands the server connection to another client, or Django's own pool,
cannot give one client's who and why to another's write.

* PostgreSQL: a statement that may write, sent while a context is active, is
  prefixed in the same message with ``SELECT set_config('history_core.context',
  <json>, true)`` and the message's ``statement_timestamp()``. Both settings are
  transaction-local, and the triggers accept the context only from statements of
  that same message. A statement that cannot take a prefix (``executemany()``,
  server-side binding with parameters) runs between a transaction-local
  ``set_config`` and its reset, inside a transaction of its own when none is open.
  Which statements may write is decided by their first keyword alone (see
  :func:`_sends_context`): never by table names, so case, quoting, schemas,
  comments, CTEs, ``MERGE`` and ``EXPLAIN ANALYZE`` make no difference.
* SQLite: every connection gets the SQL functions ``history_core_now()``,
  ``history_core_user()``, ``history_core_reason()``, ``history_core_meta()``,
  ``history_core_record_noop()`` and ``history_core_pruning()``. The context is
  read from Python when the statement's first trigger runs (under SQLite's write
  lock) and kept for the statement's other rows.

The JSON is built by :mod:`history_core.payload`, which makes every value
storable (NUL, lone surrogates, NaN, huge numbers).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connections, transaction

from . import compat, payload
from .conf import get_setting
from .triggers import CONTEXT_SETTING, PREFIX, PRUNE_SETTING, STATEMENT_SETTING, sqlite

_pruning: ContextVar[bool] = ContextVar("history_core_pruning", default=False)
# One SQLite statement's context, computed at its first trigger call.
_statement: ContextVar[dict[str, Any] | None] = ContextVar(
    "history_core_statement", default=None
)

_SET_PRUNE = f"SELECT set_config('{PRUNE_SETTING}', %s, true)"
_SET_LOCAL = (
    f"SELECT set_config('{CONTEXT_SETTING}', %s, true), "
    f"set_config('{STATEMENT_SETTING}', %s, true)"
)
_PREFIX = (
    f"SELECT set_config('{CONTEXT_SETTING}', {{context}}, true), "
    f"set_config('{STATEMENT_SETTING}', statement_timestamp()::text, true)"
)
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/|\()*", re.S)
_KEYWORD = re.compile(r"[A-Za-z]+")
# First keywords of statements that write no rows through triggers (reads,
# transaction control, DDL, maintenance), some of which PostgreSQL refuses in a
# message of several statements or in a transaction block.
_SENT_AS_WRITTEN = frozenset(
    [
        "SELECT",
        "VALUES",
        "TABLE",
        "SHOW",
        "FETCH",
        "MOVE",
        "CLOSE",
        "DECLARE",
        "BEGIN",
        "START",
        "COMMIT",
        "END",
        "ROLLBACK",
        "ABORT",
        "SAVEPOINT",
        "RELEASE",
        "PREPARE",
        "DEALLOCATE",
        "SET",
        "RESET",
        "DISCARD",
        "LISTEN",
        "UNLISTEN",
        "NOTIFY",
        "LOAD",
        "LOCK",
        "VACUUM",
        "ANALYZE",
        "CHECKPOINT",
        "CLUSTER",
        "REINDEX",
        "CREATE",
        "ALTER",
        "DROP",
        "GRANT",
        "REVOKE",
        "COMMENT",
        "SECURITY",
    ]
)


def _first_keyword(sql: str) -> str:
    """The statement's first keyword, upper-case, after comments and parentheses."""
    start = _LEADING.match(sql)
    word = _KEYWORD.match(sql, start.end() if start else 0)
    return word.group(0).upper() if word else ""


def _sends_context(sql: str) -> bool:
    """Whether a statement may write rows, so that its triggers need the context.

    Every statement does but those whose first keyword says they only read or
    are utility commands; for writes the answer never depends on table names,
    case, quoting, comments, CTEs or ``EXPLAIN ANALYZE``.
    """
    return _first_keyword(sql) not in _SENT_AS_WRITTEN


def _literal(text: str) -> str:
    """``text`` as a dollar-quoted SQL literal (independent of server settings)."""
    tag = "hc"
    while f"${tag}$" in text:
        tag += "x"
    return f"${tag}${text}${tag}$"


def _in_error(connection: Any) -> bool:
    """Whether the transaction is aborted (every statement but ROLLBACK fails)."""
    return compat.transaction_status(connection) == "INERROR"


def _execute_postgresql(
    execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    connection = context["connection"]
    values = payload.build(connection, with_now=False)
    if not values or _in_error(connection):
        return execute(sql, params, many, context)
    encoded = payload.encode(values, connection)
    cursor = context["cursor"]
    if not many and (params is None or compat.accepts_several_statements(cursor)):
        return _execute_with_prefix(execute, sql, params, encoded, context)
    return _execute_in_transaction(execute, sql, params, many, encoded, context)


def _execute_with_prefix(
    execute: Any, sql: str, params: Any, encoded: str, context: dict[str, Any]
) -> Any:
    """Send the context in the statement's own message, transaction-local.

    The triggers accept it only from statements of that message (the
    ``statement_timestamp()`` it arrived at), and it ends with the transaction:
    in autocommit a message of several statements is one implicit transaction.
    """
    prefix = _PREFIX.format(context=_literal(encoded))
    if params is not None:  # the driver interpolates: a literal % is %%
        prefix = prefix.replace("%", "%%")
    result = execute(f"{prefix}; {sql}", params, False, context)
    context["cursor"].cursor.nextset()  # the caller reads its own statement's
    return result


def _execute_in_transaction(
    execute: Any,
    sql: str,
    params: Any,
    many: bool,
    encoded: str,
    context: dict[str, Any],
) -> Any:
    """Set the context transaction-local just before the statement, clear it after.

    For what cannot take a prefix (``executemany()``, server-side binding, named
    cursors). Outside a transaction the three run in one of their own, so no
    context ever outlives its statement on a server connection that a pooler
    hands to another client: psycopg runs ``executemany()`` in autocommit as one
    implicit transaction already, and a single statement is atomic either way.
    """
    connection = context["connection"]
    raw = compat.raw_connection(connection)
    own_transaction = compat.transaction_status(connection) == "IDLE"
    with raw.cursor() as own:
        if own_transaction:
            own.execute("BEGIN")
        try:
            own.execute(_SET_LOCAL, [encoded, "*"])
            result = execute(sql, params, many, context)
            own.execute(_SET_LOCAL, ["", ""])
        except BaseException:
            if own_transaction:
                with contextlib.suppress(Exception):
                    own.execute("ROLLBACK")
            raise
        if own_transaction:
            own.execute("COMMIT")
    return result


def execute_wrapper(
    execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Django execute wrapper installed on every connection (see ``connect``)."""
    if context["connection"].vendor != "postgresql":
        # SQLite: the triggers' context is computed once per statement, whatever
        # the statement (a write may start with a comment, or come from a script).
        _statement.set(None)
        try:
            return execute(sql, params, many, context)
        finally:
            _statement.set(None)
    if not payload.may_send():  # the common case: nothing to send, nothing to do
        return execute(sql, params, many, context)
    if not isinstance(sql, str) or not _sends_context(sql):
        return execute(sql, params, many, context)
    return _execute_postgresql(execute, sql, params, many, context)


def _sqlite_values(alias: str) -> dict[str, Any]:
    """The running statement's context as SQL values, computed at its first row."""
    cached = _statement.get()
    if cached is None:
        connection = connections[alias]
        values = payload.build(connection, with_now=True)
        cached = {
            "now": connection.ops.adapt_datetimefield_value(values["now"]),
            "user": values.get("user"),
            "reason": values.get("reason"),
            "meta": json.dumps(
                values.get("meta", {}), separators=(",", ":"), allow_nan=False
            ),
        }
        _statement.set(cached)  # the statement's later rows reuse it
    return cached


def _sqlite_functions(alias: str) -> dict[str, Any]:
    """The functions the SQLite triggers call, by name: one context value each."""

    def value(key: str) -> Any:
        def read() -> Any:  # called once per row: the cached path is inline
            cached = _statement.get()
            return (cached or _sqlite_values(alias))[key]

        return read

    def legacy_context() -> str:
        # Triggers installed by earlier versions read one JSON document, until
        # the next ``migrate`` reinstalls them.
        connection = connections[alias]
        return payload.encode(payload.build(connection, with_now=True), connection)

    return {
        sqlite.NOW: value("now"),
        sqlite.USER: value("user"),
        sqlite.REASON: value("reason"),
        sqlite.META: value("meta"),
        sqlite.RECORD_NOOP: _record_noop,
        sqlite.PRUNING: _is_pruning,
        f"{PREFIX}context": legacy_context,
    }


def _record_noop() -> int:
    return int(bool(get_setting("RECORD_NOOP_SAVES")))


def _is_pruning() -> int:
    return int(_pruning.get())


def connect(sender: Any = None, connection: Any = None, **kwargs: Any) -> None:
    """``connection_created`` receiver: give the connection what triggers need."""
    if connection is None:
        return
    compat.add_execute_wrapper(connection, execute_wrapper)
    if connection.vendor == "sqlite":
        raw = compat.raw_connection(connection)
        for function, implementation in _sqlite_functions(connection.alias).items():
            raw.create_function(function, 0, implementation)


@contextmanager
def pruning(using: str) -> Iterator[None]:
    """Allow deleting history rows on ``using`` inside the block (``prune_history``).

    The block is a transaction (a savepoint inside one): on PostgreSQL the
    permission is a transaction-local setting, cleared again at the end of the
    block, so it never reaches another statement, client or pooled session.
    """
    connection = connections[using]
    token = _pruning.set(True)
    try:
        with transaction.atomic(using=using):
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(_SET_PRUNE, ["on"])
            yield
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(_SET_PRUNE, [""])
    finally:
        _pruning.reset(token)
