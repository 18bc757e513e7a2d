"""What generic frontends read: trackedModel(s) metadata and each version's display.

The version history page builds its documents from this metadata
(``graphql_api/static/graphql_api/history/queries.js``); the last tests run those
very documents (built by Node) for their SQL query count and their cost.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql import parse

import history_core
from catalog.models import Category, Product
from graphql_api import builder
from graphql_api.cost import estimate_cost
from graphql_api.schema import get_schema

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
QUERIES_JS = ROOT / "graphql_api" / "static" / "graphql_api" / "history" / "queries.js"

MODEL = """query($label: String!) { trackedModel(label: $label) {
  label verboseName verboseNamePlural typeName historyField asOfField diffField
  revertField canRevert canRestore fields
  fieldInfo { name label kind primaryKey helpText decimalPlaces
              choices { value label } relatedModel relatedField }
} }"""


def _fields(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in model["fieldInfo"]}


def test_a_model_is_described_for_generic_frontends(viewer: Any) -> None:
    model = viewer.data(MODEL, {"label": "CATALOG.product"})["trackedModel"]
    assert model["label"] == "catalog.Product"
    assert (model["verboseName"], model["verboseNamePlural"]) == (
        "product",
        "products",
    )
    assert (model["historyField"], model["asOfField"], model["diffField"]) == (
        "productHistory",
        "productAsOf",
        "productDiff",
    )
    assert model["revertField"] == "revertProduct"
    assert model["typeName"] == "ProductVersion"
    fields = _fields(model)
    # fields also lists the related versions' fields (category), fieldInfo does not.
    assert [f["name"] for f in model["fieldInfo"]] == [
        name for name in model["fields"] if name != "category"
    ]
    assert fields["productId"]["primaryKey"] is True
    assert fields["productId"]["kind"] == "INTEGER"
    assert fields["price"] == {
        "name": "price",
        "label": "price",
        "kind": "DECIMAL",
        "primaryKey": False,
        "helpText": "",
        "decimalPlaces": 2,
        "choices": [],
        "relatedModel": None,
        "relatedField": None,
    }
    assert fields["description"]["kind"] == "TEXT"
    assert fields["name"]["kind"] == "STRING"
    category = fields["categoryId"]
    assert (category["kind"], category["label"]) == ("FOREIGN_KEY", "category")
    assert (category["relatedModel"], category["relatedField"]) == (
        "catalog.Category",
        "category",
    )


def test_kinds_of_the_test_models(make_client: Any) -> None:
    superuser = make_client(username="root")
    get_user_model().objects.filter(username="root").update(is_superuser=True)
    models = {
        m["label"]: _fields(m)
        for m in superuser.data(
            "{ trackedModels { label fieldInfo { name kind relatedModel "
            "relatedField } } }"
        )["trackedModels"]
    }
    document = models["testapp.Document"]
    assert document["updatedAt"]["kind"] == "DATETIME"
    assert document["version"]["kind"] == "INTEGER"
    assert models["testapp.Sku"]["token"]["kind"] == "UUID"
    assert models["testapp.Sku"]["code"]["kind"] == "STRING"
    user = models["auth.User"]
    assert user["isActive"]["kind"] == "BOOLEAN"
    # A foreign key to an untracked model names it, with no version field to follow.
    ticket = models["testapp.Ticket"]["queueId"]
    assert ticket == {
        "name": "queueId",
        "kind": "FOREIGN_KEY",
        "relatedModel": "testapp.Queue",
        "relatedField": None,
    }
    # A tracked child's parent link is its key, of the parent's key's kind.
    assert models["testapp.Notice"]["untrackedPtrId"]["kind"] == "INTEGER"


@pytest.mark.parametrize(
    ("client", "can_revert", "can_restore"),
    [("viewer", False, False), ("editor", True, True)],
)
def test_revert_rights_are_the_callers(
    request: pytest.FixtureRequest, client: str, can_revert: bool, can_restore: bool
) -> None:
    caller = request.getfixturevalue(client)
    model = caller.data(MODEL, {"label": "catalog.Product"})["trackedModel"]
    assert (model["canRevert"], model["canRestore"]) == (can_revert, can_restore)
    listed = caller.data("{ trackedModels { label canRestore } }")["trackedModels"]
    assert {"label": "catalog.Product", "canRestore": can_restore} in listed


def test_change_without_add_may_revert_but_not_restore(make_client: Any) -> None:
    caller = make_client("view_product", "change_product", username="changer")
    model = caller.data(MODEL, {"label": "catalog.Product"})["trackedModel"]
    assert (model["canRevert"], model["canRestore"]) == (True, False)


@pytest.mark.parametrize(
    ("client", "label", "code"),
    [
        ("anonymous", "catalog.Product", "UNAUTHENTICATED"),
        ("nobody", "catalog.Product", "FORBIDDEN"),
        ("viewer", "catalog.Gadget", "NOT_FOUND"),
        ("viewer", "testapp.Untracked", "NOT_FOUND"),
    ],
)
def test_a_model_the_caller_may_not_read_is_refused(
    request: pytest.FixtureRequest, client: str, label: str, code: str
) -> None:
    error = request.getfixturevalue(client).error(MODEL, {"label": label})
    assert error["extensions"]["code"] == code


DISPLAY = """query($id: ID!) { productHistory(id: $id) { edges { node {
  display category { display }
} } } }"""


def test_versions_show_the_object_as_it_was(
    viewer: Any, make_product: Any, make_category: Any
) -> None:
    lighting = make_category(name="Lighting")
    lamp = make_product(name="Desk lamp", category=lighting)
    lamp.name = "Brass desk lamp"
    lamp.save()
    lighting.name = "Lamps"
    lighting.save()
    edges = viewer.data(DISPLAY, {"id": str(lamp.pk)})["productHistory"]["edges"]
    assert [e["node"] for e in edges] == [
        {"display": "Brass desk lamp", "category": {"display": "Lighting"}},
        {"display": "Desk lamp", "category": {"display": "Lighting"}},
    ]


def test_a_display_whose_related_object_is_gone_falls_back_to_the_label(
    viewer: Any, make_product: Any, make_category: Any, monkeypatch: Any
) -> None:
    shelf = make_category(name="Shelf")
    lamp = make_product(name="Desk lamp", category=shelf)
    pk = lamp.pk
    lamp.delete()
    shelf.delete()
    monkeypatch.setattr(Product, "__str__", lambda self: self.category.name)
    edges = viewer.data(DISPLAY, {"id": str(pk)})["productHistory"]["edges"]
    assert [e["node"]["display"] for e in edges] == [f"catalog.Product {pk}"] * 2


# -- the page's own documents ----------------------------------------------------------

NODE = shutil.which("node")
BUILD = """
const q = await import(process.argv[1]);
const model = JSON.parse(process.argv[2]);
console.log(JSON.stringify({
  timeline: q.timeline(model), asOf: q.asOf(model), diff: q.diff(model),
  revert: q.revert(model), model: q.MODEL, pageSize: q.PAGE_SIZE,
}));
"""


@pytest.fixture
def page_documents(viewer: Any) -> dict[str, Any]:
    """The documents the history page sends for catalog.Product."""
    if NODE is None:
        pytest.skip("node is not installed")
    model = viewer.data(MODEL, {"label": "catalog.Product"})["trackedModel"]
    done = subprocess.run(  # noqa: S603 - fixed binary, our own module
        [
            NODE,
            "--input-type=module",
            "-e",
            BUILD,
            QUERIES_JS.as_uri(),
            json.dumps(model),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def busy_lamp(db: Any) -> Product:
    categories = [Category.objects.create(name=f"Shelf {i}") for i in range(4)]
    lamp = Product.objects.create(name="Lamp", price=Decimal("1.00"))
    users = [get_user_model().objects.create_user(f"writer{i}") for i in range(3)]
    for i in range(60):
        with history_core.context(user=users[i % 3], reason=f"step {i}"):
            lamp.price = Decimal(i + 2)
            lamp.category = categories[i % 4]
            lamp.description = f"Version {i} of the description"
            lamp.save()
    return lamp


def _run(client: Any, document: str, variables: dict[str, Any]) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as captured:
        data = client.data(document, variables)
    return len(captured.captured_queries), data


def test_the_pages_timeline_costs_the_same_queries_for_5_or_50_versions(
    viewer: Any, page_documents: dict[str, Any], busy_lamp: Product
) -> None:
    document = page_documents["timeline"]
    variables = {"id": str(busy_lamp.pk), "after": None}
    # totalCount's cost needs the table's size, looked up once a minute: not per page
    _run(viewer, document, {**variables, "first": 1})
    small, _ = _run(viewer, document, {**variables, "first": 5})
    large, data = _run(viewer, document, {**variables, "first": 50})
    nodes = [e["node"] for e in data["history"]["edges"]]
    assert len(nodes) == 50
    assert nodes[0]["category"]["display"] == "Shelf 3"
    assert nodes[0]["prevVersion"]["category"]["display"] == "Shelf 2"
    assert small == large, f"{small} queries for 5 versions but {large} for 50"
    # Session, user and permissions (4), the page and its count (2), the users (1),
    # then two each: related versions, previous versions, their related versions.
    assert large == 13


def test_the_pages_documents_fit_the_cost_budget_at_50_a_page(
    page_documents: dict[str, Any],
) -> None:
    schema = get_schema()._schema
    budget = 2000

    def million(model: Any) -> int:  # the timeline's totalCount: a count this big
        return 1_000_000

    for name in ("timeline", "asOf", "diff", "revert", "model"):
        variables = {"first": 50} if name == "timeline" else {}
        document = parse(page_documents[name])
        cost = estimate_cost(schema, document, None, variables, million)
        assert cost.total < budget, (name, cost)
        small = estimate_cost(schema, document, None, variables, lambda model: 1000)
        assert small.total < budget * 0.6, (name, small)
    assert 20 <= page_documents["pageSize"] <= 50


def test_a_model_field_named_like_a_version_field_is_refused() -> None:
    api = SimpleNamespace(options=SimpleNamespace(label="shop.Widget"))
    with pytest.raises(ImproperlyConfigured, match="'display'"):
        builder._check_names(api, {"display": strawberry.field(description="Shown.")})  # type: ignore[arg-type]
