"""Real clients, real caches: Apollo Client and urql (graphcache) against a live server.

``tests/clients/cache_check.mjs`` logs in over HTTP (cookies and the CSRF header kept
by hand), pages a timeline with ``fetchMore``, reads a diff, an as-of and a node, and
reverts (a conflict, then a success); it prints what each normalized cache holds.
Before versions had their own ids, both caches merged every version of a product
into one entry: a timeline showed one version repeated, a diff the same version twice.

Needs Node 20+ and npm (skipped without them); ``npm ci`` runs here, once per
``package-lock.json`` (tests/npm.py; a stamp in ``node_modules`` remembers it).
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from catalog.models import Product
from graphql_api.schema import get_schema
from graphql_api.types import global_id
from tests.npm import CLIENTS, NODE, install, skip_reason

PAGE_SIZE = 2


def _versions(product: Product) -> list[dict[str, str]]:
    """The product's versions, newest first, as the clients should show them."""
    return [
        {
            "id": global_id("ProductVersion", r.history_id),
            "historyId": str(r.history_id),
            "price": str(r.price),
        }
        for r in product.history.order_by("-history_date", "-history_id")
    ]


def _check(
    out: dict[str, Any], product: Product, before: list[Any], as_of: Any
) -> None:
    """What one client's cache holds, against the database."""
    newest, oldest = before[0], before[-1]
    assert out["user"] == "editor"
    # The timeline: every version once, newest first, each with its own data.
    assert out["pages"] == -(-len(before) // PAGE_SIZE) > 1  # fetchMore was used
    assert out["totalCount"] == len(before)
    assert out["timeline"] == before
    assert len({v["id"] for v in out["timeline"]}) == len(before)
    # The diff's sides are two cache entries; reading it changed no timeline entry.
    assert out["diff"]["from"] == oldest and out["diff"]["to"] == newest
    assert out["diff"]["changes"], "the oldest and newest versions differ"
    assert out["timelineAfterDiff"] == before
    # The as-of is the version in force then; node refetches a version.
    assert out["asOf"] == as_of
    assert out["node"] == {"__typename": "ProductVersion", **oldest}
    # Revert: a stale expectedHistoryId is a conflict, the latest one succeeds.
    assert out["conflict"] == {
        "__typename": "OperationInfo",
        "messages": [{"code": "CONFLICT", "field": "expectedHistoryId"}],
    }
    after = _versions(product)
    assert len(after) == len(before) + 1 and after[1:] == before
    assert out["revert"] == {
        "__typename": "RevertProductPayload",
        "product": {
            "id": global_id("Product", product.pk),
            "productId": str(product.pk),
            "price": oldest["price"],
        },
        "version": {**after[0], "historyType": "UPDATED"},
    }
    assert out["timelineAfterRevert"] == after
    assert out["pagesAfterRevert"] == -(-len(after) // PAGE_SIZE)
    statuses = {r["status"] for r in out["requests"]}
    assert statuses == {200}, out["requests"]


SKIP_REASON = skip_reason("the Apollo/urql client test")


@pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")
@pytest.mark.django_db(transaction=True)
def test_apollo_and_urql_caches_keep_versions_apart(
    live_server: Any, tmp_path: Path
) -> None:
    install()
    call_command("load_demo_history", stdout=io.StringIO())
    laptop = Product.objects.get(name="Laptop")
    headphones = Product.objects.get(name="Headphones")
    before = {p.pk: _versions(p) for p in (laptop, headphones)}
    as_of = {}
    for product in (laptop, headphones):
        second = product.history.order_by("history_date", "history_id")[1]
        as_of[product.pk] = (second.history_date.isoformat(), before[product.pk][-2])
    schema = tmp_path / "schema.graphql"  # what a frontend's codegen reads
    schema.write_text(get_schema().as_str(), encoding="utf-8")
    config = {
        "url": f"{live_server.url}/graphql/",
        "schemaPath": str(schema),
        "username": "editor",
        "password": "demo-pass-123",
        "pageSize": PAGE_SIZE,
        "apollo": {"productId": str(laptop.pk), "asOf": as_of[laptop.pk][0]},
        "urql": {"productId": str(headphones.pk), "asOf": as_of[headphones.pk][0]},
    }
    assert NODE is not None
    done = subprocess.run(  # noqa: S603 - node from PATH, our script
        [NODE, "cache_check.mjs", json.dumps(config)],
        cwd=CLIENTS,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{done.stderr}\n{done.stdout}"
    result = json.loads(done.stdout)
    assert result["warnings"] == []
    apollo, urql = result["apollo"], result["urql"]
    _check(apollo, laptop, before[laptop.pk], as_of[laptop.pk][1])
    _check(urql, headphones, before[headphones.pk], as_of[headphones.pk][1])
    # Apollo's normalized store: one entry per version, each holding its own data.
    truth = {v["historyId"]: v for v in _versions(laptop)}
    cached = apollo["cachedVersions"]
    assert {c["historyId"] for c in cached} == set(truth)
    for entry in cached:
        assert entry["key"] == f"ProductVersion:{entry['id']}"
        assert {k: entry[k] for k in ("id", "historyId", "price")} == truth[
            entry["historyId"]
        ]
    assert apollo["cachedProduct"] == {
        "key": f"Product:{global_id('Product', laptop.pk)}",
        "price": before[laptop.pk][-1]["price"],
    }
