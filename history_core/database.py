"""Who, why and how, carried to the triggers with each write statement.

The triggers (:mod:`history_core.triggers`) read the context of the statement that
fired them:

* PostgreSQL: a write statement sent while a context is active is prefixed, in the
  same round trip, with ``SELECT set_config('history_core.context', <json>, true)``
  and the message's ``statement_timestamp()``; the triggers use the context only
  for statements of that same message, so it never leaks to later ones. Statements that cannot
  take a prefix (``executemany``, SQL without parameters, server-side binding) get
  the ``set_config`` as a separate statement just before.
* SQLite: every connection gets the SQL functions ``history_core_context()``,
  ``history_core_record_noop()`` and ``history_core_pruning()``, which read the
  Python context when the trigger runs (under SQLite's write lock).

The JSON holds ``user`` (primary key), ``reason``, ``meta`` (``history_context``),
``noop`` (the ``RECORD_NOOP_SAVES`` setting, when on) and, on SQLite or with the
``CLOCK`` setting set to ``"python"``, ``now``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.utils import timezone

from . import compat, triggers
from .conf import get_setting
from .context import current, instance_values
from .triggers import CONTEXT_SETTING, PREFIX, PRUNE_SETTING, STATEMENT_SETTING

_pruning: ContextVar[bool] = ContextVar("history_core_pruning", default=False)
# One SQLite statement's context, computed at its first trigger call.
_statement: ContextVar[list[Any] | None] = ContextVar(
    "history_core_statement", default=None
)

_SET_SESSION_CONTEXT = (
    f"SELECT set_config('{CONTEXT_SETTING}', %s, false), "
    f"set_config('{STATEMENT_SETTING}', %s, false)"
)
_PREFIX = (
    f"SELECT set_config('{CONTEXT_SETTING}', %s, true), "
    f"set_config('{STATEMENT_SETTING}', statement_timestamp()::text, true)"
)
_WRITES = ("INSERT", "UPDATE", "DELETE", "WITH", "MERGE", "REPLACE")


def payload(connection: Any, *, with_now: bool) -> dict[str, Any]:
    """Return the context of a write made now, as the triggers read it."""
    ctx = current()
    user, reason, meta = ctx.user, ctx.reason, ctx.meta
    override = instance_values()
    if override is not None:
        user = override.get("user") or user
        reason = override.get("reason") or reason
        meta = {**meta, **override.get("meta", {})}
    values: dict[str, Any] = {}
    if user is not None and getattr(user, "pk", None) is not None:
        values["user"] = _user_key(user, connection)
    if reason is not None:
        values["reason"] = str(reason)
    if meta:
        values["meta"] = meta
    if get_setting("RECORD_NOOP_SAVES"):
        values["noop"] = True
    if with_now or get_setting("CLOCK") == "python":
        values["now"] = timezone.now()
    return values


def _user_key(user: Any, connection: Any) -> Any:
    value = user._meta.pk.get_db_prep_value(user.pk, connection)
    return value if isinstance(value, int) else str(value)


def _encode(values: dict[str, Any], connection: Any) -> str:
    if "now" in values:
        now = values["now"]
        values = {
            **values,
            "now": connection.ops.adapt_datetimefield_value(now)
            if connection.vendor == "sqlite"
            else now.isoformat(),
        }
    return json.dumps(values, cls=_Encoder, separators=(",", ":"))


class _Encoder(DjangoJSONEncoder):
    """Django's JSON encoder; what it cannot encode is stored as its ``str()``.

    A context value is never a reason to refuse the host application's write.
    """

    def default(self, o: Any) -> Any:
        try:
            return super().default(o)
        except TypeError:
            return str(o)


_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)


def _is_write(sql: str) -> bool:
    """Whether ``sql`` may write (its first keyword, after comments)."""
    start = _LEADING_COMMENTS.match(sql)
    head = sql[start.end() if start else 0 :][:7].upper()
    return head.startswith(_WRITES)


_tracked_tables: tuple[int, tuple[str, ...]] = (-1, ())


def _touches_tracked_table(sql: str) -> bool:
    """Whether ``sql`` names a table whose triggers read the context.

    Writes to other tables are sent exactly as the application wrote them.
    """
    global _tracked_tables
    from .registry import _registry, registry_version

    version, tables = _tracked_tables
    if version != registry_version():
        names = {t for o in _registry.values() for t in triggers.tables_of(o)}
        tables = tuple(sorted(names))
        _tracked_tables = (registry_version(), tables)
    return any(table in sql for table in tables)


def _execute_postgresql(
    execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    connection = context["connection"]
    if not _touches_tracked_table(sql):
        return execute(sql, params, many, context)
    values = payload(connection, with_now=False)
    if not values:
        return execute(sql, params, many, context)
    encoded = _encode(values, connection)
    cursor = context["cursor"]
    if (
        many
        or not isinstance(params, list | tuple)
        or not compat.accepts_several_statements(cursor)
    ):
        # A separate round trip on a cursor of our own (the caller's cursor keeps
        # its statement's results), session-wide (a transaction-local setting
        # would end with its own transaction in autocommit), reset after.
        with compat.raw_connection(connection).cursor() as own:
            own.execute(_SET_SESSION_CONTEXT, [encoded, "*"])
            try:
                return execute(sql, params, many, context)
            finally:
                # In an aborted transaction this fails; the rollback undoes it.
                with contextlib.suppress(Exception):
                    own.execute(_SET_SESSION_CONTEXT, ["", ""])
    # Same message: the triggers accept the context only for statements sent
    # with it (statement_timestamp() is the time the message arrived).
    result = execute(f"{_PREFIX}; {sql}", [encoded, *params], many, context)
    cursor.cursor.nextset()  # the caller reads the results of its own statement
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
    if not isinstance(sql, str) or not _is_write(sql):
        return execute(sql, params, many, context)
    return _execute_postgresql(execute, sql, params, many, context)


def _sqlite_context(alias: str) -> Any:
    def history_core_context() -> str:
        cached = _statement.get()
        if cached is not None:
            return str(cached[0])
        connection = connections[alias]
        encoded = _encode(payload(connection, with_now=True), connection)
        _statement.set([encoded])  # the statement's later rows reuse it
        return encoded

    return history_core_context


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
        raw.create_function(f"{PREFIX}context", 0, _sqlite_context(connection.alias))
        raw.create_function(f"{PREFIX}record_noop", 0, _record_noop)
        raw.create_function(f"{PREFIX}pruning", 0, _is_pruning)


@contextmanager
def pruning(using: str) -> Iterator[None]:
    """Allow deleting history rows on ``using`` inside the block.

    Used by ``prune_history`` and by ``flush`` (which empties every table).
    """
    connection = connections[using]
    token = _pruning.set(True)
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT set_config('{PRUNE_SETTING}', 'on', false)")
        yield
    finally:
        _pruning.reset(token)
        usable = connection.connection is not None and not connection.needs_rollback
        if connection.vendor == "postgresql" and usable:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT set_config('{PRUNE_SETTING}', '', false)")
