"""productAsOf, productsAsOf and productDiff over HTTP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from catalog.models import Product

AS_OF = """
query($id: ID!, $ts: DateTime!) { productAsOf(id: $id, timestamp: $ts) {
  historyId historyType price } }
"""
ALL_AS_OF = """
query($ts: DateTime!, $first: Int, $after: String) {
  productsAsOf(timestamp: $ts, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id name price historyId } }
  }
}
"""
DIFF = """
query($id: ID!, $from: VersionRef!, $to: VersionRef) {
  productDiff(id: $id, from: $from, to: $to) {
    from { historyId } to { historyId } changes { field old new }
  }
}
"""


def _iso(value: Any) -> str:
    return value.isoformat()  # type: ignore[no-any-return]


def test_as_of_is_inclusive_and_null_outside_life(viewer: Any) -> None:
    product = Product.objects.create(name="Fan", price=Decimal("5.00"))
    product.price = Decimal("6.00")
    product.save()
    created, updated = product.history.order_by("history_date", "history_id")
    pk = product.pk
    product.delete()
    deleted = Product.history.filter(id=pk, history_type="-").get()

    def as_of(ts: Any) -> Any:
        return viewer.data(AS_OF, {"id": str(pk), "ts": _iso(ts)})["productAsOf"]

    assert as_of(created.history_date - timedelta(microseconds=1)) is None
    assert as_of(created.history_date)["price"] == "5.00"
    assert as_of(updated.history_date)["historyId"] == str(updated.history_id)
    assert as_of(deleted.history_date - timedelta(microseconds=1))["price"] == "6.00"
    assert as_of(deleted.history_date) is None


def test_as_of_rejects_naive_and_impossible_timestamps(viewer: Any) -> None:
    naive = viewer.error(AS_OF, {"id": "1", "ts": "2024-01-01T10:00:00"})
    assert naive["extensions"]["code"] == "BAD_USER_INPUT"
    assert "has no time zone" in naive["message"]
    impossible = viewer(AS_OF, {"id": "1", "ts": "2024-13-45T10:00:00Z"})
    assert impossible["errors"] and impossible.get("data") is None


def test_products_as_of_each_once_deleted_left_out(viewer: Any) -> None:
    kept = [Product.objects.create(name=f"P{i}", price=Decimal(i)) for i in range(5)]
    for product in kept:
        product.price += 100
        product.save()
    gone = Product.objects.create(name="Gone", price=Decimal("1.00"))
    gone.delete()
    ts = Product.history.latest().history_date

    names: list[str] = []
    after = None
    while True:
        data = viewer.data(ALL_AS_OF, {"ts": _iso(ts), "first": 2, "after": after})
        connection = data["productsAsOf"]
        assert connection["totalCount"] == 5
        names += [e["node"]["name"] for e in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert names == [p.name for p in sorted(kept, key=lambda p: p.pk)]

    before_updates = kept[0].history.earliest().history_date
    first = viewer.data(ALL_AS_OF, {"ts": _iso(before_updates)})["productsAsOf"]
    assert [e["node"]["price"] for e in first["edges"]] == ["0.00"]


def test_diff_by_id_by_timestamp_and_default_latest(viewer: Any) -> None:
    product = Product.objects.create(name="Desk", price=Decimal("10.00"))
    product.price = Decimal("12.00")
    product.save()
    product.name = "Standing desk"
    product.save()
    first, second, third = product.history.order_by("history_date", "history_id")
    pk = str(product.pk)

    to_latest = viewer.data(
        DIFF, {"id": pk, "from": {"historyId": str(first.history_id)}}
    )
    diff = to_latest["productDiff"]
    assert diff["to"]["historyId"] == str(third.history_id)
    assert diff["changes"] == [
        {"field": "name", "old": "Desk", "new": "Standing desk"},
        {"field": "price", "old": "10.00", "new": "12.00"},
    ]
    by_time = viewer.data(
        DIFF,
        {
            "id": pk,
            "from": {"timestamp": _iso(first.history_date)},
            "to": {"timestamp": _iso(second.history_date)},
        },
    )["productDiff"]
    assert by_time["changes"] == [{"field": "price", "old": "10.00", "new": "12.00"}]


def test_diff_unknown_or_foreign_version_is_not_found(viewer: Any) -> None:
    mine = Product.objects.create(name="A", price=Decimal("1.00"))
    other = Product.objects.create(name="B", price=Decimal("1.00"))
    foreign = other.history.latest().history_id
    error = viewer.error(
        DIFF, {"id": str(mine.pk), "from": {"historyId": str(foreign)}}
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = viewer.error(DIFF, {"id": str(mine.pk), "from": {"historyId": "abc"}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    both = viewer.error(
        DIFF,
        {
            "id": str(mine.pk),
            "from": {"historyId": "1", "timestamp": "2024-01-01T00:00:00Z"},
        },
    )
    assert "exactly one" in both["message"].lower() or "oneOf" in both["message"]
