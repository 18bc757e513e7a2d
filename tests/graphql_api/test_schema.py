"""The printed schema, snapshotted: every schema change shows up in review.

After an intended change: ``UPDATE_SNAPSHOTS=1 pytest tests/graphql_api/test_schema.py``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from django.core.management import call_command
from graphql import GraphQLObjectType

from graphql_api.schema import build_schema

SNAPSHOT = Path(__file__).with_name("schema.graphql")


def test_printed_schema_matches_the_snapshot() -> None:
    out = io.StringIO()
    call_command("export_schema", stdout=out)
    printed = out.getvalue()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(printed, encoding="utf-8")
    assert printed == SNAPSHOT.read_text(encoding="utf-8"), (
        "The GraphQL schema changed: review the diff, then run with UPDATE_SNAPSHOTS=1."
    )


def test_every_tracked_model_is_in_the_schema_without_code() -> None:
    sdl = build_schema().as_str()
    for name in ("Product", "Category", "Document", "Sku", "User"):
        assert f"type {name}Version implements Version" in sdl
    assert "usersAsOf(" in sdl and "skusAsOf(" in sdl and "categoriesAsOf(" in sdl


def test_every_generated_field_is_documented() -> None:
    schema = build_schema()._schema
    undocumented = [
        f"{name}.{field_name}"
        for name, graphql_type in schema.type_map.items()
        if not name.startswith("__") and hasattr(graphql_type, "fields")
        for field_name, field in graphql_type.fields.items()
        if not field.description
        and (
            name.endswith(("Version", "Connection", "Edge", "Diff", "Payload"))
            or name in ("Query", "Mutation")
        )
    ]
    assert undocumented == []


def test_excluded_fields_are_not_in_the_schema() -> None:
    sdl = build_schema().as_str()
    document = sdl.split("type DocumentVersion implements Version & Node {")[1].split(
        "}"
    )[0]
    assert "secret" not in document and "title" in document
    user = sdl.split("type UserVersion implements Version & Node {")[1].split("}")[0]
    assert "password" not in user and "username" in user


def test_every_version_and_live_type_is_a_relay_node() -> None:
    schema = build_schema()._schema
    nodes = {t.name for t in schema.get_possible_types(schema.type_map["Node"])}
    for name in ("Product", "Category", "Sku", "TestappNode", "User"):
        assert {name, f"{name}Version"} <= nodes
    # testapp.Node would have taken the interface's name: its API has its app's prefix.
    assert "testappNodeHistory" in schema.query_type.fields
    # Every id is a Node id; a primary key has its own name (productId, code).
    with_id = {
        name
        for name, graphql_type in schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType) and "id" in graphql_type.fields
    }
    assert with_id - nodes == {"HistoryUser"}  # a user's pk, not a tracked object
    assert "productId" in schema.type_map["ProductVersion"].fields
    assert "code" in schema.type_map["Sku"].fields
