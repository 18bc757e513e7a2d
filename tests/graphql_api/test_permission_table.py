"""Who may learn what: every kind of caller x every path x what exists, as a table.

Callers: anonymous, logged in with no permission, a deactivated account (it has
every Product permission), change+add without view, view, view+change,
view+change+add (all on Product only) and a superuser.

Each test asks one path as one caller three times, each time about a target in a
different state:

* ``existing``: a product that exists (two versions: created, updated), and an
  account that exists;
* ``deleted``: a product created, updated and deleted (three versions), and an
  account created and deleted;
* ``never``: an id, a historyId and a username that never existed.

The states are built one after the other in a single database (first nothing, then
the deleted ones, then the existing ones), so the paths without an id
(``productsAsOf``, ``historyFeed``, ``trackedModels``) are asked "whatever exists"
too. Ids and timestamps travel as variables: the document is the same text each
time, and no response echoes an id it was asked about.

``EXPECTED`` gives the outcome of each (path, caller). A single outcome means the
caller has no right to tell the three states apart: the three responses must be
byte-identical (status and body) and be that outcome. A triple gives the documented
outcome for (existing, deleted, never) of a caller who has the right. Existence
leaks found go in ``LEAKS``: those cases are strict xfails.

Every POST carries the session and the ``X-CSRFToken`` header read from
``{ csrfToken }``, and the test client enforces CSRF checks. Refusals and dry runs
must write nothing; a revert writes one version.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import graphql
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Max
from django.test import Client

from catalog.models import Product
from graphql_api.schema import get_schema

pytestmark = pytest.mark.django_db

GRAPHQL = "/graphql/"
FAR_FUTURE = "2999-01-01T00:00:00Z"
TARGETS = ("existing", "deleted", "never")

# -- callers ---------------------------------------------------------------------------

ALL_ON_PRODUCT = ("view_product", "change_product", "add_product")
CALLERS: dict[str, dict[str, Any]] = {
    "anonymous": {},
    "no-permission": {"perms": ()},
    "inactive": {"perms": ALL_ON_PRODUCT, "is_active": False},
    "change+add-no-view": {"perms": ("change_product", "add_product")},
    "view": {"perms": ("view_product",)},
    "view+change": {"perms": ("view_product", "change_product")},
    "view+change+add": {"perms": ALL_ON_PRODUCT},
    "superuser": {"perms": (), "is_superuser": True},
}


class Caller:
    """A browser-like session: cookies, and the CSRF token on every POST."""

    def __init__(self, kind: str) -> None:
        spec = CALLERS[kind]
        self.client = Client(enforce_csrf_checks=True)
        if "perms" in spec:
            user = get_user_model().objects.create_user(
                f"caller-{kind}",
                password="pw-12345678",
                is_superuser=spec.get("is_superuser", False),
            )
            codenames = spec["perms"]
            user.user_permissions.add(
                *Permission.objects.filter(
                    codename__in=codenames, content_type__app_label="catalog"
                )
            )
            self.client.force_login(user)
            if not spec.get("is_active", True):
                user.is_active = False  # deactivated after logging in
                user.save()
        response = self.client.get(
            GRAPHQL, {"query": "{ csrfToken }"}, HTTP_ACCEPT="application/json"
        )
        self.token = response.json()["data"]["csrfToken"]

    def post(self, document: str, variables: dict[str, Any]) -> tuple[int, bytes]:
        response = self.client.post(
            GRAPHQL,
            json.dumps({"query": document, "variables": variables}),
            content_type="application/json",
            HTTP_X_CSRFTOKEN=self.token,
        )
        return response.status_code, response.content


# -- targets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a path is asked about: an object, one of its versions, an instant."""

    id: str
    history_id: str
    alive_at: str  # an instant when the object existed (for "never": any instant)
    username: str  # an account in the same state as the product


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _never() -> Target:
    top_pk = Product.history.aggregate(m=Max("id"))["m"] or 0
    top_hid = Product.history.aggregate(m=Max("history_id"))["m"] or 0
    return Target(
        str(top_pk + 1000), str(top_hid + 1000), "2020-01-01T00:00:00Z", "never-was"
    )


def _deleted() -> Target:
    product = Product.objects.create(name="Gone", price=Decimal("5.00"))
    product.price = Decimal("6.00")
    product.save()
    first, second = product.history.order_by("history_id")
    product.delete()
    get_user_model().objects.create_user("deleted-one", password="pw-1234567").delete()
    return Target(
        str(first.id), str(first.history_id), _iso(second.history_date), "deleted-one"
    )


def _existing() -> Target:
    product = Product.objects.create(name="Kept", price=Decimal("10.00"))
    product.price = Decimal("12.00")
    product.save()
    first = product.history.earliest()
    get_user_model().objects.create_user("still-here", password="pw-1234567")
    return Target(
        str(product.pk),
        str(first.history_id),
        _iso(first.history_date),
        "still-here",
    )


STATES: dict[str, Callable[[], Target]] = {
    "never": _never,  # built first: nothing exists yet
    "deleted": _deleted,
    "existing": _existing,
}

# -- paths -----------------------------------------------------------------------------


def _error_code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors")
    return errors[0].get("extensions", {}).get("code", "ERROR") if errors else None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _history(data: dict[str, Any]) -> str:
    return _count(data["productHistory"]["totalCount"], "version")


def _as_of(data: dict[str, Any]) -> str:
    return "null" if data["productAsOf"] is None else "version"


def _all_as_of(data: dict[str, Any]) -> str:
    return _count(data["productsAsOf"]["totalCount"], "object")


def _diff(data: dict[str, Any]) -> str:
    return _count(len(data["productDiff"]["changes"]), "change")


def _feed(data: dict[str, Any]) -> str:
    models = [e["node"]["model"] for e in data["historyFeed"]["edges"]]
    products = _count(models.count("catalog.Product"), "product version")
    others = len(models) - models.count("catalog.Product")
    return f"{products} + others" if others else products


def _tracked(data: dict[str, Any]) -> str:
    models = {m["label"]: m["canRevert"] for m in data["trackedModels"]}
    if len(models) > 1:
        return "all models"
    if "catalog.Product" not in models:
        return "none"
    return "Product, may revert" if models["catalog.Product"] else "Product"


def _tracked_one(data: dict[str, Any]) -> str:
    model = data["trackedModel"]
    return "Product, may revert" if model["canRevert"] else "Product"


def _login(data: dict[str, Any]) -> str:
    result = data["login"]
    if result["__typename"] == "OperationInfo":
        return str(result["messages"][0]["code"])
    return str(result["__typename"])


def _revert(data: dict[str, Any]) -> str:
    result = data["revertProduct"]
    if result["__typename"] == "OperationInfo":
        return str(result["messages"][0]["code"])
    outcome = "restored" if result["restored"] else "reverted"
    return f"dry run {outcome}" if result["dryRun"] else outcome


@dataclass(frozen=True)
class Path:
    document: str
    variables: Callable[[Target], dict[str, Any]]
    outcome: Callable[[dict[str, Any]], str]


REVERT = """
mutation($id: ID!, $to: VersionRef!, $dryRun: Boolean!) {
  revertProduct(id: $id, to: $to, dryRun: $dryRun) {
    __typename
    ... on RevertProductPayload { dryRun restored product { name price } }
    ... on OperationInfo { messages { kind code field message } }
  }
}"""
FEED = """query($models: [String!]) {
  historyFeed(first: 100, models: $models) {
    edges { cursor node { model objectId historyId historyType } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def _revert_path(dry_run: bool, by: str) -> Path:
    def variables(t: Target) -> dict[str, Any]:
        to = (
            {"historyId": t.history_id}
            if by == "historyId"
            else {"timestamp": t.alive_at}
        )
        return {"id": t.id, "to": to, "dryRun": dry_run}

    return Path(REVERT, variables, _revert)


NODE = """query($id: ID!) { node(id: $id) {
  __typename ... on ProductVersion { historyId objectId name } ... on Product { name }
} }"""


def _global_id(type_name: str, key: str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def _node(data: dict[str, Any]) -> str:
    return "null" if data["node"] is None else str(data["node"]["__typename"])


PATHS: dict[str, Path] = {
    "productHistory": Path(
        """query($id: ID!) { productHistory(id: $id) {
          totalCount edges { cursor node { historyId objectId historyType name price } }
        } }""",
        lambda t: {"id": t.id},
        _history,
    ),
    "productAsOf": Path(
        """query($id: ID!, $ts: DateTime!) {
          productAsOf(id: $id, timestamp: $ts) { historyId objectId name price }
        }""",
        lambda t: {"id": t.id, "ts": FAR_FUTURE},
        _as_of,
    ),
    "productsAsOf": Path(
        """query($ts: DateTime!) { productsAsOf(timestamp: $ts) {
          totalCount edges { cursor node { objectId name price } }
        } }""",
        lambda t: {"ts": FAR_FUTURE},
        _all_as_of,
    ),
    "productDiff": Path(
        """query($id: ID!, $from: ID!) {
          productDiff(id: $id, from: {historyId: $from}) { changes { field old new } }
        }""",
        lambda t: {"id": t.id, "from": t.history_id},
        _diff,
    ),
    "historyFeed(all)": Path(FEED, lambda t: {"models": None}, _feed),
    "historyFeed(Product)": Path(
        FEED, lambda t: {"models": ["catalog.Product"]}, _feed
    ),
    "trackedModels": Path(
        "{ trackedModels { label typeName canRevert } }", lambda t: {}, _tracked
    ),
    "trackedModel": Path(
        '{ trackedModel(label: "catalog.product") { label canRevert } }',
        lambda t: {},
        _tracked_one,
    ),
    # Relay refetch (in the schema since Relay ids): a version, the live object.
    "node(ProductVersion)": Path(
        NODE, lambda t: {"id": _global_id("ProductVersion", t.history_id)}, _node
    ),
    "node(Product)": Path(NODE, lambda t: {"id": _global_id("Product", t.id)}, _node),
    # Accounts: a wrong password gets one answer whether the account exists or not.
    "login(wrong password)": Path(
        """mutation($username: String!) {
          login(username: $username, password: "not-the-password") {
            __typename ... on OperationInfo { messages { kind code field message } }
          }
        }""",
        lambda t: {"username": t.username},
        _login,
    ),
    "revertProduct(historyId)": _revert_path(False, "historyId"),
    "revertProduct(historyId, dryRun)": _revert_path(True, "historyId"),
    "revertProduct(timestamp)": _revert_path(False, "timestamp"),
    "revertProduct(timestamp, dryRun)": _revert_path(True, "timestamp"),
}

# -- the table -------------------------------------------------------------------------

UNAUTH, FORBID = "UNAUTHENTICATED", "FORBIDDEN"
READERS = ("view", "view+change", "view+change+add", "superuser")


def _refused(
    anonymous: str = UNAUTH, no_permission: str = FORBID, no_view: str = FORBID
) -> dict[str, Any]:
    """Outcomes of the callers who may not read Product's history."""
    return {
        "anonymous": anonymous,
        "no-permission": no_permission,
        # A deactivated account's session no longer authenticates: anonymous.
        "inactive": anonymous,
        "change+add-no-view": no_view,
    }


def _readers(outcome: Any, superuser: Any = None) -> dict[str, Any]:
    result = dict.fromkeys(READERS, outcome)
    if superuser is not None:
        result["superuser"] = superuser
    return result


FEED_PRODUCTS = ("5 product versions", "3 product versions", "0 product versions")
EXPECTED: dict[str, dict[str, Any]] = {
    "productHistory": {
        **_refused(),
        **_readers(("2 versions", "3 versions", "0 versions")),
    },
    "productAsOf": {**_refused(), **_readers(("version", "null", "null"))},
    "productsAsOf": {**_refused(), **_readers(("1 object", "0 objects", "0 objects"))},
    "productDiff": {**_refused(), **_readers(("1 change", "1 change", "NOT_FOUND"))},
    "historyFeed(all)": {
        # Logged in, reading nothing: an empty feed, the same whatever exists.
        **_refused(no_permission="0 product versions", no_view="0 product versions"),
        **_readers(
            FEED_PRODUCTS, superuser=tuple(f"{p} + others" for p in FEED_PRODUCTS)
        ),
    },
    "historyFeed(Product)": {**_refused(), **_readers(FEED_PRODUCTS)},
    "node(ProductVersion)": {
        **_refused(),
        **_readers(("ProductVersion", "ProductVersion", "null")),
    },
    "node(Product)": {**_refused(), **_readers(("Product", "null", "null"))},
    "login(wrong password)": dict.fromkeys(CALLERS, "INVALID_CREDENTIALS"),
    "trackedModels": {
        **_refused(no_permission="none", no_view="none"),
        "view": "Product",
        "view+change": "Product, may revert",
        "view+change+add": "Product, may revert",
        "superuser": "all models",
    },
}
EXPECTED["trackedModel"] = {
    **_refused(),
    "view": "Product",
    "view+change": "Product, may revert",
    "view+change+add": "Product, may revert",
    "superuser": "Product, may revert",
}
for _dry in ("", "dry run "):
    for _by in ("historyId", "timestamp"):
        EXPECTED[f"revertProduct({_by}{', dryRun' if _dry else ''})"] = {
            **_refused(),
            "view": FORBID,  # reverting needs change
            # Readers may learn that the object is deleted (restoring needs add).
            "view+change": (f"{_dry}reverted", FORBID, "NOT_FOUND"),
            "view+change+add": (f"{_dry}reverted", f"{_dry}restored", "NOT_FOUND"),
            "superuser": (f"{_dry}reverted", f"{_dry}restored", "NOT_FOUND"),
        }

# Existence leaks found: (path, caller) -> why the test is expected to fail.
LEAKS: dict[tuple[str, str], str] = {}


def _cases() -> list[Any]:
    cases = []
    for path in PATHS:
        for caller in CALLERS:
            leak = LEAKS.get((path, caller))
            marks = [pytest.mark.xfail(strict=True, reason=leak)] if leak else []
            cases.append(pytest.param(path, caller, id=f"{path}-{caller}", marks=marks))
    return cases


def test_the_table_covers_every_path_and_caller() -> None:
    assert set(EXPECTED) == set(PATHS)
    for path, outcomes in EXPECTED.items():
        assert set(outcomes) == set(CALLERS), path


def _writes() -> tuple[int, int]:
    return Product.history.count(), Product.objects.count()


def _in_schema(path: str) -> bool:
    """Whether the schema has this path (Relay ``node`` is recent)."""
    schema = get_schema()._schema
    return not graphql.validate(schema, graphql.parse(PATHS[path].document))


@pytest.mark.parametrize(("path", "caller"), _cases())
def test_a_caller_learns_only_what_its_permissions_allow(
    path: str, caller: str
) -> None:
    if path.startswith("node(") and not _in_schema(path):
        pytest.skip("no Relay node field in this schema")
    client = Caller(caller)
    spec = PATHS[path]
    responses: dict[str, tuple[int, bytes]] = {}
    outcomes: dict[str, str] = {}
    written: dict[str, int] = {}
    for state, build in STATES.items():
        target = build()
        before = _writes()
        status, content = client.post(spec.document, spec.variables(target))
        responses[state] = (status, content)
        body = json.loads(content)
        outcomes[state] = _error_code(body) or spec.outcome(body["data"])
        written[state] = _writes()[0] - before[0]
        if _writes()[1] != before[1]:
            written[state] = written[state] or -1  # objects changed, no version

    expected = EXPECTED[path][caller]
    if isinstance(expected, str):
        # No right to tell the states apart: the very same bytes each time.
        assert responses["existing"] == responses["deleted"] == responses["never"], (
            responses
        )
        assert outcomes == dict.fromkeys(STATES, expected)
    else:
        assert outcomes == dict(zip(TARGETS, expected, strict=True))
    for state, outcome in outcomes.items():
        assert written[state] == (1 if outcome in ("reverted", "restored") else 0), (
            state,
            outcome,
            written,
        )
