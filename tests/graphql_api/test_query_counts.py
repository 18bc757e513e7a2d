"""No N+1: a page costs the same number of SQL queries whatever its size."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

import history_core
from catalog.models import Category, Product

PAGE = """
query($id: ID!, $first: Int!) {
  productHistory(id: $id, first: $first) {
    totalCount
    edges { node {
      historyId price display historyUser { username } changes { field old new }
      category { name display historyUser { username } }
      prevVersion { historyId changes { field } historyUser { username } }
      nextVersion { historyId }
    } }
  }
}
"""
AS_OF_PAGE = """
query($first: Int!) {
  productsAsOf(timestamp: "2100-01-01T00:00:00Z", first: $first) {
    edges { node { name historyUser { username } changes { field } category { name } } }
  }
}
"""
FEED_PAGE = """
query($first: Int!) {
  historyFeed(first: $first) {
    edges { node { historyId historyUser { username } changes { field }
                   ... on ProductVersion { category { name } } } }
  }
}
"""


@pytest.fixture(autouse=True)
def _budget_for_full_pages(settings: Any) -> None:
    """Pages of 100 with every nested lookup cost more than the default budget
    (test_cost.py checks it); batching is what these tests look at."""
    settings.GRAPHQL_API = {"MAX_COST": 10_000}


@pytest.fixture
def busy_history(db: Any) -> Product:
    users = [get_user_model().objects.create_user(f"u{i}") for i in range(5)]
    categories = [Category.objects.create(name=f"C{i}") for i in range(3)]
    product = Product.objects.create(name="Busy", price=Decimal("1.00"))
    for i in range(120):
        with history_core.context(user=users[i % 5]):
            product.price = Decimal(i + 2)
            product.category = categories[i % 3]
            product.save()
            Product.objects.create(
                name=f"Other {i}", price=Decimal(i), category=categories[0]
            )
    return product


def _count(client: Any, query: str, variables: dict[str, Any]) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as captured:
        data = client.data(query, variables)
    return len(captured.captured_queries), data


@pytest.mark.parametrize(
    "query", [PAGE, AS_OF_PAGE, FEED_PAGE], ids=["timeline", "asOf", "feed"]
)
def test_page_cost_does_not_grow_with_page_size(
    busy_history: Product, viewer: Any, query: str
) -> None:
    variables = {"id": str(busy_history.pk)}
    # a scan's cost needs its table's size, looked up once a minute: not per page
    _count(viewer, query, {**variables, "first": 1})
    small, _ = _count(viewer, query, {**variables, "first": 5})
    large, large_data = _count(viewer, query, {**variables, "first": 100})
    edges = next(iter(large_data.values()))["edges"]
    assert len(edges) == 100
    assert small == large, f"{small} queries for 5 rows but {large} for 100"
    assert large <= 20


def test_timeline_page_values_are_right_under_batching(
    busy_history: Product, viewer: Any
) -> None:
    _, data = _count(viewer, PAGE, {"id": str(busy_history.pk), "first": 100})
    records = list(busy_history.history.all()[:101])
    for edge, record, previous in zip(
        data["productHistory"]["edges"], records[:100], records[1:], strict=True
    ):
        node = edge["node"]
        assert node["historyId"] == str(record.history_id)
        assert node["prevVersion"]["historyId"] == str(previous.history_id)
        assert node["historyUser"]["username"] == f"u{(int(record.price) - 2) % 5}"
        assert node["category"]["name"] == f"C{(int(record.price) - 2) % 3}"
