"""Reading records: each one holds the same values, however Django loads it.

Records read in full are built straight from their row (``HistoricalRecordBase.
from_db``); partial rows and models with ``pre_init`` / ``post_init`` receivers take
Django's own path. Both must give the same record.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.db import models
from django.db.models.signals import post_init, pre_init

import history_core
from catalog.models import Product


def _stored(record: Any) -> dict[str, Any]:
    """A record's values and load state, as plain data that compares by value."""
    values = {k: v for k, v in vars(record).items() if k != "_state"}
    return {**values, "_state": (record._state.adding, record._state.db)}


@contextmanager
def _receiving(signal: Any, sender: Any) -> Iterator[list[Any]]:
    """Collect the instances ``signal`` is sent for while the block runs."""
    seen: list[Any] = []

    def receive(**kwargs: Any) -> None:
        seen.append(kwargs.get("instance", kwargs.get("kwargs")))

    signal.connect(receive, sender=sender, weak=False, dispatch_uid="test_loading")
    try:
        yield seen
    finally:
        signal.disconnect(sender=sender, dispatch_uid="test_loading")


def _edited(make_product: Any, user: Any) -> Product:
    product = make_product(price="1.00")
    with history_core.context(user=user, reason="review", ticket="T-7"):
        for price in ("2.00", "3.00"):
            product.price = Decimal(price)
            product.save()
    return product


@pytest.mark.django_db
def test_records_read_in_full_equal_those_django_builds(
    make_product: Any, user: Any
) -> None:
    product = _edited(make_product, user)
    fast = [_stored(r) for r in product.history.all()]
    historical = Product.history.model
    with _receiving(post_init, historical):  # a receiver: Django's own path
        django = [_stored(r) for r in product.history.all()]

    assert fast == django
    assert [r["price"] for r in fast] == [Decimal(p) for p in ("3.00", "2.00", "1.00")]
    assert fast[0]["history_changed_fields"] == ["price"]
    assert fast[0]["history_context"] == {"ticket": "T-7"}
    assert fast[0]["_state"] == (False, "default")


@pytest.mark.django_db
def test_init_receivers_of_a_historical_model_see_every_record(
    make_product: Any, user: Any
) -> None:
    product = _edited(make_product, user)
    historical = Product.history.model
    with (
        _receiving(pre_init, historical) as before,
        _receiving(post_init, historical) as after,
    ):
        records = list(product.history.all())

    assert len(before) == len(after) == len(records) == 3
    assert after == records


@pytest.mark.django_db
def test_records_read_in_full_work_as_model_instances(
    make_product: Any, user: Any, django_assert_num_queries: Any
) -> None:
    product = _edited(make_product, user)
    record = product.history.latest()

    with django_assert_num_queries(1):
        assert record.history_user == user
    with django_assert_num_queries(0):
        assert record.history_user == user  # cached like any foreign key
    assert record.instance.price == Decimal("3.00")
    assert record.prev_record is not None
    assert record.diff_against(record.prev_record).changed_fields == ("price",)
    assert record == Product.history.model.objects.get(pk=record.pk)


@pytest.mark.django_db
def test_deferred_fields_of_records_load_on_access(
    make_product: Any, user: Any, django_assert_num_queries: Any
) -> None:
    product = _edited(make_product, user)
    record = product.history.only("history_id", "price").latest()

    assert record.get_deferred_fields() >= {"name", "history_context"}
    with django_assert_num_queries(1):
        assert record.name == product.name
    assert record.price == Decimal("3.00")
    assert product.history.defer("description").latest().history_type == "~"


@pytest.mark.django_db
def test_each_record_has_its_own_metadata_values(make_product: Any, user: Any) -> None:
    product = _edited(make_product, user)
    newer, older, _ = product.history.all()
    newer.history_changed_fields.append("name")
    newer.history_context["ticket"] = "changed"

    assert older.history_changed_fields == ["price"]
    assert older.history_context == {"ticket": "T-7"}
    again = product.history.latest()
    assert again.history_changed_fields == ["price"]
    assert again.history_context == {"ticket": "T-7"}
    values = product.history.values_list("history_changed_fields", flat=True)
    assert list(values) == [["price"], ["price"], []]


@pytest.mark.django_db(databases=["default", "replica"])
def test_records_remember_the_database_they_were_read_from() -> None:
    product = Product.objects.using("replica").create(name="Lamp", price=1)
    product.price = Decimal("2.00")
    product.save()

    records = list(product.history.all())
    assert [(r._state.db, r._state.adding) for r in records] == [("replica", False)] * 2
    assert not Product.history.using("default").exists()
    assert records[0].prev_record == records[1]  # read from the same database


@pytest.mark.skipif(
    not hasattr(models.QuerySet, "fetch_mode"), reason="fetch modes: Django 6.1+"
)
@pytest.mark.django_db
def test_records_keep_the_fetch_mode_of_their_queryset(
    make_product: Any, user: Any, django_assert_num_queries: Any
) -> None:
    product = _edited(make_product, user)
    mode: Any = models.FETCH_PEERS  # type: ignore[attr-defined]
    records = list(product.history.fetch_mode(mode))  # type: ignore[attr-defined]

    assert {r._state.fetch_mode for r in records} == {mode}
    with django_assert_num_queries(1):  # one query for the users of every peer
        assert [r.history_user for r in records] == [user, user, None]
