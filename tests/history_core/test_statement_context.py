"""A tracked write made inside a context carries it, whatever its SQL looks like.

Which statements get the context never depends on matching table names: case,
quoting, schemas, comments, CTEs, ``MERGE``, ``EXPLAIN ANALYZE`` and named
parameters all carry it, and reads inside a context still return what they return.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from catalog.models import Product
from history_core import context

from .helpers import Clock

POSTGRESQL = connection.vendor == "postgresql"
TABLE = Product._meta.db_table
SCHEMA = "public" if POSTGRESQL else "main"
SHAPES = {
    "upper case": "UPDATE {upper} SET NAME = 'x' WHERE ID = {pk}",
    "schema-qualified": "update {schema}.{table} set name = 'x' where id = {pk}",
    "quoted": 'UPDATE "{table}" SET "name" = \'x\' WHERE "id" = {pk}',
    "leading comments": "-- why\n/* what */ UPDATE {table} SET name = 'x' WHERE id = {pk}",
    "comments inside": "UPDATE /* {table} */ {table} -- ;\n SET name = 'x' WHERE id = {pk}",
    "parenthesised CTE": (
        "WITH c AS (SELECT {pk} AS id) UPDATE {table} SET name = 'x' "
        "WHERE id IN (SELECT id FROM c)"
    ),
    "lower-case insert": (
        "insert into {table} (name, price, description) values ('x', 1, '')"
    ),
}
if POSTGRESQL:
    SHAPES |= {
        "data-modifying CTE": (
            "WITH c AS (UPDATE {table} SET name = 'x' WHERE id = {pk} RETURNING id) "
            "SELECT count(*) FROM c"
        ),
        "EXPLAIN ANALYZE": "EXPLAIN ANALYZE UPDATE {table} SET name = 'x' WHERE id = {pk}",
        "MERGE": (
            "MERGE INTO {table} t USING (SELECT {pk} AS id) s ON t.id = s.id "
            "WHEN MATCHED THEN UPDATE SET name = 'x'"
        ),
        "DO block": (
            "DO $$ BEGIN UPDATE {table} SET name = 'x' WHERE id = {pk}; END $$"
        ),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("params", [False, True], ids=["literal", "with-params"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_shape_of_a_write_carries_the_context(
    shape: str, params: bool, make_product: Any, user: Any
) -> None:
    product = make_product()
    sql = SHAPES[shape].format(
        table=TABLE, upper=TABLE.upper(), schema=SCHEMA, pk=product.pk
    )
    with context(user=user, reason=shape, shape=shape), connection.cursor() as cursor:
        if params:  # the same statement with a parameter, so % must survive
            cursor.execute(sql.replace("'x'", "%s"), ["x"])
        else:
            cursor.execute(sql)
    record = Product.history.latest()
    assert record.name == "x"
    assert (record.history_user_id, record.history_change_reason) == (user.pk, shape)
    assert record.history_context == {"shape": shape}


@pytest.mark.django_db
def test_named_parameters_and_percent_signs_inside_a_context(make_product: Any) -> None:
    product = make_product()
    with context(reason="100% sure", note="50%"), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET name = %(name)s WHERE id = %(pk)s",  # noqa: S608
            {"name": "50% off", "pk": product.pk},
        )
        cursor.execute(f"SELECT name FROM {TABLE} WHERE id = %s", [product.pk])  # noqa: S608
        assert cursor.fetchall() == [("50% off",)]
    record = Product.history.latest()
    assert (record.name, record.history_change_reason) == ("50% off", "100% sure")
    assert record.history_context == {"note": "50%"}


@pytest.mark.django_db
def test_a_write_returning_rows_inside_a_context_returns_them(
    make_product: Any,
) -> None:
    product = make_product()
    with context(reason="r"), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET name = 'y' WHERE id = %s RETURNING id, name",  # noqa: S608
            [product.pk],
        )
        assert cursor.fetchall() == [(product.pk, "y")]
        assert cursor.rowcount == 1


@pytest.mark.django_db
def test_a_write_outside_any_context_is_sent_as_written(
    make_product: Any, queries: Any
) -> None:
    product = make_product()
    product.name = "plain"
    with queries() as captured:
        product.save()
    [update] = [q["sql"] for q in captured.captured_queries]
    assert update.startswith(f'UPDATE "{TABLE}" SET')
    record = Product.history.latest()
    assert (record.name, record.history_change_reason) == ("plain", None)
    assert (record.history_user_id, record.history_context) == (None, {})


@pytest.mark.django_db
def test_record_noop_saves_applies_outside_a_context(
    make_product: Any, settings: Any
) -> None:
    product = make_product()
    settings.HISTORY_CORE = {"RECORD_NOOP_SAVES": True}
    product.save()  # nothing changed
    assert [r.history_type for r in product.history.all()] == ["~", "+"]


@pytest.mark.django_db
def test_the_python_clock_applies_outside_a_context(
    make_product: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = make_product()
    settings.HISTORY_CORE = {"CLOCK": "python"}
    frozen = Clock()
    monkeypatch.setattr("django.utils.timezone.now", frozen)
    product.name = "timed"
    product.save()
    assert Product.history.latest().history_date == frozen.now
