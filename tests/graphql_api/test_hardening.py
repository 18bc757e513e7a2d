"""The API tried as an attacker and a careless client would: over HTTP."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.test import Client

from catalog.models import Category, Product
from history_core.revert import MAX_REASON_LENGTH
from tests.testapp.models import (
    Document,
    Measure,
    Node,
    Notice,
    Part,
    Queue,
    Sku,
    Ticket,
)

pytestmark = pytest.mark.django_db

REVERT = """
mutation($id: ID!, $to: VersionRef!, $dry: Boolean!, $fields: [String!]) {
  revertProduct(id: $id, to: $to, dryRun: $dry, fields: $fields) {
    __typename
    ... on RevertProductPayload {
      dryRun restored product { name price categoryId }
      changes { field old new }
      version { historyId changedFields }
    }
    ... on OperationInfo { messages { code message field } }
  }
}
"""


def _product() -> Product:
    category = Category.objects.create(name="Tools")
    product = Product.objects.create(name="Saw", price=Decimal("10.00"))
    product.price = Decimal("12.00")
    product.category = category
    product.save()
    return product


def _revert(client: Any, pk: Any, to: Any, **extra: Any) -> Any:
    variables = {"id": str(pk), "to": to, "dry": False, **extra}
    return client.data(REVERT, variables)["revertProduct"]


# -- authorization comes before any lookup ---------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "nobody", "viewer"])
def test_revert_refusal_is_the_same_whether_the_object_exists(
    request: Any, who: str
) -> None:
    client = request.getfixturevalue(who)
    product = _product()
    first = product.history.earliest()
    deleted = Product.objects.create(name="Gone", price=1)
    gone = deleted.history.get()
    deleted.delete()

    answers = [
        _revert(client, pk, {"historyId": hid}, dry=dry)
        for pk, hid in [
            (product.pk, str(first.history_id)),  # exists
            (gone.id, str(gone.history_id)),  # deleted
            (987654, "987654"),  # never existed
            (product.pk, "987654"),  # no such version
            ("not-an-id", "x"),  # malformed: still refused first
        ]
        for dry in (False, True)
    ]

    assert all(a == answers[0] for a in answers), answers
    assert answers[0]["messages"][0]["code"] in {"UNAUTHENTICATED", "FORBIDDEN"}


def test_restoring_needs_the_add_permission_too(make_client: Any) -> None:
    client = make_client(
        "view_product", "change_product", "view_category", username="changer"
    )
    product = _product()
    last = product.history.latest()
    product.delete()

    answer = _revert(
        client,
        product.history.model.objects.get(history_id=last.history_id).id,
        {"historyId": str(last.history_id)},
    )

    assert answer["messages"][0]["code"] == "FORBIDDEN"
    assert "catalog.add_product" in answer["messages"][0]["message"]


# -- one naming: GraphQL names everywhere ------------------------------------------


def test_field_names_are_the_graphql_names_everywhere(editor: Any) -> None:
    product = _product()
    first = product.history.earliest()
    advertised = {
        m["label"]: m["fields"]
        for m in editor.data("{ trackedModels { label fields } }")["trackedModels"]
    }["catalog.Product"]
    assert "categoryId" in advertised

    answer = _revert(
        editor, product.pk, {"historyId": str(first.history_id)}, fields=["categoryId"]
    )

    assert answer["changes"] == [
        {"field": "categoryId", "old": product.category_id, "new": None}
    ]
    assert answer["version"]["changedFields"] == ["categoryId"]
    assert answer["product"]["price"] == "12.00"  # not in fields: left alone
    refused = _revert(
        editor, product.pk, {"historyId": str(first.history_id)}, fields=["category_id"]
    )
    assert refused["messages"][0]["code"] == "BAD_USER_INPUT"
    assert refused["messages"][0]["field"] == "fields"
    assert "categoryId" in refused["messages"][0]["message"]


def test_dry_run_of_a_restore_says_so_and_shows_the_object(editor: Any) -> None:
    product = _product()
    last = product.history.latest()
    pk = product.pk
    product.delete()

    answer = _revert(editor, pk, {"historyId": str(last.history_id)}, dry=True)

    assert answer["dryRun"] is True and answer["restored"] is True
    assert answer["product"] == {
        "name": "Saw",
        "price": "12.00",
        "categoryId": str(product.category_id),
    }
    assert answer["version"] is None
    assert not Product.objects.filter(pk=pk).exists()
    noop = _revert(editor, pk, {"historyId": str(last.history_id)}, dry=True)
    assert noop["restored"] is True  # still deleted: nothing was written


def test_revert_to_an_instant_when_the_object_was_deleted_is_refused(
    editor: Any,
) -> None:
    product = _product()
    pk = product.pk
    product.delete()
    deleted_at = Product.history.filter(id=pk).latest().history_date

    answer = _revert(editor, pk, {"timestamp": deleted_at.isoformat()})

    assert answer["messages"][0]["code"] == "NOT_FOUND"
    assert "deleted" in answer["messages"][0]["message"]
    assert not Product.objects.filter(pk=pk).exists()


# -- bad input is the client's error, and is not echoed ------------------------------


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        _b64('["t", "2024-01-01T00:00:00+00:00", 1e400]'),
        _b64("[" * 50000 + "]" * 50000),
        _b64('["t", "2024-01-01T00:00:00+00:00", NaN]'),
        "A" * 200_000,
        _b64('["t", "2024-01-01T00:00:00+00:00", "1_0"]'),
    ],
    ids=["huge-number", "deep-nesting", "nan", "200-kb", "underscore-digits"],
)
def test_malformed_cursors_are_bad_input_and_not_echoed(
    viewer: Any, cursor: str
) -> None:
    product = _product()
    error = viewer.error(
        "query($id: ID!, $after: String) { productHistory(id: $id, after: $after) "
        "{ totalCount } }",
        {"id": str(product.pk), "after": cursor},
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert cursor[:40] not in error["message"] and len(error["message"]) < 200


@pytest.mark.parametrize("hid", ["", "1_0", " 1", "x"])
def test_malformed_history_ids_are_bad_input(
    editor: Any, viewer: Any, hid: str
) -> None:
    product = _product()
    diff = viewer.error(
        "query($id: ID!, $h: ID!) { productDiff(id: $id, from: {historyId: $h}) "
        "{ changes { field } } }",
        {"id": str(product.pk), "h": hid},
    )
    assert diff["extensions"]["code"] == "BAD_USER_INPUT"
    answer = _revert(editor, product.pk, {"historyId": hid})
    assert answer["messages"][0]["code"] == "BAD_USER_INPUT"


# -- login you can expose ---------------------------------------------------------------


LOGIN = (
    'mutation { login(username: "%s", password: "%s") { __typename '
    "... on OperationInfo { messages { code message } } } }"
)


def _post(client: Client, query: str) -> dict[str, Any]:
    response = client.post(
        "/graphql/", json.dumps({"query": query}), content_type="application/json"
    )
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_a_document_may_try_only_one_password() -> None:
    get_user_model().objects.create_user("dora", password="pw-12345678")
    aliases = " ".join(
        f'a{i}: login(username: "dora", password: "guess-{i}") {{ __typename }}'
        for i in range(3)
    )
    answer = _post(Client(), f"mutation {{ {aliases} }}")
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Only one login" in answer["errors"][0]["message"]
    assert "data" not in answer or answer["data"] is None


# -- retryable failures say so ------------------------------------------------------------


def test_a_revert_that_meets_a_lock_timeout_says_retry(
    editor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = _product()
    first = product.history.earliest()

    class LockTimeout(Exception):
        sqlstate = "55P03"

    def timeout(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("canceling statement due to lock timeout") from (
            LockTimeout()
        )

    monkeypatch.setattr("history_core.revert._save", timeout)
    answer = _revert(editor, product.pk, {"historyId": str(first.history_id)})

    assert answer["messages"][0]["code"] == "RETRY"
    product.refresh_from_db()
    assert product.price == Decimal("12.00")


# -- revert's fields: exactly the names trackedModel.fields lists ---------------------


def _two_versions() -> dict[str, Any]:
    """One object with two versions of several field kinds, by model label."""
    document = Document.objects.create(title="Notes", body="v1")
    part = Part.objects.create(name="Gear", price=1)
    node = Node.objects.create(label="root")
    notice = Notice.objects.create(name="Closed")
    sku = Sku.objects.create(code="SKU-1")
    Queue.objects.create(code="ops")
    ticket = Ticket.objects.create(title="Printer")
    measure = Measure.objects.create(width=2)
    product = _product()
    changes = [
        (document, "body", "v2"),
        (part, "parent", Part.objects.create(name="Axle")),
        (node, "parent", Node.objects.create(label="trunk")),
        (notice, "pinned", True),
        (sku, "stock", 5),
        (ticket, "queue_id", "ops"),
        (measure, "height", 3),
    ]
    for obj, field, value in changes:
        setattr(obj, field, value)
        obj.save()
    objects = [product, product.category, *(obj for obj, _, _ in changes)]
    return {obj._meta.label: obj for obj in objects}


FIELDS_REVERT = """
mutation($id: ID!, $to: VersionRef!, $fields: [String!]) {
  %s(id: $id, to: $to, fields: $fields, dryRun: true) {
    __typename ... on OperationInfo { messages { code message field } }
  }
}
"""


def _revert_fields(client: Any, document: str, variables: Any, fields: Any) -> Any:
    answer = client.data(document, {**variables, "fields": fields})
    return next(iter(answer.values()))


def test_revert_takes_exactly_the_field_names_tracked_model_lists(
    make_client: Any,
) -> None:
    client = make_client()
    client.client.force_login(get_user_model().objects.create_superuser("root"))
    for label, obj in _two_versions().items():
        about = client.data(
            "query($l: String!) { trackedModel(label: $l) { fields revertField } }",
            {"l": label},
        )["trackedModel"]
        names = about["fields"]
        document = FIELDS_REVERT % about["revertField"]
        first = obj.history.earliest().history_id
        variables = {"id": str(obj.pk), "to": {"historyId": str(first)}}

        for fields in [*([n] for n in names), names]:
            answer = _revert_fields(client, document, variables, fields)
            assert answer["__typename"] != "OperationInfo", (label, fields, answer)
        python_names = {f.attname for f in obj._meta.concrete_fields} - set(names)
        for name in sorted(python_names | {"nope"}):
            answer = _revert_fields(client, document, variables, [name])
            message = answer["messages"][0]
            assert (message["code"], message["field"]) == ("BAD_USER_INPUT", "fields")
            listed = message["message"].split("tracked fields are ")[1].rstrip(".")
            assert set(listed.split(", ")) == set(names), (label, message)


# -- reasons: what the database can store, up to MAX_REASON_LENGTH -------------------

REASON_REVERT = """
mutation($id: ID!, $to: VersionRef!, $reason: String, $dry: Boolean!) {
  revertProduct(id: $id, to: $to, reason: $reason, dryRun: $dry) {
    __typename
    ... on RevertProductPayload { version { historyChangeReason } }
    ... on OperationInfo { messages { code message field } }
  }
}
"""


@pytest.mark.parametrize(
    ("reason", "stored"),
    [
        ("x" * MAX_REASON_LENGTH, True),
        ("\U0001f600" * MAX_REASON_LENGTH, True),  # characters, not bytes
        ("é\u202e\ufeff\n\t", True),
        ("x" * (MAX_REASON_LENGTH + 1), False),
        ("\x00", False),
        ("undo\x00", False),
        ("\ud800", False),
        ("a\udfffb", False),
        ("\ud83d", False),  # half of an emoji's surrogate pair
    ],
    ids=[
        "at-the-limit",
        "emoji-at-the-limit",
        "odd-but-storable",
        "over-the-limit",
        "nul",
        "trailing-nul",
        "lone-high-surrogate",
        "lone-low-surrogate",
        "half-a-pair",
    ],
)
def test_a_reason_is_stored_whole_or_refused_as_bad_input(
    editor: Any, reason: str, stored: bool
) -> None:
    product = _product()
    count = product.history.count()
    variables = {
        "id": str(product.pk),
        "to": {"historyId": str(product.history.earliest().history_id)},
        "reason": reason,
    }
    for dry in (True, False):
        answer = editor.data(REASON_REVERT, {**variables, "dry": dry})["revertProduct"]
        if stored:
            assert answer["__typename"] == "RevertProductPayload"
            continue
        message = answer["messages"][0]
        assert (message["code"], message["field"]) == ("BAD_USER_INPUT", "reason")
        assert reason not in message["message"] and len(message["message"]) < 200
    if stored:
        assert product.history.latest().history_change_reason == reason
    else:
        assert product.history.count() == count
