"""The version history page's view: an HTML shell that looks nothing up.

What the page shows comes from the API (tests/browser/test_history_page.py); the
view itself must say nothing about whether a model is tracked or an object exists.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _bootstrap(html: str) -> Any:
    found = re.search(
        r'<script id="history-bootstrap" type="application/json">(.*?)</script>', html
    )
    assert found is not None
    return json.loads(found.group(1))


def test_the_url_is_named_and_takes_a_label_and_an_id() -> None:
    assert reverse("history-page", args=["catalog.product", 7]) == (
        "/history/catalog.product/7/"
    )


def test_the_shell_carries_only_the_address_and_the_endpoint(
    client: Client, make_product: Any
) -> None:
    product = make_product()
    response = client.get(f"/history/catalog.product/{product.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert _bootstrap(html) == {
        "label": "catalog.product",
        "objectId": str(product.pk),
        "endpoint": "/graphql/",
    }
    assert 'type="module"' in html and "history/app.js" in html
    assert product.name not in html


def test_the_shell_is_the_same_whatever_exists(
    client: Client, make_product: Any
) -> None:
    product = make_product()
    pages = [
        client.get(path)
        for path in (
            f"/history/catalog.product/{product.pk}/",
            "/history/catalog.product/999999/",
            "/history/nothing.here/1/",
        )
    ]
    assert {p.status_code for p in pages} == {200}
    shells = {
        re.sub(r'<script id="history-bootstrap".*?</script>', "", p.content.decode())
        for p in pages
    }
    assert len(shells) == 1


def test_the_page_runs_only_its_own_scripts(client: Client) -> None:
    response = client.get("/history/catalog.product/1/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_hostile_address_parts_stay_data(client: Client) -> None:
    response = client.get("/history/%3Cscript%3Ealert(1)/%22%3E%3Cb%3E/")
    html = response.content.decode()
    assert "<script>alert(1)" not in html and '"><b>' not in html
    assert _bootstrap(html) == {
        "label": "<script>alert(1)",
        "objectId": '"><b>',
        "endpoint": "/graphql/",
    }
