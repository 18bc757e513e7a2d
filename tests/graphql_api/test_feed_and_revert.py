"""historyFeed, trackedModels and the revert mutations over HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import history_core
from catalog.models import Category, Product

FEED = """
query($first: Int, $after: String, $models: [String!], $types: [HistoryType!],
      $userId: ID) {
  historyFeed(first: $first, after: $after, models: $models, types: $types,
              userId: $userId) {
    pageInfo { hasNextPage endCursor }
    edges { node { __typename model historyId historyType historyUser { username }
                   ... on ProductVersion { name } ... on CategoryVersion { name } } }
  }
}
"""
REVERT = """
mutation($id: ID!, $to: VersionRef!, $expected: ID, $fields: [String!], $dry: Boolean!) {
  revertProduct(id: $id, to: $to, reason: "undo", expectedHistoryId: $expected,
                fields: $fields, dryRun: $dry) {
    __typename
    ... on RevertProductPayload {
      product { id productId name price } dryRun
      version { historyId historyType historyUser { username } historyChangeReason
                historyContext price name }
      changes { field old new }
    }
    ... on OperationInfo { messages { kind code message field } }
  }
}
"""


def _history(user: Any) -> tuple[Category, Product]:
    with history_core.context(user=user):
        category = Category.objects.create(name="Garden")
        product = Product.objects.create(name="Hose", price=Decimal("20.00"))
        product.price = Decimal("25.00")
        product.save()
        category.name = "Outdoor"
        category.save()
    return category, product


def test_feed_merges_models_newest_first_and_pages(viewer: Any, user: Any) -> None:
    _history(user)
    expected = sorted(
        [*Product.history.all(), *Category.history.all()],
        key=lambda r: (r.history_date, r._history_options.label, r.history_id),
        reverse=True,
    )
    seen = []
    after = None
    while True:
        data = viewer.data(FEED, {"first": 3, "after": after})["historyFeed"]
        seen += [
            (e["node"]["model"], int(e["node"]["historyId"])) for e in data["edges"]
        ]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == [(r._history_options.label, r.history_id) for r in expected]
    first = viewer.data(FEED, {"first": 1})["historyFeed"]["edges"][0]["node"]
    assert first == {
        "__typename": "CategoryVersion",
        "model": "catalog.Category",
        "historyId": str(expected[0].history_id),
        "historyType": "UPDATED",
        "historyUser": {"username": "alice"},
        "name": "Outdoor",
    }


def test_feed_filters(viewer: Any, user: Any, other_user: Any) -> None:
    _history(user)
    with history_core.context(user=other_user):
        Product.objects.create(name="Rake", price=Decimal("9.00"))
    only_products = viewer.data(FEED, {"models": ["catalog.Product"]})["historyFeed"]
    assert {e["node"]["model"] for e in only_products["edges"]} == {"catalog.Product"}
    by_bob = viewer.data(FEED, {"userId": str(other_user.pk)})["historyFeed"]["edges"]
    assert [e["node"]["name"] for e in by_bob] == ["Rake"]
    created = viewer.data(FEED, {"types": ["CREATED"]})["historyFeed"]["edges"]
    assert {e["node"]["historyType"] for e in created} == {"CREATED"}
    unknown = viewer.error(FEED, {"models": ["catalog.Nope"]})
    assert unknown["extensions"]["code"] == "BAD_USER_INPUT"


def test_feed_shows_only_models_the_caller_may_read(
    make_client: Any, user: Any
) -> None:
    _history(user)
    products_only = make_client("view_product", username="p-reader")
    edges = products_only.data(FEED, {"first": 50})["historyFeed"]["edges"]
    assert {e["node"]["model"] for e in edges} == {"catalog.Product"}
    denied = products_only.error(FEED, {"models": ["catalog.Category"]})
    assert denied["extensions"]["code"] == "FORBIDDEN"


def test_tracked_models_describes_the_api(viewer: Any) -> None:
    data = viewer.data(
        "{ trackedModels { label typeName fields historyField canRevert } }"
    )
    product = next(m for m in data["trackedModels"] if m["label"] == "catalog.Product")
    assert product == {
        "label": "catalog.Product",
        "typeName": "ProductVersion",
        "fields": [
            "productId",
            "name",
            "price",
            "description",
            "categoryId",
            "category",
        ],
        "historyField": "productHistory",
        "canRevert": False,
    }


def _revert(client: Any, product: Any, to: Any, **extra: Any) -> Any:
    variables = {"id": str(product.pk), "to": to, "dry": False, **extra}
    return client.data(REVERT, variables)["revertProduct"]


def test_revert_restores_and_records_who_and_why(editor: Any, user: Any) -> None:
    _, product = _history(user)
    first = product.history.earliest()
    result = _revert(editor, product, {"historyId": str(first.history_id)})
    assert result["__typename"] == "RevertProductPayload"
    assert result["product"]["price"] == "20.00"
    assert result["changes"] == [{"field": "price", "old": "25.00", "new": "20.00"}]
    version = result["version"]
    assert version["historyType"] == "UPDATED"
    assert version["historyUser"] == {"username": "editor"}
    assert version["historyChangeReason"] == "undo"
    assert version["historyContext"]["reverted_from"] == first.history_id
    assert version["historyContext"]["request"]["path"] == "/graphql/"
    product.refresh_from_db()
    assert product.price == Decimal("20.00")


def test_revert_dry_run_writes_nothing(editor: Any, user: Any) -> None:
    _, product = _history(user)
    count = product.history.count()
    first = product.history.earliest()
    result = _revert(editor, product, {"historyId": str(first.history_id)}, dry=True)
    assert result["dryRun"] is True
    assert result["version"] is None
    assert result["changes"] == [{"field": "price", "old": "25.00", "new": "20.00"}]
    assert product.history.count() == count
    product.refresh_from_db()
    assert product.price == Decimal("25.00")


def test_revert_conflict_when_not_latest(editor: Any, user: Any) -> None:
    _, product = _history(user)
    first, latest = product.history.earliest(), product.history.latest()
    product.name = "Changed meanwhile"
    product.save()
    count = product.history.count()
    result = _revert(
        editor,
        product,
        {"historyId": str(first.history_id)},
        expected=str(latest.history_id),
    )
    assert result["__typename"] == "OperationInfo"
    assert result["messages"][0]["code"] == "CONFLICT"
    assert product.history.count() == count
    ok = _revert(
        editor,
        product,
        {"historyId": str(first.history_id)},
        expected=str(product.history.latest().history_id),
    )
    assert ok["__typename"] == "RevertProductPayload"


def test_revert_selected_fields_by_timestamp(editor: Any, user: Any) -> None:
    _, product = _history(user)
    first = product.history.earliest()
    product.name = "Garden hose"
    product.price = Decimal("30.00")
    product.save()
    result = _revert(
        editor, product, {"timestamp": first.history_date.isoformat()}, fields=["name"]
    )
    assert result["changes"] == [{"field": "name", "old": "Garden hose", "new": "Hose"}]
    assert result["product"]["price"] == "30.00"


def test_revert_restores_a_deleted_object_with_its_id(editor: Any, user: Any) -> None:
    _, product = _history(user)
    pk = product.pk
    before_delete = product.history.latest()
    product.delete()
    result = _revert(
        editor, before_delete.instance, {"historyId": str(before_delete.history_id)}
    )
    assert result["version"]["historyType"] == "CREATED"
    assert result["product"]["productId"] == str(pk)
    assert Product.objects.get(pk=pk).price == Decimal("25.00")


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ({"historyId": "999999"}, "NOT_FOUND"),
        ({"historyId": "x"}, "BAD_USER_INPUT"),
        ({"timestamp": "2001-01-01T00:00:00Z"}, "NOT_FOUND"),
    ],
)
def test_revert_bad_targets_come_back_as_operation_info(
    editor: Any, user: Any, to: Any, code: str
) -> None:
    _, product = _history(user)
    result = _revert(editor, product, to)
    assert result["__typename"] == "OperationInfo"
    assert result["messages"][0]["code"] == code


def test_revert_unknown_field_is_a_validation_message(editor: Any, user: Any) -> None:
    _, product = _history(user)
    first = product.history.earliest()
    result = _revert(
        editor, product, {"historyId": str(first.history_id)}, fields=["nope"]
    )
    assert result["messages"][0]["kind"] == "VALIDATION"
    assert "no tracked field named nope" in result["messages"][0]["message"]
