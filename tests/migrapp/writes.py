"""What the data migrations of ``tests.migrapp`` do: write every model of the step.

Each creates a row named ``step N`` in every model of the migration state, and
renames the rows made by earlier steps, through the migration's historical models
(no ``history`` manager there: the triggers record what they write).
"""

from __future__ import annotations

from typing import Any

MODELS = ("Gizmo", "Widget", "Gadget", "Doohickey", "LongTable", "Elsewhere")


def _write(step: int, apps: Any, schema_editor: Any) -> None:
    alias = schema_editor.connection.alias
    for name in MODELS:
        if name == "Elsewhere" and schema_editor.connection.vendor != "postgresql":
            continue
        try:
            model = apps.get_model("migrapp", name)
        except LookupError:
            continue
        model.objects.using(alias).update(name=f"seen by {step}")
        model.objects.using(alias).create(name=f"step {step}")


def write_2(apps: Any, schema_editor: Any) -> None:
    _write(2, apps, schema_editor)


def write_4(apps: Any, schema_editor: Any) -> None:
    _write(4, apps, schema_editor)


def write_6(apps: Any, schema_editor: Any) -> None:
    _write(6, apps, schema_editor)


def write_8(apps: Any, schema_editor: Any) -> None:
    _write(8, apps, schema_editor)


def write_10(apps: Any, schema_editor: Any) -> None:
    _write(10, apps, schema_editor)


def write_12(apps: Any, schema_editor: Any) -> None:
    _write(12, apps, schema_editor)


def make_elsewhere(apps: Any, schema_editor: Any) -> None:
    """The table of the unmanaged ``Elsewhere``, in a schema of its own (PostgreSQL)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE SCHEMA IF NOT EXISTS migrapp_schema")
    schema_editor.execute(
        "CREATE TABLE migrapp_schema.elsewhere "
        "(id bigserial PRIMARY KEY, name varchar(50) NOT NULL)"
    )


def drop_elsewhere(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SCHEMA IF EXISTS migrapp_schema CASCADE")
