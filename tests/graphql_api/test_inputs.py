"""Input parsing helpers behind the resolvers."""

from __future__ import annotations

import pytest

from graphql_api import inputs
from graphql_api.errors import BadInput
from history_core import get_options
from tests.testapp.models import Document, Sku


def test_ids_are_parsed_strictly() -> None:
    for raw in ("1_0", " 1", "+1", "1e3", "", "\u0661"):  # int() accepts some
        with pytest.raises(BadInput):
            inputs.history_id(raw)
        if raw.strip():
            with pytest.raises(BadInput):
                inputs.object_pk(get_options(Document), raw)
    assert inputs.history_id("10") == 10


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
