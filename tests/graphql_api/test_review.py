"""Review findings in graphql_api: each test pins a bug found and fixed."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.db import connection

from tests.testapp.models import Sku

ON_SQLITE = connection.vendor == "sqlite"
ON_POSTGRES = connection.vendor == "postgresql"


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode()


def _code(result: dict[str, Any]) -> Any:
    assert result.get("errors"), result
    return result["errors"][0].get("extensions", {}).get("code")


def test_related_versions_need_the_related_models_view_permission(
    make_client: Any, make_category: Any, make_product: Any
) -> None:
    category = make_category(name="Secret", description="classified")
    product = make_product(category=category)
    client = make_client("view_product", username="product-only")
    result = client(
        "query($id: ID!) { productHistory(id: $id) "
        "{ edges { node { category { description } } } } }",
        {"id": str(product.pk)},
    )
    leaked = (result.get("data") or {}).get("productHistory") or {"edges": []}
    assert all(e["node"]["category"] is None for e in leaked["edges"]), result


def test_feed_resolves_related_versions_on_a_mixed_page(
    viewer: Any, make_category: Any, make_product: Any
) -> None:
    make_product(category=make_category(name="Tools"))
    data = viewer.data(
        "{ historyFeed { edges { node { model "
        "... on ProductVersion { category { name } } } } } }"
    )
    nodes = [e["node"] for e in data["historyFeed"]["edges"]]
    assert {"model": "catalog.Product", "category": {"name": "Tools"}} in nodes


def test_as_of_cursor_with_a_key_of_the_wrong_type_is_bad_input(
    viewer: Any, make_product: Any
) -> None:
    make_product()
    result = viewer(
        'query($after: String) { productsAsOf(timestamp: "2100-01-01T00:00:00Z", '
        "after: $after) { totalCount } }",
        {"after": _cursor("o", "abc")},
    )
    assert _code(result) == "BAD_USER_INPUT"


def test_extreme_timestamps_are_not_unexpected_errors(
    viewer: Any, make_product: Any
) -> None:
    product = make_product()
    early = "0001-01-01T00:00:00+01:00"
    variables = {
        "id": str(product.pk),
        "ts": early,
        "after": _cursor("f", early, "catalog.Product", 1),
    }
    queries = [
        "query($id: ID!, $ts: DateTime!) { productAsOf(id: $id, timestamp: $ts) { id } }",
        "query($id: ID!, $ts: DateTime) "
        "{ productHistory(id: $id, since: $ts) { totalCount } }",
        "query($after: String) { historyFeed(after: $after) { edges { cursor } } }",
    ]
    for query in queries:
        used = {k: v for k, v in variables.items() if f"${k}" in query}
        result = viewer(query, used)
        assert not result.get("errors") or _code(result) == "BAD_USER_INPUT", result


def test_nul_in_a_string_id_is_bad_input(make_client: Any) -> None:
    Sku.objects.create(code="A1")
    client = make_client("view_sku", username="stock")
    result = client('{ skuHistory(id: "A\\u0000") { totalCount } }')
    assert not result.get("errors") or _code(result) == "BAD_USER_INPUT", result
