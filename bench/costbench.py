"""C1: the worst query the cost limit accepts, timed over HTTP on the demo history.

``.venv/bin/python bench/costbench.py [--db sqlite|postgres] [--repeat N] [--pad N]
[--budget N] [--unlimited]``

The attack of the issue "An API you can put on the internet": fragments that select
``prevVersion``, ``nextVersion`` and the related ``category`` at every level, under
aliased ``historyFeed`` pages, within the depth (10), token (2,000) and alias (15)
limits.

The harness builds every shape of that family (levels x aliases), keeps for each the
largest page whose estimated cost is within the budget, runs each three times as the
read-only demo user ``auditor``, then times the slowest (by median) ``--repeat``
times. ``--pad``
adds versions to each product so that pages of 100 fill. It also shows what the limit
refuses, and with ``--unlimited`` how long that attack runs without the cost limit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MAX_LEVELS = 7  # historyFeed > edges > node: 3 levels; 7 more reach depth 10
MAX_ROOTS = 15  # aliases


def _product(level: int, last: int) -> str:
    if level == last:
        return f"fragment P{level} on ProductVersion {{ historyId name price }}"
    nested = f"{{ ...P{level + 1} }}"
    return (
        f"fragment P{level} on ProductVersion {{ historyId name price "
        f"changes {{ field old new }} historyUser {{ username }} "
        f"prevVersion {nested} nextVersion {nested} "
        f"category {{ ...C{level + 1} }} }}"
    )


def _category(level: int, last: int) -> str:
    if level == last:
        return f"fragment C{level} on CategoryVersion {{ historyId name }}"
    nested = f"{{ ...C{level + 1} }}"
    return (
        f"fragment C{level} on CategoryVersion {{ historyId name "
        f"prevVersion {nested} nextVersion {nested} }}"
    )


def attack(levels: int, roots: int, page: int) -> str:
    """The attack document: ``roots`` aliased feeds of ``page``, ``levels`` deep."""
    fields = " ".join(
        f"a{i}: historyFeed(first: {page}) {{ edges {{ node {{ ...P0 ...C0 }} }} }}"
        for i in range(roots)
    )
    fragments = [_product(k, levels - 1) for k in range(levels)]
    fragments += [_category(k, levels - 1) for k in range(levels)]
    return f"query Attack {{ {fields} }} " + " ".join(fragments)


@dataclass
class Shape:
    """One accepted attack and its measurements."""

    levels: int
    roots: int
    page: int
    cost: int
    seconds: float = 0.0
    size: int = 0

    @property
    def query(self) -> str:
        return attack(self.levels, self.roots, self.page)


def _cost(schema: Any, query: str) -> int:
    from graphql import parse

    from graphql_api.cost import estimate_cost

    return estimate_cost(schema, parse(query)).total


def _largest_page(schema: Any, levels: int, roots: int, budget: int) -> Shape | None:
    """The largest page (binary search) keeping the attack within ``budget``."""
    low, high, best = 1, 100, None
    while low <= high:
        page = (low + high) // 2
        cost = _cost(schema, attack(levels, roots, page))
        if cost <= budget:
            best, low = Shape(levels, roots, page, cost), page + 1
        else:
            high = page - 1
    return best


def _post(client: Any, query: str) -> tuple[float, Any, int]:
    body = json.dumps({"query": query})
    start = time.perf_counter()
    response = client.post("/graphql/", body, content_type="application/json")
    seconds = time.perf_counter() - start
    return seconds, response.json(), len(response.content)


def _run(client: Any, shape: Shape, samples: int = 3) -> bool:
    """Run ``shape`` ``samples`` times; keep its median time. False if refused."""
    runs = [_post(client, shape.query) for _ in range(samples)]
    result = runs[0][1]
    if result.get("errors"):
        print(f"  refused {shape}: {result['errors'][0]['message'][:120]}")
        return False
    shape.seconds = statistics.median(seconds for seconds, _, _ in runs)
    shape.size = runs[0][2]
    return True


def _refused(client: Any, schema: Any, unlimited: bool) -> None:
    from django.test import override_settings

    for levels, note in (
        (MAX_LEVELS + 1, "the old depth, 11"),
        (MAX_LEVELS, "depth 10"),
    ):
        query = attack(levels, MAX_ROOTS, 100)
        seconds, result, _ = _post(client, query)
        error = result["errors"][0]
        code = error.get("extensions", {}).get("code", error["message"])
        print(
            f"refused: the attack at {note}, {MAX_ROOTS} aliases, pages of 100: "
            f"{len(query)} characters, estimated cost {_cost(schema, query):,}; "
            f"answered in {seconds * 1000:.1f} ms: {code}"
        )
    if unlimited:
        with override_settings(GRAPHQL_API={"MAX_COST": 10**12}):
            seconds, result, size = _post(client, query)
        print(
            f"without the cost limit, the attack at depth 10 runs {seconds:.1f} s and "
            f"returns {size / 1e6:.2f} MB (errors: {bool(result.get('errors'))})"
        )


def _pad(versions: int) -> None:
    """Add ``versions`` price changes to each demo product, so pages of 100 fill."""
    from decimal import Decimal

    import history_core
    from catalog.models import Product

    with history_core.context(reason="bench padding"):
        for product in Product.objects.all():
            for i in range(versions):
                product.price = Decimal(100 + i)
                product.save()


def bench(repeat: int, pad: int, unlimited: bool) -> None:
    """Build, run and time the accepted attacks; print the worst one."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from graphql_api.cost import max_cost
    from graphql_api.schema import get_schema

    call_command("load_demo_history", verbosity=0)
    _pad(pad)
    client = Client()
    client.force_login(get_user_model().objects.get(username="auditor"))
    schema = get_schema()._schema
    budget = max_cost()
    shapes = [
        shape
        for levels in range(1, MAX_LEVELS + 1)
        for roots in range(1, MAX_ROOTS + 1)
        if (shape := _largest_page(schema, levels, roots, budget)) is not None
    ]
    print(f"{connection.vendor}: {len(shapes)} shapes within the budget of {budget:,}")
    accepted = [s for s in shapes if _run(client, s)]
    worst = max(accepted, key=lambda s: s.seconds)
    times = [_post(client, worst.query)[0] for _ in range(repeat)]
    print(
        f"worst accepted: {worst.levels} levels, {worst.roots} aliases, pages of "
        f"{worst.page}: {len(worst.query)} characters, estimated cost {worst.cost:,}, "
        f"{worst.size / 1e6:.2f} MB; median {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms over {repeat} runs"
    )
    _refused(client, schema, unlimited)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--budget", type=int, help="GRAPHQL_API['MAX_COST'] to try")
    parser.add_argument(
        "--pad", type=int, default=0, help="more versions per product (full pages)"
    )
    parser.add_argument("--unlimited", action="store_true", help="time the attack")
    args = parser.parse_args(argv)
    os.environ["BENCH_DB"] = args.db
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django
    from django.test import override_settings
    from django.test.utils import setup_databases, teardown_databases

    django.setup()
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    budget = {"GRAPHQL_API": {"MAX_COST": args.budget}} if args.budget else {}
    try:
        with override_settings(**budget):
            bench(args.repeat, args.pad, args.unlimited)
    finally:
        teardown_databases(old, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.path[:] = [
        str(ROOT),
        *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"),
    ]
    sys.exit(main(sys.argv[1:]))
