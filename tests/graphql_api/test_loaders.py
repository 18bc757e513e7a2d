"""Batched lookups on a feed page that mixes models.

``history_id`` is unique within one model's history only: a Product version and a
Category version may share it. Lookups batched over a page are keyed by model too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from catalog.models import Category, Product

FEED = """
{
  historyFeed(
    first: 100, models: ["catalog.Product", "catalog.Category"], types: [UPDATED]
  ) {
    edges { node {
      __typename id historyId objectId
      changes { field old new }
      ... on ProductVersion {
        prevVersion { historyId objectId }
        nextVersion { historyId }
      }
      ... on CategoryVersion {
        prevVersion { historyId objectId }
        nextVersion { historyId }
      }
    } }
  }
}
"""


def _advance(model: Any, target: int, **values: Any) -> None:
    """Write versions of ``model`` until its next history_id is ``target``.

    The fillers are creations: the feed leaves them out with ``types: [UPDATED]``.
    """
    latest = model.history.order_by("-history_id").first()
    gap = target - (latest.history_id + 1 if latest else 1)
    if gap > 0:  # one set-based insert: consecutive history ids
        model.objects.bulk_create(
            [model(**{k: f"{v}{i}" for k, v in values.items()}) for i in range(gap)]
        )


def test_versions_of_two_models_with_one_history_id(viewer: Any) -> None:
    product = Product.objects.create(name="Lamp", price=Decimal("1.00"))
    category = Category.objects.create(name="Lights")
    product.price = Decimal("2.00")
    product.save()
    target = product.history.latest().history_id
    _advance(Category, target, name="filler ")
    category.name = "Lighting"
    category.save()
    renamed = category.history.latest()
    if renamed.history_id < target:  # the category history was ahead: swap roles
        _advance(Product, renamed.history_id + 1, name="filler ", price="1")
        product.price = Decimal("3.00")
        product.save()
    product_version = product.history.latest()
    assert product_version.history_id == renamed.history_id, "ids should collide"

    edges = viewer.data(FEED)["historyFeed"]["edges"]
    nodes = {
        (e["node"]["__typename"], e["node"]["historyId"]): e["node"] for e in edges
    }
    shared = str(renamed.history_id)
    on_product = nodes[("ProductVersion", shared)]
    on_category = nodes[("CategoryVersion", shared)]
    assert on_product["id"] != on_category["id"]
    assert on_product["objectId"] == str(product.pk)
    assert [c["field"] for c in on_product["changes"]] == ["price"]
    assert on_product["prevVersion"] == {
        "historyId": str(product_version.prev_record.history_id),
        "objectId": str(product.pk),
    }
    assert on_category["changes"] == [
        {"field": "name", "old": "Lights", "new": "Lighting"}
    ]
    assert on_category["prevVersion"] == {
        "historyId": str(renamed.prev_record.history_id),
        "objectId": str(category.pk),
    }
    assert on_product["nextVersion"] is None and on_category["nextVersion"] is None
