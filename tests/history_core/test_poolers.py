"""Who and why never land on another client's write, whatever pools the connections.

Concurrent writers, each with its own user, reason and meta (and some with none),
write through every path (ORM, querysets, raw SQL with and without parameters,
``executemany()``, server-side binding, transactions, deletes, statements whose
text hides the table) behind PgBouncer in transaction mode with two server
connections, behind Django's own connection pool, and directly. Afterwards every
version must carry exactly its own writer's context, and a write made with none
must carry none.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction

from catalog.models import Product
from history_core import context
from tests.services import pgbouncer

ALIASES = ["pgbouncer", "pgbouncer_ssb", "direct_ssb", "django_pool"]
ON_POSTGRESQL = connection.vendor == "postgresql"
pytestmark = [
    pytest.mark.skipif(not ON_POSTGRESQL, reason="poolers sit in front of PostgreSQL"),
    pytest.mark.django_db(
        transaction=True, databases=["default", *(ALIASES if ON_POSTGRESQL else [])]
    ),
]

WRITERS = 8
ROUNDS = 14
TABLE = Product._meta.db_table
Expected = tuple[int | None, str | None, dict[str, Any]]


# -- write paths: each writes rows whose name starts with ``tag`` ------------------


def _create(alias: str, tag: str) -> Product:
    return Product.objects.using(alias).create(name=tag, price=1)


def orm_create(alias: str, tag: str) -> None:
    _create(alias, tag)


def orm_save(alias: str, tag: str) -> None:
    product = _create(alias, f"{tag}:new")
    product.name = tag
    product.save(using=alias)


def queryset_update(alias: str, tag: str) -> None:
    product = _create(alias, f"{tag}:new")
    Product.objects.using(alias).filter(pk=product.pk).update(name=tag)


def bulk_create(alias: str, tag: str) -> None:
    Product.objects.using(alias).bulk_create(
        [Product(name=f"{tag}:{n}", price=n) for n in range(3)]
    )


def delete(alias: str, tag: str) -> None:
    _create(alias, tag).delete(using=alias)


def in_transaction(alias: str, tag: str) -> None:
    with transaction.atomic(using=alias):
        product = _create(alias, f"{tag}:new")
        Product.objects.using(alias).filter(pk=product.pk).update(name=tag)


def _raw(name: str, statement: str, params: Any = None) -> Callable[[str, str], None]:
    def run(alias: str, tag: str) -> None:
        pk = _create(alias, f"{tag}:new").pk
        values = {"tag": tag, "pk": pk, "table": TABLE}
        with connections[alias].cursor() as cursor:
            if params is None:
                cursor.execute(statement.format(**values))
            else:
                cursor.execute(statement.format(table=TABLE), params(tag, pk))

    run.__name__ = name
    return run


raw_with_params = _raw(
    "raw_with_params", "UPDATE {table} SET name = %s WHERE id = %s", lambda t, p: [t, p]
)
raw_named_params = _raw(
    "raw_named_params",
    "UPDATE {table} SET name = %(tag)s WHERE id = %(pk)s",
    lambda t, p: {"tag": t, "pk": p},
)
raw_without_params = _raw(
    "raw_without_params", "UPDATE {table} SET name = '{tag}' WHERE id = {pk}"
)
raw_upper_case = _raw(
    "raw_upper_case", "update public.{table} SET NAME = '{tag}' WHERE ID = {pk}"
)
raw_commented = _raw(
    "raw_commented",
    "/* a comment */ -- and another\n UPDATE \"{table}\" /* ; */ SET name = '{tag}' "
    "WHERE id = {pk}",
)
raw_cte = _raw(
    "raw_cte",
    "WITH changed AS (UPDATE {table} SET name = '{tag}' WHERE id = {pk} "
    "RETURNING id) SELECT count(*) FROM changed",
)
raw_explain_analyze = _raw(
    "raw_explain_analyze",
    "EXPLAIN ANALYZE UPDATE {table} SET name = '{tag}' WHERE id = {pk}",
)
raw_merge = _raw(
    "raw_merge",
    "MERGE INTO {table} t USING (SELECT {pk} AS id) s ON t.id = s.id "
    "WHEN MATCHED THEN UPDATE SET name = '{tag}'",
)


def executemany(alias: str, tag: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {TABLE} (name, price, description) VALUES (%s, %s, '')",  # noqa: S608
            [(f"{tag}:{n}", n) for n in range(3)],
        )


PATHS = [
    orm_create,
    orm_save,
    queryset_update,
    bulk_create,
    delete,
    in_transaction,
    raw_with_params,
    raw_named_params,
    raw_without_params,
    raw_upper_case,
    raw_commented,
    raw_cte,
    raw_explain_analyze,
    raw_merge,
    executemany,
]


# -- the connections under test -------------------------------------------------------


@pytest.fixture(scope="module")
def bouncer() -> Iterator[int]:
    """PgBouncer on the port the ``pgbouncer`` aliases of tests/settings.py name."""
    base = connections["default"].settings_dict
    with pgbouncer(
        int(base["PORT"] or 5432), base["USER"] or "root", port=settings.POOLER_PORT
    ) as port:
        yield port


@pytest.fixture
def alias_for(request: Any) -> Iterator[Callable[[str], str]]:
    """Return the alias of one kind of connection; PgBouncer started when needed."""
    used: list[str] = []

    def get(kind: str) -> str:
        if kind.startswith("pgbouncer"):
            request.getfixturevalue("bouncer")
        used.append(kind)
        return kind

    yield get
    for alias in used:
        if alias != "default":
            connections[alias].close()
        if alias == "django_pool":  # its idle connections would outlive the tests
            connections[alias].close_pool()


def _writer(
    alias: str, writer: int, user: Any, expected: dict[str, Expected], errors: list[Any]
) -> None:
    try:
        for round_ in range(ROUNDS):
            path = PATHS[(writer + round_) % len(PATHS)]
            tag = f"w{writer}r{round_}{path.__name__}"
            if round_ % 4 == 0:  # a write with no context at all
                expected[tag] = (None, None, {})
                path(alias, tag)
            else:
                reason = f"because {tag}"
                meta = {"writer": writer, "round": round_, "tag": tag}
                expected[tag] = (user.pk, reason, meta)
                with context(user=user, reason=reason, **meta):
                    path(alias, tag)
            if alias == "django_pool":
                connections[alias].close()  # back to the pool for another thread
    except BaseException as error:  # noqa: BLE001 - reported by the test thread
        errors.append(error)
    finally:
        connections[alias].close()


def _run_writers(alias: str) -> dict[str, Expected]:
    users = [get_user_model().objects.create_user(f"writer{n}") for n in range(WRITERS)]
    expected: dict[str, Expected] = {}
    errors: list[Any] = []
    threads = [
        threading.Thread(target=_writer, args=(alias, n, users[n], expected, errors))
        for n in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    return expected


def _attribution(expected: dict[str, Expected]) -> tuple[list[Any], set[str]]:
    wrong = []
    seen = set()
    for record in Product.history.order_by("history_id"):
        tag = record.name.split(":")[0]
        seen.add(tag)
        actual = (
            record.history_user_id,
            record.history_change_reason,
            record.history_context,
        )
        if actual != expected[tag]:
            wrong.append((record.history_type, record.name, actual, expected[tag]))
    return wrong, seen


@pytest.mark.parametrize("kind", ["default", *ALIASES])
def test_concurrent_writers_each_get_exactly_their_own_context(
    kind: str, alias_for: Callable[[str], str]
) -> None:
    alias = alias_for(kind)
    expected = _run_writers(alias)
    wrong, seen = _attribution(expected)
    assert wrong == [], f"{len(wrong)} misattributed version(s): {wrong[:5]}"
    assert seen == set(expected), "writes without their version"
    # Every path ran with a context and without one.
    names = {p.__name__ for p in PATHS}
    for with_context in (True, False):
        ran = {
            tag.split("r", 1)[1].lstrip("0123456789")
            for tag, (_, reason, _) in expected.items()
            if (reason is not None) == with_context
        }
        assert ran == names


def test_a_write_after_a_context_ends_carries_none_on_the_same_pooled_session(
    alias_for: Callable[[str], str], user: Any
) -> None:
    """One client, PgBouncer with one server connection: nothing outlives a statement."""
    alias = alias_for("pgbouncer_ssb")
    for path in (executemany, raw_with_params, raw_without_params, orm_save):
        with context(user=user, reason="inside"):
            path(alias, f"in-{path.__name__}")
        path(alias, f"out-{path.__name__}")
    records = list(Product.history.all())
    assert records
    for record in records:
        inside = record.name.startswith("in-")
        assert record.history_change_reason == ("inside" if inside else None)
        assert record.history_user_id == (user.pk if inside else None)
