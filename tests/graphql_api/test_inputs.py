"""Input parsing helpers behind the resolvers."""

from __future__ import annotations

import pytest

from graphql_api import inputs
from graphql_api.errors import BadInput
from history_core import get_options
from tests.testapp.models import Document, Sku


def test_revert_fields_accept_graphql_and_model_names() -> None:
    options = get_options(Document)
    assert inputs.model_fields(options, ["updatedAt", "body", "updated_at"]) == [
        "updated_at",
        "body",
        "updated_at",
    ]
    assert inputs.model_fields(options, None) is None


def test_ids_are_converted_to_the_primary_key_type() -> None:
    assert inputs.object_pk(get_options(Sku), "SKU-1") == "SKU-1"
    assert inputs.object_pk(get_options(Document), "7") == 7
    for raw in ("7.5", "abc", str(2**64)):
        with pytest.raises(BadInput):
            inputs.object_pk(get_options(Document), raw)


def test_cursors_round_trip_and_reject_other_kinds() -> None:
    cursor = inputs.encode_cursor("o", 42)
    assert inputs.decode_cursor(cursor, "o") == [42]
    with pytest.raises(BadInput):
        inputs.decode_cursor(cursor, "t")
