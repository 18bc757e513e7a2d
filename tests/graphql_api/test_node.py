"""Relay ids: every version and live object is a Node with its own global id.

A version's ``id`` used to be its object's primary key, so a normalized client cache
(Apollo, urql) kept one entry per product and showed one version for all of them.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Category, Product
from graphql_api.types import global_id
from tests.testapp.models import Node as NodeModel
from tests.testapp.models import Sku

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on ProductVersion { historyId objectId productId price category { id name } }
    ... on Product { productId name price }
    ... on SkuVersion { historyId code stock }
    ... on Sku { code stock }
    ... on TestappNodeVersion { historyId testappNodeId label }
  }
}
"""


def _product(prices: tuple[str, ...] = ("1.00", "2.00", "3.00")) -> Product:
    product = Product.objects.create(name="Lamp", price=Decimal(prices[0]))
    for price in prices[1:]:
        product.price = Decimal(price)
        product.save()
    return product


def _node(client: Any, node_id: str) -> dict[str, Any]:
    return client(NODE, {"id": node_id})  # type: ignore[no-any-return]


def test_versions_have_distinct_opaque_ids(viewer: Any) -> None:
    product = _product()
    data = viewer.data(
        "query($id: ID!) { productHistory(id: $id) { edges { node "
        "{ id historyId objectId productId } } } }",
        {"id": str(product.pk)},
    )
    nodes = [e["node"] for e in data["productHistory"]["edges"]]
    assert len({n["id"] for n in nodes}) == 3
    for node in nodes:
        decoded = base64.b64decode(node["id"]).decode()
        assert decoded == f"ProductVersion:{node['historyId']}"
        assert node["objectId"] == node["productId"] == str(product.pk)


def test_node_refetches_a_version_and_a_live_object(viewer: Any) -> None:
    category = Category.objects.create(name="Lights")
    product = _product()
    product.category = category
    product.save()
    oldest = product.history.earliest()
    version = _node(viewer, global_id("ProductVersion", oldest.history_id))
    assert version == {
        "data": {
            "node": {
                "__typename": "ProductVersion",
                "id": global_id("ProductVersion", oldest.history_id),
                "historyId": str(oldest.history_id),
                "objectId": str(product.pk),
                "productId": str(product.pk),
                "price": "1.00",
                "category": None,  # no category yet at that version
            }
        }
    }
    newest = product.history.latest()
    related = _node(viewer, global_id("ProductVersion", newest.history_id))
    category_version = category.history.latest()
    assert related["data"]["node"]["category"] == {
        "id": global_id("CategoryVersion", category_version.history_id),
        "name": "Lights",
    }
    live = _node(viewer, global_id("Product", product.pk))
    assert live == {
        "data": {
            "node": {
                "__typename": "Product",
                "id": global_id("Product", product.pk),
                "productId": str(product.pk),
                "name": "Lamp",
                "price": "3.00",
            }
        }
    }


def test_ids_of_other_key_kinds(make_client: Any) -> None:
    client = make_client("view_sku", "view_node", username="keys")
    sku = Sku.objects.create(code="A:1/β", stock=3)
    version = sku.history.latest()
    assert _node(client, global_id("Sku", "A:1/β"))["data"]["node"] == {
        "__typename": "Sku",
        "id": global_id("Sku", "A:1/β"),
        "code": "A:1/β",
        "stock": 3,
    }
    found = _node(client, global_id("SkuVersion", version.history_id))["data"]["node"]
    assert found["code"] == "A:1/β" and found["historyId"] == str(version.history_id)
    # testapp.Node would take the name of the Node interface: it gets its app's prefix.
    node = NodeModel.objects.create(label="root")
    record = node.history.latest()
    found = _node(client, global_id("TestappNodeVersion", record.history_id))
    assert found["data"]["node"] == {
        "__typename": "TestappNodeVersion",
        "id": global_id("TestappNodeVersion", record.history_id),
        "historyId": str(record.history_id),
        "testappNodeId": str(node.pk),
        "label": "root",
    }


def test_unknown_ids_are_null(viewer: Any) -> None:
    product = _product(("1.00",))
    product_id = product.pk
    product.delete()
    assert _node(viewer, global_id("ProductVersion", 10**12)) == {
        "data": {"node": None}
    }
    assert _node(viewer, global_id("Product", product_id)) == {"data": {"node": None}}
    assert _node(viewer, global_id("Product", 10**12)) == {"data": {"node": None}}
    # the deleted product's versions stay reachable
    deleted = Product.history.filter(id=product_id).latest()
    found = _node(viewer, global_id("ProductVersion", deleted.history_id))
    assert found["data"]["node"]["historyId"] == str(deleted.history_id)


MALFORMED = [
    "1",  # a primary key is not a Node id
    "not base64!",
    base64.b64encode(b"ProductVersion").decode(),  # no key
    base64.b64encode(b":1").decode(),  # no type
    base64.b64encode(b"ProductVersion:").decode(),
    base64.b64encode(b"ProductVersion:abc").decode(),
    base64.b64encode(b"ProductVersion:-1").decode(),
    base64.b64encode(b"ProductVersion:1_0").decode(),
    base64.b64encode(f"ProductVersion:{2**70}".encode()).decode(),
    base64.b64encode(b"Product:x").decode(),
    base64.b64encode(b"Product:1\x00").decode(),
    base64.b64encode(b"PageInfo:1").decode(),  # a type, but not a Node
    base64.b64encode(b"Version:1").decode(),  # an interface
    base64.b64encode(b"Nope:1").decode(),
    base64.b64encode(b"\xff\xfe:1").decode(),  # not UTF-8
    "QUJD" * 200,  # too long
    "",
]


@pytest.mark.parametrize("node_id", MALFORMED)
def test_malformed_ids_are_bad_user_input(viewer: Any, node_id: str) -> None:
    result = _node(viewer, node_id)
    assert result["data"] == {"node": None}
    error = result["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "Malformed id: pass the id of an object from this API."


@pytest.mark.parametrize(
    ("perms", "code"),
    [(None, "UNAUTHENTICATED"), ((), "FORBIDDEN"), (("view_category",), "FORBIDDEN")],
    ids=["anonymous", "no-permission", "other-model"],
)
def test_node_needs_the_view_permission_and_tells_nothing(
    make_client: Any, perms: Any, code: str
) -> None:
    product = _product()
    client = make_client(*perms, username="u") if perms is not None else make_client()
    existing = global_id("ProductVersion", product.history.latest().history_id)
    missing = global_id("ProductVersion", 10**12)
    answers = [
        _node(client, node_id)
        for node_id in (
            existing,
            missing,
            global_id("Product", product.pk),
            global_id("Product", 10**12),
        )
    ]
    for answer in answers:
        assert answer["data"] == {"node": None}
        assert answer["errors"][0]["extensions"]["code"] == code
    # the same answer whether the version exists or not
    assert answers[0]["errors"][0]["message"] == answers[1]["errors"][0]["message"]
    assert answers[2]["errors"][0]["message"] == answers[3]["errors"][0]["message"]


def test_node_checks_permission_before_any_lookup(
    make_client: Any, queries: Any
) -> None:
    product = _product()
    node_id = global_id("ProductVersion", product.history.latest().history_id)
    for perms, looked_up in (((), False), (("view_product",), True)):
        client = make_client(*perms, username=f"u{len(perms)}")
        with queries() as captured:
            _node(client, node_id)
        sql = " ".join(q["sql"].lower() for q in captured.captured_queries)
        assert ("historicalproduct" in sql) is looked_up


def test_feed_versions_and_diff_sides_have_their_own_ids(viewer: Any) -> None:
    product = _product()
    oldest, newest = product.history.earliest(), product.history.latest()
    diff = viewer.data(
        "query($id: ID!, $h: ID!) { productDiff(id: $id, from: {historyId: $h}) "
        "{ from { id } to { id } } }",
        {"id": str(product.pk), "h": str(oldest.history_id)},
    )["productDiff"]
    assert diff == {
        "from": {"id": global_id("ProductVersion", oldest.history_id)},
        "to": {"id": global_id("ProductVersion", newest.history_id)},
    }
    feed = viewer.data("{ historyFeed { edges { node { __typename id historyId } } } }")
    for edge in feed["historyFeed"]["edges"]:
        node = edge["node"]
        assert node["id"] == global_id(node["__typename"], node["historyId"])


def test_revert_payload_ids(editor: Any) -> None:
    product = _product()
    oldest = product.history.earliest()
    result = editor.data(
        "mutation($id: ID!, $h: ID!) { revertProduct(id: $id, to: {historyId: $h}) "
        "{ ... on RevertProductPayload { product { id productId price } "
        "version { id historyId price } } } }",
        {"id": str(product.pk), "h": str(oldest.history_id)},
    )["revertProduct"]
    written = product.history.latest()
    assert result == {
        "product": {
            "id": global_id("Product", product.pk),
            "productId": str(product.pk),
            "price": "1.00",
        },
        "version": {
            "id": global_id("ProductVersion", written.history_id),
            "historyId": str(written.history_id),
            "price": "1.00",
        },
    }
