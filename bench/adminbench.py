"""A1-A6: the admin's change log page (``ChangeLogAdmin``) over HTTP, on R2's data.

Opt-in: run with ``--only A1,...`` (or ``--only A``); ``--smoke`` runs them too, on
the smoke's tiny data. The history of ``TrackedItem`` is built set-based as for R2
(``objects x versions + rare`` rows), plus a user on every tenth object's versions
and change reasons: ``nightly stock sync`` on every tenth version, and ``price
audit`` on 25 versions spread over the whole table (what A4 searches for). Each page
is rendered by Django's test client, logged in as a superuser:

* A1: the first page, unfiltered;
* A2: ``kind=+`` (created: each object's first version, all in the oldest part);
* A3: ``user=<the user of every tenth object>``;
* A4: ``q=audit`` (reason contains; 25 rows in the whole table);
* A5: the page after 20 pages of ``after`` cursors, unfiltered;
* A6: ``kind=-`` (deleted: 25 rows spread over the table; a partial index).

Per request: median, p95 and SQL queries (the session and user lookups included).
Then ``EXPLAIN (ANALYZE, BUFFERS)`` (SQLite: ``EXPLAIN QUERY PLAN``) of the
change log's query on the history table, for A1 and A4.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.dataset import Shape, build
from bench.harness import Results, measure
from bench.systems import System

URL = "/admin/history_core/changelog/"
USERNAME = "bench-admin"
EDITOR = "bench-editor"
DEEP = 20  # A5: pages followed before the one timed
AUDITS = 25  # A4: rows whose reason matches
ROW = 'class="hc-date"'
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
WORKLOADS = ("A1", "A2", "A3", "A4", "A5", "A6")


def wanted(only: set[str] | None, smoke: bool) -> list[str]:
    """The A workloads to run: those ``--only`` names, or all of them in a smoke."""
    if only is None:
        return list(WORKLOADS) if smoke else []
    if "A" in only:
        return list(WORKLOADS)
    return [w for w in WORKLOADS if w in only]


def _users() -> tuple[Any, Any]:
    users = get_user_model()._default_manager
    admin = users.filter(username=USERNAME).first() or users.create_superuser(
        USERNAME, "bench-admin@example.com", "x"
    )
    editor = users.filter(username=EDITOR).first() or users.create_user(EDITOR)
    return admin, editor


def _build(system: System, shape: Shape, editor_id: int) -> None:
    stride = max(1, shape.objects * shape.versions // AUDITS)
    extra = {
        "history_user_id": f"CASE WHEN o % 10 = 0 THEN {int(editor_id)} END",
        "history_change_reason": (
            f"CASE WHEN (v * {shape.objects} + o) % {stride} = 0 THEN 'price audit' "
            "WHEN v % 10 = 0 THEN 'nightly stock sync' END"
        ),
        # A6: as many deletions, spread over the table too.
        "history_type": (
            f"CASE WHEN v = 0 THEN '+' WHEN (v * {shape.objects} + o) % {stride} = "
            f"{stride // 2} THEN '-' ELSE '~' END"
        ),
    }
    build(system, shape, max(shape.objects + shape.rare, shape.versions), extra)


def _get(client: Client, url: str) -> str:
    response = client.get(url, secure=True)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return response.content.decode()


def _next_url(page: str) -> str | None:
    found = NEXT.search(page)
    return URL + html.unescape(found.group(1)) if found else None


def _deep_url(client: Client, pages: int) -> str:
    url = URL
    for _ in range(pages):
        nxt = _next_url(_get(client, url))
        if nxt is None:  # a small table: its last page
            break
        url = nxt
    return url


def run_admin(
    results: Results,
    system: System,
    sizes: dict[str, Any],
    repeat: int,
    workloads: list[str],
) -> None:
    """Build R2's data with users and reasons, then time the change log's pages."""
    if not workloads:
        return
    shape: Shape = sizes["r2"]
    admin, editor = _users()
    print(f"building A data: {shape} with users and reasons", flush=True)
    _build(system, shape, editor.pk)
    client = Client()
    client.force_login(admin)
    urls = {
        "A1": URL,
        "A2": f"{URL}?kind=%2B",
        "A3": f"{URL}?user={EDITOR}",
        "A4": f"{URL}?q=audit",
        "A6": f"{URL}?kind=-",
    }
    if "A5" in workloads:
        urls["A5"] = _deep_url(client, DEEP)
    for workload in workloads:
        page = _get(client, urls[workload])  # warm-up, and the rows it shows
        results.note(f"{workload}: GET {urls[workload]} shows {page.count(ROW)} rows")
    print(
        f"A1-A6: change log pages over {shape.history_rows} history rows, "
        f"{sizes['a_requests']} requests each per repetition",
        flush=True,
    )
    for rep in range(repeat):
        order = workloads[rep % len(workloads) :] + workloads[: rep % len(workloads)]
        for workload in order:
            url = urls[workload]
            for _ in range(sizes["a_requests"]):
                sample = measure(partial(_get, client, url))
                results.add(workload, system.name, 1, sample)
    table = system.history_model._meta.db_table
    for workload, label in (
        ("A1", "first page"),
        ("A4", "reason search q=audit"),
        ("A6", "deletions kind=-"),
    ):
        if workload in workloads:
            _explain(results, client, urls[workload], table, label)


def _captured(call: Callable[[], Any], table: str) -> str:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return next(
        str(q["sql"]) for q in ctx.captured_queries if f'"{table}"' in str(q["sql"])
    )


def _explain(
    results: Results, client: Client, url: str, table: str, label: str
) -> None:
    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS) "
        if connection.vendor == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    sql = _captured(partial(_get, client, url), table)
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        plan = "\n".join(" | ".join(map(str, row)) for row in cursor.fetchall())
    results.plans.append((f"change log, {label} ({url})", sql, plan))
