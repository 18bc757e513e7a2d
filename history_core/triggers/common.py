"""What both vendors' triggers share: the tables of a tracked row, names, columns."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import models

from ..options import TrackingOptions

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


def pk_column(model: Any) -> str:
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
            (f"t{i}", other, pk_column(tables[other]))
            for i, other in enumerate(t for t in tables if t != table)
        )
        fields = tuple(f for f in options.fields if f.model._meta.db_table == table)  # type: ignore[union-attr]
        result.append(
            TableSource(table, pk_column(owner), fields, others, owner is model)
        )
    return result


def name(*parts: str) -> str:
    digest = hashlib.sha1("|".join(parts).encode(), usedforsecurity=False)
    return f"{PREFIX}{digest.hexdigest()[:16]}"


def column_expr(
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


def joins(source: TableSource, alias: str, qn: Any) -> str:
    key = f"{alias}.{qn(source.pk_column)}"
    return "".join(
        f" JOIN {qn(table)} {a} ON {a}.{qn(pk)} = {key}"
        for a, table, pk in source.others
    )


def compared(options: TrackingOptions, source: TableSource) -> list[Any]:
    """The fields whose change makes a version (auto_now fields alone do not)."""
    return [f for f in source.fields if f.attname not in options.ignored_for_noop]


def history_columns(options: TrackingOptions, qn: Any) -> str:
    meta = [
        "history_date",
        "history_type",
        "history_user_id",
        "history_change_reason",
        "history_context",
        "history_changed_fields",
    ]
    return ", ".join(qn(c) for c in [*options.columns, *meta])


def user_db_type(options: TrackingOptions, connection: Any) -> str:
    field: Any = options.historical_model._meta.get_field("history_user")
    return str(field.db_type(connection))


@dataclass(frozen=True)
class Trigger:
    """One trigger as the code would install it today.

    Attributes:
        name: the trigger's name (``history_core_<stem>_<event>``).
        table: the table it is on, as the model names it (``db_table``).
        create: the ``CREATE TRIGGER`` statement.
        function: PostgreSQL: the ``CREATE OR REPLACE FUNCTION`` it executes.
        body: PostgreSQL: that function's source, as ``pg_proc.prosrc`` keeps it.
    """

    name: str
    table: str
    create: str
    function: str = ""
    body: str = ""

    @property
    def digest(self) -> str:
        """The hash of the definition, stored with the trigger when installed."""
        text = f"{self.function}\n{self.create}".encode()
        return hashlib.sha256(text).hexdigest()[:20]


@dataclass(frozen=True)
class Installed:
    """A history_core trigger found in the database.

    Attributes:
        table: the table it is on, as DDL names it (quoted where needed,
            schema-qualified when not on the search path).
        relname: the table's own name, as the database stores it.
        name: the trigger's name.
        digest: the definition hash stored with it ("" when none).
        body: PostgreSQL: its function's source; SQLite: the trigger's SQL.
    """

    table: str
    relname: str
    name: str
    digest: str
    body: str

    @property
    def stem(self) -> str:
        """The name without its event suffix: what :func:`name` returned."""
        return self.name.rsplit("_", 1)[0]
