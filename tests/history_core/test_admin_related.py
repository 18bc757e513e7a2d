"""The admin names the object a foreign key points at only to readers of its model.

The rule is the GraphQL API's (a related version is null without the related
model's view permission): on every page that shows a foreign key's value (compare,
the revert preview, the restore preview) a user who may not read the related model
sees the bare key, and no lookup tells whether that object exists.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from catalog.admin import CategoryAdmin
from catalog.models import Category, Product
from tests.testapp.models import Queue, Ticket

from .test_admin import PRODUCT, client_for, staff, text

pytestmark = pytest.mark.django_db

PRODUCT_PERMS = (
    "catalog.view_product",
    "catalog.change_product",
    "catalog.add_product",
)


@pytest.fixture
def moved() -> tuple[Product, Category, Category]:
    """A product moved from "Computers" to "Tablets"; both renamed since."""
    computers = Category.objects.create(name="Computers")
    product = Product.objects.create(name="Laptop", price=Decimal("1200.00"))
    product.category = computers
    product.save()
    tablets = Category.objects.create(name="Tablets")
    product.category = tablets
    product.price = Decimal("999.00")
    product.save()
    Category.objects.filter(pk=computers.pk).update(name="Desktops")
    Category.objects.filter(pk=tablets.pk).update(name="Slates")
    return product, computers, tablets


def _pages(product: Product) -> dict[str, str]:
    versions = product.history.order_by("history_date", "history_id")
    _, categorised, _ = (v.history_id for v in versions)
    base = f"{PRODUCT}/{product.pk}/history"
    return {
        "compare": f"{base}/compare/?from={categorised}",
        "revert preview": f"{base}/{categorised}/revert/",
    }


# Who may read categories, and so sees their names: (extra permissions, named).
READERS = {
    "no category permission": ((), False),
    "category view permission": (("catalog.view_category",), True),
    "category change permission only": (("catalog.change_category",), False),
}


@pytest.mark.parametrize("page", ["compare", "revert preview", "restore preview"])
@pytest.mark.parametrize(("extra", "named"), READERS.values(), ids=list(READERS))
def test_a_foreign_key_is_named_only_to_readers_of_the_related_model(
    moved: Any, page: str, extra: tuple[str, ...], named: bool
) -> None:
    product, computers, tablets = moved
    client = client_for(staff("reader", *PRODUCT_PERMS, *extra))
    if page == "restore preview":
        pk, last = product.pk, product.history.latest().history_id
        product.delete()
        url = f"{PRODUCT}/{pk}/history/{last}/revert/"
        shown = {"Tablets": tablets.pk}  # the restored category, as it was then
    else:
        url = _pages(product)[page]
        shown = {"Computers": computers.pk, "Tablets": tablets.pk}
        if page == "revert preview":
            shown = {"Computers": computers.pk, "Slates": tablets.pk}  # now: Slates
    response = client.get(url)
    assert response.status_code == 200
    rows = response.context["changed_rows" if page == "compare" else "rows"]
    category = next(r for r in rows if r.name == "category")
    values = {str(category.old), str(category.new)} - {"—"}
    if named:
        assert values == set(shown), values
    else:
        assert values == {str(pk) for pk in shown.values()}, values
        for name in ("Computers", "Tablets", "Desktops", "Slates"):
            assert name not in text(response), name


def test_an_overridden_history_permission_decides_for_its_model(
    moved: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The category's own admin says who may read categories' history, as it does
    for the change log."""
    product, computers, _ = moved
    monkeypatch.setattr(
        CategoryAdmin, "has_history_permission", lambda self, request: False
    )
    client = client_for(staff("reader", *PRODUCT_PERMS, "catalog.view_category"))
    page = text(client.get(_pages(product)["compare"]))
    assert "Computers" not in page and "Tablets" not in page
    assert str(computers.pk) in page


GRAPHQL_CATEGORY = """
query($id: ID!) { productHistory(id: $id) { edges { node { categoryId category { name } } } } }
"""


@pytest.mark.parametrize(
    "extra",
    [(), ("catalog.view_category",), ("catalog.change_category",)],
    ids=["none", "view", "change only"],
)
def test_the_admin_and_the_api_name_related_objects_to_the_same_users(
    moved: Any, extra: tuple[str, ...]
) -> None:
    product, _, _ = moved
    client = client_for(staff("reader", *PRODUCT_PERMS, *extra))
    answer = client.post(
        "/graphql/",
        json.dumps({"query": GRAPHQL_CATEGORY, "variables": {"id": str(product.pk)}}),
        content_type="application/json",
    ).json()
    nodes = [e["node"] for e in answer["data"]["productHistory"]["edges"]]
    api_names = any(n["category"] is not None for n in nodes if n["categoryId"])
    page = text(client.get(_pages(product)["compare"]))
    assert ("Computers" in page) is api_names


def test_a_hidden_foreign_key_costs_no_lookup(moved: Any, queries: Any) -> None:
    product, _, _ = moved
    url = _pages(product)["compare"]
    reader = client_for(staff("reader", *PRODUCT_PERMS, "catalog.view_category"))
    stranger = client_for(staff("stranger", *PRODUCT_PERMS))
    counts = []
    for client in (reader, stranger):
        client.get(url)
        with queries() as captured:
            client.get(url)
        category_table = Category.history.model._meta.db_table
        counts.append(
            sum(category_table in q["sql"] for q in captured.captured_queries)
        )
    assert counts[0] > 0 and counts[1] == 0, counts


@pytest.mark.urls("tests.history_core.admin_site")
@pytest.mark.parametrize("may_read_queues", [False, True])
def test_whether_a_related_object_still_exists_is_told_only_to_its_readers(
    may_read_queues: bool,
) -> None:
    Queue.objects.create(code="ops")
    ticket = Ticket.objects.create(title="Printer", queue_id="ops")
    ticket.queue = None
    ticket.save()
    Queue.objects.all().delete()  # untracked: no name as of then, and now gone
    perms = ["testapp.view_ticket", *(["testapp.view_queue"] * may_read_queues)]
    client = client_for(staff("reader", *perms))
    first = ticket.history.earliest().history_id
    url = f"/test-admin/testapp/ticket/{ticket.pk}/history/compare/?to={first}"
    queue = next(
        r for r in client.get(url).context["changed_rows"] if r.name == "queue"
    )
    assert queue.new == ("queue ops (no longer exists)" if may_read_queues else "ops")
