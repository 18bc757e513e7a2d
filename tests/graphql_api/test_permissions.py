"""Who may read and revert: every case as a table, through HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from catalog.models import Product

from .conftest import EDIT, RESTORE, VIEW

READS = {
    "history": '{ productHistory(id: "%s") { totalCount } }',
    "asOf": '{ productAsOf(id: "%s", timestamp: "2100-01-01T00:00:00Z") { id } }',
    "allAsOf": '{ productsAsOf(timestamp: "2100-01-01T00:00:00Z") { totalCount } } # %s',
    "diff": '{ productDiff(id: "%s", from: {timestamp: "2100-01-01T00:00:00Z"}) '
    "{ changes { field } } }",
    "feed": "{ historyFeed { edges { cursor } } } # %s",
    "trackedModels": "{ trackedModels { label } } # %s",
}


@pytest.mark.parametrize("query", READS, ids=list(READS))
@pytest.mark.parametrize(
    ("perms", "code"),
    [(None, "UNAUTHENTICATED"), ((), "FORBIDDEN"), (VIEW, None)],
    ids=["anonymous", "no-permission", "viewer"],
)
def test_reading_history_needs_the_view_permission(
    make_client: Any, query: str, perms: Any, code: str | None
) -> None:
    product = Product.objects.create(name="Kettle", price=Decimal("30.00"))
    client = make_client(*perms, username="u") if perms is not None else make_client()
    result = client(READS[query] % product.pk)
    if code is None:
        assert "errors" not in result, result
        return
    if query in ("feed", "trackedModels") and code == "FORBIDDEN":
        # Logged in without permissions: an empty feed and no models, no data leaked.
        data = result["data"]
        assert data == {"historyFeed": {"edges": []}} or data == {"trackedModels": []}
        return
    assert result["errors"][0]["extensions"]["code"] == code
    assert not any((result.get("data") or {}).values())  # no data leaked


REVERT = """
mutation($id: ID!, $to: ID!) {
  revertProduct(id: $id, to: {historyId: $to}) {
    __typename ... on OperationInfo { messages { kind code } }
  }
}
"""


@pytest.mark.parametrize(
    ("perms", "deleted", "outcome"),
    [
        (None, False, "UNAUTHENTICATED"),
        (VIEW, False, "FORBIDDEN"),
        (EDIT, False, "RevertProductPayload"),
        (EDIT, True, "FORBIDDEN"),
        (RESTORE, True, "RevertProductPayload"),
    ],
    ids=["anonymous", "viewer", "editor", "editor-undelete", "restorer-undelete"],
)
def test_reverting_needs_change_and_add_to_restore(
    make_client: Any, perms: Any, deleted: bool, outcome: str
) -> None:
    product = Product.objects.create(name="Kettle", price=Decimal("30.00"))
    product.price = Decimal("35.00")
    product.save()
    first = product.history.earliest()
    pk = product.pk
    if deleted:
        product.delete()
    count = Product.history.filter(id=pk).count()
    client = make_client(*perms, username="u") if perms is not None else make_client()
    result = client.data(REVERT, {"id": str(pk), "to": str(first.history_id)})
    payload = result["revertProduct"]
    if outcome.endswith("Payload"):
        assert payload["__typename"] == outcome
        assert Product.history.filter(id=pk).count() == count + 1
    else:
        assert payload["__typename"] == "OperationInfo"
        assert payload["messages"][0]["code"] == outcome
        assert payload["messages"][0]["kind"] == "PERMISSION"
        assert Product.history.filter(id=pk).count() == count  # nothing written


def test_inactive_user_has_no_permissions(make_client: Any) -> None:
    client = make_client(*VIEW, username="inactive")
    get_user_model().objects.filter(username="inactive").update(is_active=False)
    result = client('{ productHistory(id: "1") { totalCount } }')
    assert result["errors"][0]["extensions"]["code"] in {"UNAUTHENTICATED", "FORBIDDEN"}
