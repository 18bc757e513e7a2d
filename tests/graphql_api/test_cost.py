"""Query cost and depth: estimated before execution, refused above the limits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from graphql import get_introspection_query, parse

from catalog.models import Category, Product
from graphql_api.cost import (
    DEFAULT_MAX_COST,
    FIELDS_PER_UNIT,
    LOOKUP_COST,
    Cost,
    estimate_cost,
)
from graphql_api.schema import MAX_DEPTH, get_schema
from history_core import get_registered_models

pytestmark = pytest.mark.django_db


def _cost(query: str, rows: int = 1000, **variables: Any) -> Cost:
    """The estimate, every history table taken as ``rows`` rows."""
    sizes = lambda model: rows  # noqa: E731 - a one-line stand-in for table_rows
    return estimate_cost(get_schema()._schema, parse(query), None, variables, sizes)


@pytest.fixture
def product() -> Product:
    category = Category.objects.create(name="Tools")
    product = Product.objects.create(name="Saw", price=Decimal("10.00"))
    for price in ("11.00", "12.00", "13.00"):
        product.price = Decimal(price)
        product.category = category
        product.save()
    return product


# -- depth: the documented 10 levels pass, 11 do not ----------------------------------


def _chain(levels: int, pk: Any) -> str:
    """A query ``levels`` fields deep: productHistory > edges > node > prevVersion..."""
    links = levels - 4  # productHistory, edges, node and the leaf historyId
    return (
        f'{{ productHistory(id: "{pk}") {{ edges {{ node {{ '
        + "prevVersion { " * links
        + "historyId"
        + " }" * links
        + " } } } }"
    )


def test_the_documented_depth_is_accepted(viewer: Any, product: Product) -> None:
    data = viewer.data(_chain(MAX_DEPTH, product.pk))
    assert data["productHistory"]["edges"]


def test_one_level_more_is_refused(viewer: Any, product: Product) -> None:
    error = viewer.error(_chain(MAX_DEPTH + 1, product.pk))
    assert error["message"] == "'anonymous' exceeds maximum operation depth of 10"


def _chain_of_fragments(levels: int, pk: Any) -> str:
    """:func:`_chain`, each prevVersion in a named fragment, inside an inline one."""
    links = levels - 4
    fragments = " ".join(
        f"fragment L{k} on ProductVersion {{ ... on ProductVersion {{ "
        f"prevVersion {{ ...L{k + 1} }} }} }}"
        for k in range(links)
    )
    return (
        f'{{ productHistory(id: "{pk}") {{ edges {{ node {{ ...L0 }} }} }} }} '
        f"{fragments} fragment L{links} on ProductVersion {{ historyId }}"
    )


def test_depth_counts_through_fragments(viewer: Any, product: Product) -> None:
    assert viewer.data(_chain_of_fragments(MAX_DEPTH, product.pk))
    error = viewer.error(_chain_of_fragments(MAX_DEPTH + 1, product.pk))
    assert "exceeds maximum operation depth of 10" in error["message"]


def test_introspection_passes_every_limit(viewer: Any) -> None:
    data = viewer.data(get_introspection_query())
    assert data["__schema"]["queryType"]["name"] == "Query"


# -- the estimate ---------------------------------------------------------------------

PAGE = '{ productHistory(id: "1"%s) { edges { node { historyId } } } }'


def test_each_object_costs_one_and_each_lookup_a_fixed_amount() -> None:
    assert _cost("{ me { username } }") == Cost(objects=1, lookups=1, fields=1)
    assert _cost("{ me { username } }").total == 1 + LOOKUP_COST + 1
    assert _cost("{ csrfToken }") == Cost(fields=1)
    assert _cost("{ __typename }") == Cost()


def test_scalar_fields_cost_a_third_each_per_object() -> None:
    one = '{ productHistory(id: "1", first: 30) { edges { node { historyId } } } }'
    three = one.replace("historyId", "historyId historyDate price")
    assert _cost(one).fields == 30 and _cost(three).fields == 90
    assert _cost(three).total - _cost(one).total == 60 // FIELDS_PER_UNIT


def test_a_page_multiplies_its_edges_not_its_lookups() -> None:
    # productHistory 1, then per row an edge and its node
    assert _cost(PAGE % ", first: 50") == Cost(objects=1 + 50 * 2, lookups=1, fields=50)
    assert _cost(PAGE % ", last: 7") == Cost(objects=1 + 7 * 2, lookups=1, fields=7)


def test_the_page_size_defaults_to_20_and_is_capped_at_100() -> None:
    assert _cost(PAGE % "") == _cost(PAGE % ", first: 20")
    assert _cost(PAGE % ", first: 5000") == _cost(PAGE % ", first: 100")


def test_a_page_size_may_come_from_a_variable_or_its_default() -> None:
    query = (
        'query($n: Int = 30) { productHistory(id: "1", first: $n) '
        "{ edges { node { historyId } } } }"
    )
    assert _cost(query) == _cost(PAGE % ", first: 30")
    assert _cost(query, n=70) == _cost(PAGE % ", first: 70")


def test_fragments_cost_what_their_fields_cost() -> None:
    inline = '{ productHistory(id: "1") { edges { node { prevVersion { name } } } } }'
    named = (
        '{ productHistory(id: "1") { edges { node { ...F } } } } '
        "fragment F on ProductVersion { prevVersion { ...G } } "
        "fragment G on ProductVersion { ... on ProductVersion { name } }"
    )
    assert _cost(named) == _cost(inline)


def test_fields_merged_by_execution_are_counted_once() -> None:
    assert _cost("{ me { id } me { username } }") == _cost("{ me { id username } }")
    assert _cost("{ a: me { id } b: me { id } }").objects == 2


def test_skipped_selections_are_free() -> None:
    query = "query($s: Boolean!) { me @skip(if: $s) { id } }"
    assert _cost(query, s=True) == Cost()  # nothing is left to run
    assert _cost(query, s=False) == _cost("{ me { id } }")
    assert _cost("{ me @include(if: false) { id } }") == Cost()


def test_an_interface_returns_its_largest_type_and_looks_up_for_each() -> None:
    feed = (
        '{ historyFeed(first: 10, models: ["catalog.Product", "catalog.Category"]) '
        "{ edges { node { "
        "... on ProductVersion { prevVersion { historyId } category { historyId } } "
        "... on CategoryVersion { prevVersion { historyId } } } } } }"
    )
    # per row: edge, node, prevVersion, category (a product); lookups: the feed
    # (one per model), the products' prevVersion and category, the categories'
    # prevVersion
    assert _cost(feed) == Cost(objects=1 + 10 * 4, lookups=2 + 3, fields=10 * 2)


def test_the_feed_looks_up_each_model_it_reads() -> None:
    feed = "{ historyFeed%s { edges { cursor } } }"
    every = len(get_registered_models())  # the feed reads every tracked model
    assert every > 2
    assert _cost(feed % "").lookups == every
    assert _cost(feed % '(models: ["catalog.Product"])').lookups == 1


def test_version_links_at_every_level_double_the_cost() -> None:
    def doubling(levels: int) -> str:
        fragments = " ".join(
            f"fragment L{k} on ProductVersion {{ historyId "
            f"prevVersion {{ ...L{k + 1} }} nextVersion {{ ...L{k + 1} }} }}"
            for k in range(levels)
        )
        return (
            '{ productAsOf(id: "1", timestamp: "2025-01-01T00:00:00Z") { ...L0 } } '
            f"{fragments} fragment L{levels} on ProductVersion {{ historyId }}"
        )

    # productAsOf, then 2 + 4 + ... + 2**levels linked versions, each a lookup
    for levels in (1, 3, 6):
        links = 2 ** (levels + 1) - 2
        assert _cost(doubling(levels)) == Cost(
            objects=1 + links, lookups=1 + links, fields=1 + links
        )


# -- over HTTP ---------------------------------------------------------------------------

ATTACK = (
    "query Attack { "
    + " ".join(
        f"a{i}: historyFeed(first: 100) {{ edges {{ node {{ ...P0 }} }} }}"
        for i in range(15)
    )
    + " } "
    + " ".join(
        f"fragment P{k} on ProductVersion {{ historyId "
        f"prevVersion {{ ...P{k + 1} }} nextVersion {{ ...P{k + 1} }} }}"
        for k in range(6)
    )
    + " fragment P6 on ProductVersion { historyId }"
)


def test_the_prev_next_attack_is_refused_before_it_runs(
    viewer: Any, product: Product, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(3):  # session and user: no history read
        result = viewer(ATTACK)
    assert result.get("data") is None
    [error] = result["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    cost = _cost(ATTACK).total
    assert error["extensions"]["cost"] == cost
    assert error["extensions"]["maxCost"] == DEFAULT_MAX_COST
    assert f"{cost:,}" in error["message"]
    assert f"{DEFAULT_MAX_COST:,}" in error["message"]


def test_the_budget_comes_from_the_settings(
    viewer: Any, product: Product, settings: Any
) -> None:
    query = _chain(6, product.pk)
    settings.GRAPHQL_API = {"MAX_COST": _cost(query).total}
    assert viewer.data(query)["productHistory"]["edges"]
    settings.GRAPHQL_API = {"MAX_COST": _cost(query).total - 1}
    assert viewer.error(query)["extensions"]["code"] == "QUERY_TOO_COSTLY"


def test_a_full_page_with_everything_fits_the_budget(
    viewer: Any, product: Product
) -> None:
    query = f"""{{ productHistory(id: "{product.pk}", first: 100) {{
      totalCount pageInfo {{ hasNextPage endCursor }}
      edges {{ cursor node {{
        historyId historyDate price historyUser {{ username }} changes {{ field }}
        category {{ name prevVersion {{ name }} }}
        prevVersion {{ price changes {{ field old new }} }} nextVersion {{ price }}
      }} }}
    }} }}"""
    assert _cost(query).total <= DEFAULT_MAX_COST
    # its totalCount counts versions of one object, which may be the whole table:
    # on 1,000,000 rows, the page fits without it
    counted = _cost(query, rows=1_000_000).total
    assert counted > DEFAULT_MAX_COST
    page = query.replace("totalCount ", "")
    assert _cost(page, rows=1_000_000).total <= DEFAULT_MAX_COST
    assert len(viewer.data(query)["productHistory"]["edges"]) == 4
