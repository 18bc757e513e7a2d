"""G1/G2: the project's GraphQL history API over HTTP against a plain list.

The history queries are built from the live schema's introspection, so the harness
does not hard-code argument or type shapes: ``productHistory`` (a timeline page with
its user and changes) and ``productsAsOf`` (a page of objects as they were). The
baseline is ``/bench-graphql/``'s plain strawberry-django ``products`` list of the
same number of live rows. When the project's endpoint or fields are missing, the
workloads are skipped with a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client
from graphql import (
    GraphQLObjectType,
    Undefined,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    is_input_object_type,
    is_leaf_type,
    is_non_null_type,
)

import history_core
from bench.harness import Results, measure
from catalog.models import Category, Product

ENDPOINT = "/graphql/"
BASELINE = "/bench-graphql/"
ID_ARGS = {"id", "pk", "productid", "objectid", "product"}
TIME_ARGS = {"asof", "at", "ts", "date", "timestamp", "when"}
PAGE_ARGS = {"first", "limit"}
NESTED = {"historyUser", "changes"}  # the object fields a history page shows


class Skip(Exception):
    """The project's schema cannot run this workload (yet)."""


@dataclass
class Query:
    """A ready GraphQL request: its text, variables and the root field's name."""

    text: str
    variables: dict[str, Any]
    field: str


def _post(client: Client, path: str, query: str, variables: Any = None) -> Any:
    body = json.dumps({"query": query, "variables": variables or {}})
    response = client.post(path, data=body, content_type="application/json")
    if response.status_code == 404:
        raise Skip(f"{path} answers 404: the GraphQL endpoint is not there yet")
    return response.json()


def _plain_fields(type_: GraphQLObjectType) -> list[str]:
    return [
        name
        for name, f in type_.fields.items()
        if is_leaf_type(get_named_type(f.type))
        and not any(is_non_null_type(a.type) for a in f.args.values())
    ]


def _node_selection(node: GraphQLObjectType) -> str:
    """Every scalar of ``node``, and the scalars of its user and its changes."""
    parts = _plain_fields(node)
    for name, f in node.fields.items():
        sub = get_named_type(f.type)
        if name not in NESTED or not isinstance(sub, GraphQLObjectType):
            continue
        leaves = _plain_fields(sub)
        if leaves:
            parts.append(f"{name} {{ {' '.join(leaves)} }}")
    return "{ " + " ".join(parts) + " }"


def _selection(type_: Any) -> str:
    named = get_named_type(type_)
    if "edges" in named.fields:
        edge = get_named_type(named.fields["edges"].type)
        node = get_named_type(edge.fields["node"].type)
        return f"{{ edges {{ node {_node_selection(node)} }} }}"
    if "results" in named.fields:  # strawberry-django's offset-paginated type
        node = get_named_type(named.fields["results"].type)
        return f"{{ results {_node_selection(node)} }}"
    return _node_selection(named)


def _argument_value(name: str, arg: Any, pk: int, ts: datetime, page: int) -> Any:
    named = get_named_type(arg.type)
    key = name.lower()
    if key in ID_ARGS:
        return str(pk) if named.name == "ID" else pk
    if key in TIME_ARGS or (named.name == "DateTime" and is_non_null_type(arg.type)):
        return ts.isoformat()
    if key in PAGE_ARGS:
        return page
    if key == "pagination" and is_input_object_type(named):
        return {"limit": page, "offset": 0}
    return None


def build_query(
    schema: Any, field_name: str, pk: int, ts: datetime, page: int
) -> Query:
    """A query of ``field_name`` for ``page`` items, arguments filled by their names."""
    field = schema.query_type.fields.get(field_name)
    if field is None:
        raise Skip(f"the schema has no `{field_name}` field yet")
    declared, passed, variables = [], [], {}
    paged = False
    for name, arg in field.args.items():
        value = _argument_value(name, arg, pk, ts, page)
        if value is not None and name.lower() in PAGE_ARGS | {"pagination"}:
            if paged:
                continue
            paged = True
        if value is None:
            if is_non_null_type(arg.type) and arg.default_value is Undefined:
                raise Skip(f"cannot fill the required argument {field_name}({name})")
            continue
        declared.append(f"${name}: {arg.type}")
        passed.append(f"{name}: ${name}")
        variables[name] = value
    head = f"query Bench({', '.join(declared)})" if declared else "query Bench"
    call = f"{field_name}({', '.join(passed)})" if passed else field_name
    return Query(f"{head} {{ {call} {_selection(field.type)} }}", variables, field_name)


def _count(data: Any) -> int:
    if isinstance(data, dict):
        for key in ("edges", "results"):
            if key in data:
                return len(data[key])
        return 1
    return len(data) if isinstance(data, list) else 0


def _seed(timeline: int, objects: int) -> tuple[Any, int, datetime]:
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    category = Category.objects.create(name="bench")
    with history_core.context(user=user, reason="bench"):
        product = Product.objects.create(name="v0", price=Decimal("1.00"))
        for i in range(1, timeline + 5):
            product.price += 1
            product.name = f"v{i}"
            product.save()
        Product.objects.bulk_create(
            Product(name=f"p{i}", price=Decimal("2.00"), category=category)
            for i in range(objects + 5)
        )
        Product.objects.filter(category=category).update(description="changed")
    return user, product.pk, datetime.now(UTC)


def _run(client: Client, path: str, query: Query, expected: int) -> int:
    body = _post(client, path, query.text, query.variables)
    if body.get("errors"):
        raise Skip(f"{query.field} answered errors: {json.dumps(body['errors'])[:400]}")
    got = _count(body["data"][query.field])
    if got != expected:
        raise Skip(f"{query.field} returned {got} items, expected {expected}")
    return got


def _baseline(page: int) -> Query:
    text = (
        "query Bench($p: OffsetPaginationInput) { products(pagination: $p) "
        "{ id name price description category { id name } } }"
    )
    return Query(text, {"p": {"limit": page, "offset": 0}}, "products")


def run_graphql(
    results: Results, sizes: dict[str, Any], repeat: int, only: Any
) -> None:
    """G1 and G2, each against the plain list of the same size."""
    wanted = [w for w in ("G1", "G2") if not only or w in only]
    if not wanted:
        return
    g1_page, g2_page = sizes["g1_page"], sizes["g2_page"]
    user, pk, ts = _seed(g1_page, g2_page)
    client = Client()
    client.force_login(user)
    try:
        intro = _post(client, ENDPOINT, get_introspection_query())
        schema = build_client_schema(intro["data"])
    except Skip as skip:
        results.note(f"G1/G2 skipped: {skip}")
        return
    fields = {"G1": "productHistory", "G2": "productsAsOf"}
    pages = {"G1": g1_page, "G2": g2_page}
    for workload in wanted:
        try:
            _workload(
                results,
                client,
                schema,
                workload,
                fields[workload],
                pages[workload],
                pk,
                ts,
                repeat,
                sizes["g_requests"],
            )
        except Skip as skip:
            results.note(f"{workload} skipped: {skip}")


def _workload(
    results: Results,
    client: Client,
    schema: Any,
    workload: str,
    field: str,
    page: int,
    pk: int,
    ts: datetime,
    repeat: int,
    requests: int,
) -> None:
    print(f"{workload}: {field} page of {page} over HTTP", flush=True)
    small = max(1, page // 5)
    counts = {}
    for size in (small, page):
        query = build_query(schema, field, pk, ts, size)
        counts[size] = measure(
            lambda q=query, s=size: _run(client, ENDPOINT, q, s)
        ).queries
    constant = "constant" if counts[small] == counts[page] else "NOT constant"
    results.note(
        f"{workload} SQL queries per request: page {small} -> {counts[small]}, "
        f"page {page} -> {counts[page]} ({constant})"
    )
    systems = [
        ("plain", BASELINE, _baseline(page)),
        ("history_core", ENDPOINT, build_query(schema, field, pk, ts, page)),
    ]
    results.note(f"{workload} query: {systems[1][2].text}")
    for rep in range(repeat):
        for name, path, query in systems[rep % 2 :] + systems[: rep % 2]:
            for _ in range(requests):
                sample = measure(lambda p=path, q=query: _run(client, p, q, page))
                results.add(workload, name, 1, sample)
