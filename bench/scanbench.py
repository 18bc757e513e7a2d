"""S1: the slowest request the cost limit accepts on a large history table.

``.venv/bin/python bench/scanbench.py [--db sqlite|postgres] [--rows N] [--repeat N]``
(default: PostgreSQL, 1,000,000 rows); ``bench/run.py`` runs it as S1 (``--smoke``:
2,000 rows).

The history of ``catalog.Product`` is filled straight in SQL (``INSERT ... SELECT``,
which the append-only rules allow): objects of 10 versions each (created, updated,
one in ten deleted at its last version, one in five by the reader) interleaved in
time, plus one hot object holding a tenth of the rows (its own versions never
deleted). Every family of requests
below is tried with 1 to 15 aliases, each at the largest page (binary search) the
estimate accepts; the accepted shapes run three times, and the slowest one (by
median) is timed ``--repeat`` times over HTTP as a reader with view permissions.
Families the estimate refuses even at one alias and one row are listed as refused.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = 10
ALIASES = (1, 2, 3, 5, 8, 15)
BASE = datetime(2024, 1, 1, tzinfo=UTC)
VERSION = (
    "historyId historyDate historyType price changedFields historyUser { username } "
    "changes { field old new } prevVersion { historyId price } "
    "nextVersion { historyId price }"
)


@dataclass
class Data:
    """What the families refer to: the hot object, the reader, two cursors."""

    hot: int
    user: int
    end: datetime
    middle_cursor: str
    feed_cursor: str


def _fill(rows: int, user_id: int) -> Data:
    """Fill the product history with ``rows`` rows; return what the queries need."""
    from bench.dataset import _insert, _json, _series, _timestamp
    from bench.harness import reset_tables, vacuum_analyze
    from catalog.models import Product
    from graphql_api.inputs import encode_cursor
    from history_core import get_history_for_model

    history = get_history_for_model(Product)
    historical = history.model
    reset_tables(historical)
    hot_rows = rows // 10
    objects = max(1, (rows - hot_rows) // VERSIONS)
    hot = objects + 1
    common = {
        "history_context": _json("'{}'"),
        "history_changed_fields": _json(
            "CASE WHEN v = 0 THEN '[]' ELSE '[\"price\"]' END"
        ),
        "name": "'Product ' || o",
        "price": "10 + v",
        "description": "''",
        "history_user_id": f"CASE WHEN o % 5 = 0 THEN {user_id} ELSE NULL END",
        "id": "o",
    }
    last = VERSIONS - 1
    regular = {
        **common,
        "history_date": _timestamp(f"v * {objects} + o"),
        "history_type": (
            f"CASE WHEN v = 0 THEN '+' WHEN v = {last} AND o % 10 = 0 THEN '-' "
            "ELSE '~' END"
        ),
    }
    _insert(historical._meta.db_table, regular, _series(1, objects, VERSIONS), "")
    # the hot object's versions: spread over the same span, one every few seconds
    step = max(1, objects * VERSIONS // max(hot_rows, 1))
    spread = {
        **common,
        "history_date": _timestamp(f"v * {step} + 1"),
        "history_type": "CASE WHEN v = 0 THEN '+' ELSE '~' END",
    }
    _insert(historical._meta.db_table, spread, _series(hot, 1, hot_rows), "")
    vacuum_analyze(historical)
    # cursors in the middle: a page after them starts half way down an index
    middle = history.for_object(hot).order_by("history_date")[hot_rows // 2]
    anchor = history.order_by("history_date", "history_id")[rows // 2]
    return Data(
        hot=hot,
        user=user_id,
        end=BASE + timedelta(seconds=objects * VERSIONS + 10),
        middle_cursor=encode_cursor("t", middle.history_date, middle.history_id),
        feed_cursor=encode_cursor(
            "f", anchor.history_date, "catalog.Product", anchor.history_id
        ),
    )


Family = Callable[[Data, int], str]  # (data, page) -> one aliased field


def _families() -> dict[str, Family]:
    product = '"catalog.Product"'

    def node(selection: str = VERSION) -> str:
        return f"edges {{ node {{ ... on ProductVersion {{ {selection} }} }} }}"

    return {
        "timeline of the hot object, totalCount": lambda d, p: (
            f'productHistory(id: "{d.hot}", first: {p}) {{ totalCount {node()} }}'
        ),
        "timeline of the hot object, from its middle": lambda d, p: (
            f'productHistory(id: "{d.hot}", first: {p}, '
            f'after: "{d.middle_cursor}") {{ {node()} }}'
        ),
        "timeline filtered by types": lambda d, p: (
            f'productHistory(id: "{d.hot}", first: {p}, types: [DELETED]) '
            f"{{ {node()} }}"
        ),
        "as-of page": lambda d, p: (
            f'productsAsOf(timestamp: "{d.end.isoformat()}", first: {p}) {{ {node()} }}'
        ),
        "as-of totalCount": lambda d, p: (
            f'productsAsOf(timestamp: "{d.end.isoformat()}", first: 1) {{ totalCount }}'
        ),
        "feed of creations": lambda d, p: (
            f"historyFeed(first: {p}, types: [CREATED], models: [{product}]) "
            f"{{ {node()} }}"
        ),
        "feed of deletions, deep cursor": lambda d, p: (
            f'historyFeed(first: {p}, types: [DELETED], after: "{d.feed_cursor}") '
            f"{{ {node()} }}"
        ),
        "feed of one user, deep cursor": lambda d, p: (
            f'historyFeed(first: {p}, userId: "{d.user}", after: "{d.feed_cursor}") '
            f"{{ {node()} }}"
        ),
        "feed of updates": lambda d, p: (
            f"historyFeed(first: {p}, types: [UPDATED]) {{ {node()} }}"
        ),
        "feed, prevVersion chains 3 deep": lambda d, p: (
            f"historyFeed(first: {p}) {{ "
            + node(
                "historyId prevVersion { historyId changes { field } prevVersion "
                "{ historyId prevVersion { historyId } } }"
            )
            + " }"
        ),
    }


def document(family: Family, data: Data, aliases: int, page: int) -> str:
    fields = " ".join(f"a{i}: {family(data, page)}" for i in range(aliases))
    return f"query Scan {{ {fields} }}"


@dataclass
class Shape:
    name: str
    aliases: int
    page: int
    cost: int
    query: str
    seconds: float = 0.0


def _cost(query: str) -> int:
    from graphql import parse

    from graphql_api.cost import estimate_cost
    from graphql_api.schema import get_schema

    return estimate_cost(get_schema()._schema, parse(query)).total


def _largest(name: str, family: Family, data: Data, aliases: int) -> Shape | None:
    from graphql_api.cost import max_cost

    low, high, best = 1, 100, None
    while low <= high:
        page = (low + high) // 2
        query = document(family, data, aliases, page)
        cost = _cost(query)
        if cost <= max_cost():
            best, low = Shape(name, aliases, page, cost, query), page + 1
        else:
            high = page - 1
    return best


def _post(client: Any, query: str) -> tuple[float, dict[str, Any]]:
    body = json.dumps({"query": query})
    start = time.perf_counter()
    response = client.post("/graphql/", body, content_type="application/json")
    return time.perf_counter() - start, response.json()


def _reader() -> Any:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("scan-reader")  # force_login
    codenames = ("view_product", "view_category")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def search(rows: int, aliases: tuple[int, ...], samples: int) -> tuple[Shape, Any]:
    """Fill, try every family, and return the slowest accepted shape and a client."""
    from django.test import Client

    from graphql_api.scans import forget_table_sizes

    user = _reader()
    data = _fill(rows, user.pk)
    forget_table_sizes()
    client = Client()
    client.force_login(user)
    accepted = []
    for name, family in _families().items():
        shapes = [s for n in aliases if (s := _largest(name, family, data, n))]
        if not shapes:
            cost = _cost(document(family, data, 1, 1))
            print(f"  refused: {name} (one alias, one row: estimated cost {cost:,})")
            continue
        for shape in shapes:
            runs = [_post(client, shape.query) for _ in range(samples)]
            errors = runs[0][1].get("errors")
            if errors:
                raise RuntimeError(f"{name}: {errors[0]['message'][:200]}")
            shape.seconds = statistics.median(s for s, _ in runs)
            accepted.append(shape)
        worst = max(shapes, key=lambda s: s.seconds)
        print(
            f"  {name}: {len(shapes)} shapes; slowest {worst.aliases} aliases x "
            f"{worst.page} rows, cost {worst.cost:,}, {worst.seconds * 1000:.1f} ms",
            flush=True,
        )
    return max(accepted, key=lambda s: s.seconds), client


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run_scans(results: Any, sizes: dict[str, Any], repeat: int, only: Any) -> None:
    """S1 inside ``bench/run.py``."""
    from bench.harness import measure

    if only is not None and "S1" not in only:
        return
    rows = int(sizes["scan_rows"])
    print(f"S1: the slowest accepted request on {rows:,} history rows", flush=True)
    smoke = rows < 100_000
    worst, client = search(rows, (1,) if smoke else ALIASES, 1 if smoke else 3)
    for _ in range(max(repeat, 1) * (1 if smoke else 4)):
        results.add(
            "S1", "history_core", 1, measure(lambda: _post(client, worst.query))
        )
    results.note(
        f"S1 ({rows:,} history rows): slowest accepted request is {worst.name}, "
        f"{worst.aliases} aliases x {worst.page} rows, estimated cost {worst.cost:,}"
    )


def bench(rows: int, repeat: int) -> None:
    worst, client = search(rows, ALIASES, 3)
    times = [_post(client, worst.query)[0] for _ in range(repeat)]
    print(
        f"slowest accepted: {worst.name}, {worst.aliases} aliases x {worst.page} rows, "
        f"estimated cost {worst.cost:,}: median {statistics.median(times) * 1000:.1f} "
        f"ms, p95 {_p95(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms over "
        f"{repeat} runs (target: under 250 ms)"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    os.environ["BENCH_DB"] = args.db
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django
    from django.test.utils import setup_databases, teardown_databases

    django.setup()
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    try:
        bench(args.rows, args.repeat)
    finally:
        teardown_databases(old, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.path[:] = [
        str(ROOT),
        *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"),
    ]
    sys.exit(main(sys.argv[1:]))
