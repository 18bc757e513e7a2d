"""productHistory over HTTP: fields, pagination, filters and input errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import history_core
from catalog.models import Category, Product
from graphql_api.types import global_id

TIMELINE = """
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String,
      $since: DateTime, $until: DateTime, $types: [HistoryType!]) {
  productHistory(id: $id, first: $first, after: $after, last: $last, before: $before,
                 since: $since, until: $until, types: $types) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node {
      __typename historyId historyType price name changedFields historyChangeReason
      historyContext model objectId id productId categoryId
      historyUser { id username }
      changes { field old new }
      category { historyId name }
      prevVersion { historyId price }
      nextVersion { historyId }
    } }
  }
}
"""


def _product_with_versions(count: int, **kwargs: Any) -> Product:
    product = Product.objects.create(name="Lamp", price=Decimal("1.00"), **kwargs)
    for i in range(2, count + 1):
        product.price = Decimal(i)
        product.save()
    return product


def _ids(result: dict[str, Any]) -> list[int]:
    return [int(e["node"]["historyId"]) for e in result["productHistory"]["edges"]]


def test_timeline_fields_newest_first(viewer: Any, user: Any) -> None:
    category = Category.objects.create(name="Lights")
    with history_core.context(user=user, reason="pricing", ticket="T-9"):
        product = _product_with_versions(3, category=category)
    category.name = "Lighting"  # renamed after every product version
    category.save()
    records = list(product.history.all())

    data = viewer.data(TIMELINE, {"id": str(product.pk)})
    connection = data["productHistory"]
    assert connection["totalCount"] == 3
    assert _ids(data) == [r.history_id for r in records]
    newest = connection["edges"][0]["node"]
    assert newest["__typename"] == "ProductVersion"
    assert newest["historyType"] == "UPDATED"
    assert newest["price"] == "3.00"
    assert newest["changedFields"] == ["price"]
    assert newest["changes"] == [{"field": "price", "old": "2.00", "new": "3.00"}]
    assert newest["historyUser"] == {"id": str(user.pk), "username": "alice"}
    assert newest["historyChangeReason"] == "pricing"
    assert newest["historyContext"]["ticket"] == "T-9"
    assert newest["model"] == "catalog.Product"
    assert newest["objectId"] == newest["productId"] == str(product.pk)
    # id is the version's own Node id: one cache entry per version, not per product
    ids = [e["node"]["id"] for e in connection["edges"]]
    assert ids == [global_id("ProductVersion", r.history_id) for r in records]
    assert newest["categoryId"] == str(category.pk)
    assert newest["category"]["name"] == "Lights"  # the category as it was then
    assert newest["prevVersion"] == {
        "historyId": str(records[1].history_id),
        "price": "2.00",
    }
    assert newest["nextVersion"] is None
    oldest = connection["edges"][-1]["node"]
    assert oldest["historyType"] == "CREATED"
    assert oldest["changes"] == []
    assert oldest["prevVersion"] is None


def test_forward_and_backward_pages(viewer: Any) -> None:
    product = _product_with_versions(7)
    every = [r.history_id for r in product.history.all()]
    seen: list[int] = []
    after = None
    while True:
        page = viewer.data(
            TIMELINE, {"id": str(product.pk), "first": 3, "after": after}
        )
        seen += _ids(page)
        info = page["productHistory"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == every

    last = viewer.data(TIMELINE, {"id": str(product.pk), "last": 2})
    assert _ids(last) == every[-2:]
    assert last["productHistory"]["pageInfo"]["hasPreviousPage"] is True
    start = last["productHistory"]["pageInfo"]["startCursor"]
    before = viewer.data(TIMELINE, {"id": str(product.pk), "last": 2, "before": start})
    assert _ids(before) == every[-4:-2]


def test_pages_stay_right_while_versions_arrive(viewer: Any) -> None:
    product = _product_with_versions(4)
    every = [r.history_id for r in product.history.all()]
    first = viewer.data(TIMELINE, {"id": str(product.pk), "first": 2})
    product.price = Decimal("99.00")
    product.save()  # a new version arrives between the two pages
    cursor = first["productHistory"]["pageInfo"]["endCursor"]
    second = viewer.data(TIMELINE, {"id": str(product.pk), "first": 2, "after": cursor})
    assert _ids(first) + _ids(second) == every
    assert second["productHistory"]["pageInfo"]["hasNextPage"] is False


def test_filters_since_until_and_types(viewer: Any) -> None:
    product = _product_with_versions(3)
    oldest, middle, newest = product.history.order_by("history_date", "history_id")
    product.delete()
    variables = {"id": str(oldest.object_id)}
    deleted = viewer.data(TIMELINE, {**variables, "types": ["DELETED"]})
    assert [e["node"]["historyType"] for e in deleted["productHistory"]["edges"]] == [
        "DELETED"
    ]
    window = viewer.data(
        TIMELINE,
        {
            **variables,
            "since": middle.history_date.isoformat(),
            "until": newest.history_date.isoformat(),
        },
    )
    assert _ids(window) == [newest.history_id, middle.history_id]
    assert window["productHistory"]["totalCount"] == 2


def test_timeline_of_a_deleted_object(viewer: Any) -> None:
    product = _product_with_versions(2)
    pk = product.pk
    product.delete()
    data = viewer.data(TIMELINE, {"id": str(pk)})
    assert data["productHistory"]["totalCount"] == 3
    assert data["productHistory"]["edges"][0]["node"]["historyType"] == "DELETED"


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"id": "not-a-number"}, "Malformed catalog.Product id"),
        ({"id": str(2**70)}, "Malformed catalog.Product id"),
        ({"id": "1", "first": 101}, "between 0 and 100"),
        ({"id": "1", "first": -1}, "between 0 and 100"),
        ({"id": "1", "first": 2, "last": 2}, "either first or last"),
        ({"id": "1", "after": "bm9wZQ=="}, "Malformed cursor"),
        ({"id": "1", "after": "%%%"}, "Malformed cursor"),
        ({"id": "1", "since": "2024-01-01T00:00:00"}, "has no time zone"),
    ],
)
def test_bad_input_is_a_clear_error(viewer: Any, variables: Any, fragment: str) -> None:
    error = viewer.error(TIMELINE, variables)
    assert fragment in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_impossible_timestamp_is_an_error_not_a_500(viewer: Any) -> None:
    error = viewer.error(TIMELINE, {"id": "1", "since": "2024-02-30T00:00:00Z"})
    assert "DateTime" in error["message"] or "day is out of range" in error["message"]
