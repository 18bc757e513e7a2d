"""The README's GraphQL example runs against the demo history."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.core.management import call_command

from catalog.models import Product

README = Path(__file__).resolve().parents[2] / "README.md"


def _example(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- example: {name} -->\s*```graphql\n(.*?)```", text, re.S)
    assert match, f"README example {name!r} not found"
    return match.group(1)


def test_readme_timeline_example(make_client: Any) -> None:
    call_command("load_demo_history", stdout=None)
    client = make_client()
    login = client.data(
        'mutation { login(username: "editor", password: "demo-pass-123") { __typename } }'
    )
    assert login == {"login": {"__typename": "LoginSuccess"}}
    laptop = Product.objects.get(name="Laptop")
    query = _example("timeline").replace('id: "1"', f'id: "{laptop.pk}"')
    data = client.data(query)["productHistory"]
    assert data["totalCount"] == 4
    newest = data["edges"][0]["node"]
    assert newest["price"] == "1099.00"
    assert newest["changes"] == [{"field": "price", "old": "1150.00", "new": "1099.00"}]
    assert newest["historyUser"] == {"username": "editor"}
    assert newest["category"] == {"name": "Computers"}
    assert [e["node"]["historyType"] for e in data["edges"]][-1] == "CREATED"
