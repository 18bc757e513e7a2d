"""``dryRun: true`` predicts the revert over HTTP: the same payload, or the same
``OperationInfo`` (code, message, field), and nothing written.

Each scenario is sent twice on the same state, first as a dry run, then for real;
the answers must match except for ``dryRun`` itself and the new ``version``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from catalog.models import Category, Product
from history_core.revert import MAX_REASON_LENGTH

pytestmark = pytest.mark.django_db

REVERT = """
mutation($id: ID!, $to: VersionRef!, $dry: Boolean!, $fields: [String!],
         $reason: String, $expected: ID) {
  revertProduct(id: $id, to: $to, dryRun: $dry, fields: $fields, reason: $reason,
                expectedHistoryId: $expected) {
    __typename
    ... on RevertProductPayload {
      dryRun restored product { name price categoryId } changes { field old new }
      version { historyId }
    }
    ... on OperationInfo { messages { kind code message field } }
  }
}
"""
REVERT_CATEGORY = """
mutation($id: ID!, $to: VersionRef!, $dry: Boolean!) {
  revertCategory(id: $id, to: $to, dryRun: $dry) {
    __typename
    ... on RevertCategoryPayload { restored category { name } changes { field } }
    ... on OperationInfo { messages { kind code message field } }
  }
}
"""


def _to(record: Any) -> dict[str, str]:
    return {"historyId": str(record.history_id)}


def _repriced(**extra: Any) -> tuple[str, dict[str, Any]]:
    product = Product.objects.create(name="Saw", price=Decimal("10.00"))
    product.price = Decimal("12.00")
    product.save()
    return REVERT, {
        "id": str(product.pk),
        "to": _to(product.history.earliest()),
        **extra,
    }


def _restore() -> tuple[str, dict[str, Any]]:
    product = Product.objects.create(name="Saw", price=Decimal("10.00"))
    record, pk = product.history.latest(), product.pk
    product.delete()
    return REVERT, {"id": str(pk), "to": _to(record)}


def _category_gone(restore: bool) -> Callable[[], tuple[str, dict[str, Any]]]:
    def scenario() -> tuple[str, dict[str, Any]]:
        tools = Category.objects.create(name="Tools")
        product = Product.objects.create(name="Saw", price=1, category=tools)
        record, pk = product.history.latest(), product.pk
        product.category = None
        product.save()
        tools.delete()
        if restore:
            product.delete()
        return REVERT, {"id": str(pk), "to": _to(record)}

    return scenario


def _name_taken() -> tuple[str, dict[str, Any]]:
    audio = Category.objects.create(name="Audio")
    audio.name = "Sound"
    audio.save()
    Category.objects.create(name="Audio")
    return REVERT_CATEGORY, {"id": str(audio.pk), "to": _to(audio.history.earliest())}


def _stale() -> tuple[str, dict[str, Any]]:
    document, variables = _repriced()
    product = Product.objects.get(pk=variables["id"])
    seen = product.history.latest().history_id
    Product.objects.filter(pk=product.pk).update(name="Saw II")
    return document, {**variables, "expected": str(seen)}


def _price_cap() -> tuple[str, dict[str, Any]]:
    product = Product.objects.create(name="Saw", price=Decimal("5000.00"))
    product.price = Decimal("10.00")
    product.save()
    table = Product._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                f'ALTER TABLE "{table}" ADD CONSTRAINT hc_cap CHECK (price <= 1000)'
            )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute(
                f'CREATE TRIGGER hc_cap BEFORE UPDATE ON "{table}" '
                "WHEN NEW.price > 1000 BEGIN SELECT RAISE(ABORT, 'cap'); END"
            )
    return REVERT, {"id": str(product.pk), "to": _to(product.history.earliest())}


SCENARIOS: dict[str, tuple[Callable[[], tuple[str, dict[str, Any]]], str | None]] = {
    "revert": (_repriced, None),
    "restore": (_restore, None),
    "some fields, by any name trackedModel lists": (
        lambda: _repriced(fields=["price", "productId", "category"]),
        None,
    ),
    "foreign key to a deleted object": (_category_gone(False), "INVALID"),
    "restore with a deleted related object": (_category_gone(True), "INVALID"),
    "unique value taken": (_name_taken, "INVALID"),
    "a constraint only the database knows": (_price_cap, "INVALID"),
    "a newer version than expected": (_stale, "CONFLICT"),
    "a Python attname": (lambda: _repriced(fields=["category_id"]), "BAD_USER_INPUT"),
    "a reason too long": (
        lambda: _repriced(reason="x" * (MAX_REASON_LENGTH + 1)),
        "BAD_USER_INPUT",
    ),
    "a NUL in the reason": (lambda: _repriced(reason="a\x00b"), "BAD_USER_INPUT"),
    "an unpaired surrogate in the reason": (
        lambda: _repriced(reason="a\ud800b"),
        "BAD_USER_INPUT",
    ),
}


def _comparable(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in ("dryRun", "version")}


def _counts() -> tuple[int, int, int, int]:
    return (
        Product.objects.count(),
        Category.objects.count(),
        Product.history.count(),
        Category.history.count(),
    )


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_dry_run_answers_as_the_revert_does(editor: Any, name: str) -> None:
    make, code = SCENARIOS[name]
    document, variables = make()
    before = _counts()

    dry = next(iter(editor.data(document, {**variables, "dry": True}).values()))
    assert _counts() == before, "the dry run wrote something"
    real = next(iter(editor.data(document, {**variables, "dry": False}).values()))

    assert _comparable(dry) == _comparable(real)
    if code is None:
        assert real["__typename"].endswith("Payload")
        assert dry["version"] is None and dry["dryRun"] is True
        assert real["version"] is not None
    else:
        assert real["messages"][0]["code"] == code
        assert _counts() == before, "a refused revert wrote something"


def test_a_refusal_names_the_field_as_graphql_does(editor: Any) -> None:
    document, variables = _category_gone(False)()
    for dry in (True, False):
        answer = editor.data(document, {**variables, "dry": dry})["revertProduct"]
        message = answer["messages"][0]
        assert message["field"] == "categoryId"
        assert "its categoryId would point at catalog.Category" in message["message"]
        assert "category_id" not in message["message"]
