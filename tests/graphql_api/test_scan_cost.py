"""Query cost of the fields whose SQL reads a whole history table (or may)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql import parse

from catalog.models import Product
from graphql_api.cost import DEFAULT_MAX_COST, LOOKUP_COST, Cost, estimate_cost
from graphql_api.scans import ROWS_PER_UNIT, SCAN_COST, forget_table_sizes, scan_cost
from graphql_api.schema import get_schema
from history_core import get_history_for_model

pytestmark = pytest.mark.django_db

NOW = '"2100-01-01T00:00:00Z"'
COUNT_AS_OF = f"productsAsOf(timestamp: {NOW}) {{ totalCount }}"
PAGE = "{ edges { node { historyId } } }"


def _cost(query: str, rows: int = 1000, **variables: Any) -> Cost:
    sizes = lambda model: rows  # noqa: E731 - a one-line stand-in for table_rows
    return estimate_cost(get_schema()._schema, parse(query), None, variables, sizes)


def _aliased(field: str, times: int) -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(times)) + " }"


@pytest.fixture
def product(make_product: Any) -> Product:
    product = make_product(price=Decimal("1.00"))
    product.price = Decimal("2.00")
    product.save()
    return product


# -- over HTTP ---------------------------------------------------------------------


def test_fifteen_as_of_counts_are_refused_before_they_run(
    viewer: Any, product: Product, django_assert_max_num_queries: Any
) -> None:
    # session, user, and the table's size estimate: no as-of is computed
    with django_assert_max_num_queries(3):
        error = viewer.error(_aliased(COUNT_AS_OF, 15))
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["cost"] > DEFAULT_MAX_COST
    assert "totalCount" in error["message"]


def test_one_as_of_count_is_accepted(viewer: Any, product: Product) -> None:
    assert viewer.data("{ " + COUNT_AS_OF + " }")["productsAsOf"]["totalCount"] == 1


def test_a_scan_costs_with_the_size_of_its_table(viewer: Any, product: Product) -> None:
    query = "{ " + COUNT_AS_OF + " }"
    assert viewer.data(query)
    # A version with id 1,000,000: the estimate is the span of history ids.
    history = get_history_for_model(Product)
    last = history.for_object(product.pk).order_by("-history_id").first()
    last.history_id, last.history_date = 1_000_000, datetime(2030, 1, 1, tzinfo=UTC)
    history.bulk_create([last])
    forget_table_sizes()
    error = viewer.error(query)
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    # an index-bounded page of the same table is still accepted
    timeline = f'{{ productHistory(id: "{product.pk}", first: 100) {PAGE} }}'
    assert len(viewer.data(timeline)["productHistory"]["edges"]) == 3


def test_fifteen_feeds_filtered_on_an_unindexed_kind_are_refused(
    viewer: Any, product: Product
) -> None:
    updates = viewer.error(_aliased(f"historyFeed(types: UPDATED) {PAGE}", 15))
    assert updates["extensions"]["code"] == "QUERY_TOO_COSTLY"
    one_model = 'models: ["catalog.Product"]'
    creations = viewer.data(
        _aliased(f"historyFeed(types: [CREATED], {one_model}) {PAGE}", 15)
    )
    assert len(creations["a14"]["edges"]) == 1


# -- the estimate ------------------------------------------------------------------


def test_index_bounded_fields_cost_what_they_did_whatever_the_table_size() -> None:
    bounded = [
        f'productHistory(id: "1", first: 50, since: {NOW}, until: {NOW}) {PAGE}',
        f'productAsOf(id: "1", timestamp: {NOW}) {{ historyId }}',
        f"historyFeed(first: 50, since: {NOW}) {PAGE}",
        f'historyFeed(userId: "1", until: {NOW}) {PAGE}',
        f"historyFeed(types: [DELETED]) {PAGE}",
        f"historyFeed(types: CREATED) {PAGE}",
        'productDiff(id: "1", from: {historyId: "1"}) { changes { field } }',
    ]
    for field in bounded:
        small, large = _cost("{ " + field + " }"), _cost("{ " + field + " }", 10**7)
        assert small == large and small.scans == 0, field
    assert _cost(f'{{ productHistory(id: "1", first: 50) {PAGE} }}') == Cost(
        objects=1 + 50 * 2, lookups=1, fields=50
    )


def test_each_scan_is_counted_with_its_kind() -> None:
    rows = 1_000_000
    as_of, count = scan_cost("as_of", rows), scan_cost("count", rows)
    filtered = scan_cost("filter", rows)
    assert as_of == rows // ROWS_PER_UNIT["as_of"]
    # the page is ranked once, and once more for each totalCount
    assert _cost(f"{{ productsAsOf(timestamp: {NOW}) {PAGE} }}", rows).scans == as_of
    counted = f"{{ productsAsOf(timestamp: {NOW}) {{ a: totalCount b: totalCount }} }}"
    assert _cost(counted, rows).scans == 3 * as_of
    timeline = 'productHistory(id: "1"%s) { totalCount }'
    assert _cost("{ " + timeline % "" + " }", rows).scans == count
    assert _cost("{ " + timeline % ", types: [CREATED]" + " }", rows).scans == (
        2 * filtered
    )
    # the feed scans each model it reads: two here, one when narrowed
    feed = "{ historyFeed(types: [CREATED, DELETED], models: %s) { edges { cursor } } }"
    both = '["catalog.Product", "catalog.Category"]'
    assert _cost(feed % both, rows).scans == 2 * filtered
    assert _cost(feed % '"catalog.Product"', rows).scans == filtered
    by_user = (
        '{ historyFeed(types: [CREATED], userId: "1", models: ["catalog.Product"]) '
        "{ edges { cursor } } }"
    )
    assert _cost(by_user, rows).scans == filtered


def test_variables_and_skipped_counts_are_followed() -> None:
    query = (
        "query($t: [HistoryType!], $c: Boolean!) { "
        'historyFeed(types: $t, models: ["catalog.Product"]) { edges { cursor } } '
        f"productsAsOf(timestamp: {NOW}) {{ totalCount @include(if: $c) }} }}"
    )
    rows = 10**6
    as_of, filtered = scan_cost("as_of", rows), scan_cost("filter", rows)
    assert _cost(query, rows, t=["CREATED"], c=False).scans == as_of
    assert _cost(query, rows, t=None, c=True).scans == 2 * as_of
    assert _cost(query, rows, t=["UPDATED"], c=False).scans == as_of + filtered


def test_a_field_that_scans_costs_at_least_the_floor() -> None:
    assert scan_cost("count", 10) == 1
    assert _cost('{ productHistory(id: "1") { totalCount } }', 10).total == (
        1 + LOOKUP_COST + SCAN_COST + 1
    )
    # a feed over every tracked model: one floor for the field, not one per model
    assert _cost("{ historyFeed(types: UPDATED) { edges { cursor } } }", 10).scans == (
        SCAN_COST
    )


def test_a_tables_size_is_looked_up_once_not_per_request(
    viewer: Any, product: Product
) -> None:
    query = "{ " + COUNT_AS_OF + " }"
    with CaptureQueriesContext(connection) as first:
        viewer.data(query)
    with CaptureQueriesContext(connection) as second:
        viewer.data(query)

    def lookups(captured: Any) -> list[str]:
        sql = [q["sql"] for q in captured.captured_queries]
        return [q for q in sql if "MAX(" in q and "history_id" in q]

    assert len(lookups(first)) == 1
    assert lookups(second) == []
    assert len(first.captured_queries) == len(second.captured_queries) + 1
