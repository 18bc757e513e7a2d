"""Reading history: ordering and ties, neighbours, as-of lookups and diffs."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Product
from history_core import (
    ImmutableHistoryError,
    ModelChange,
    NaiveTimestampError,
    get_history_for_model,
)
from tests.testapp.models import Document, Sku

from .helpers import Clock

MICROSECOND = timedelta(microseconds=1)


def _priced_versions(make_product: Any, *prices: str) -> Product:
    """Create a product, then save it once per further price."""
    product = make_product(price=prices[0])
    for price in prices[1:]:
        product.price = Decimal(price)
        product.save()
    return product


@pytest.mark.django_db
def test_latest_earliest_and_earlier(make_product: Any, clock: Clock) -> None:
    product = make_product(price="1.00")
    for price in ("2.00", "3.00"):
        clock.tick()
        product.price = Decimal(price)
        product.save()

    assert product.history.latest().price == Decimal("3.00")
    assert product.history.earliest().price == Decimal("1.00")
    assert product.history.earlier().price == Decimal("2.00")
    assert [r.price for r in product.history.all()] == [
        Decimal("3.00"),
        Decimal("2.00"),
        Decimal("1.00"),
    ]


@pytest.mark.django_db
def test_earlier_needs_two_versions(make_product: Any) -> None:
    product = make_product()
    with pytest.raises(Product.history.model.DoesNotExist, match="fewer than two"):
        product.history.earlier()


@pytest.mark.django_db
def test_equal_timestamps_are_ordered_by_history_id(
    make_product: Any, clock: Clock
) -> None:
    product = _priced_versions(make_product, "1.00", "2.00", "3.00")
    records = list(product.history.order_by("history_id"))
    assert len({r.history_date for r in records}) == 1

    assert [r.history_id for r in product.history.all()] == [
        r.history_id for r in reversed(records)
    ]
    assert product.history.latest().price == Decimal("3.00")
    assert product.history.earliest().price == Decimal("1.00")
    assert product.history.earlier().price == Decimal("2.00")


@pytest.mark.django_db
def test_prev_and_next_record_walk_ties_one_by_one(
    make_product: Any, clock: Clock
) -> None:
    product = _priced_versions(make_product, "1.00", "2.00", "3.00")
    clock.tick()
    product.price = Decimal("4.00")
    product.save()
    first, second, third, fourth = product.history.order_by("history_id")

    assert first.prev_record is None
    assert first.next_record == second
    assert second.prev_record == first
    assert second.next_record == third
    assert third.prev_record == second
    assert third.next_record == fourth
    assert fourth.prev_record == third
    assert fourth.next_record is None


@pytest.mark.django_db
def test_prev_record_stays_within_the_object(make_product: Any, clock: Clock) -> None:
    one, two = make_product(), make_product()
    two.name = "Changed"
    two.save()

    assert two.history.latest().prev_record == two.history.earliest()
    assert one.history.get().next_record is None


@pytest.mark.django_db
def test_as_of_bound_is_inclusive_and_between_changes(
    make_product: Any, clock: Clock
) -> None:
    product = make_product(price="1.00")
    created = clock.now
    changed = clock.tick(10)
    product.price = Decimal("2.00")
    product.save()

    assert product.history.as_of(created).price == Decimal("1.00")
    assert product.history.as_of(changed - MICROSECOND).price == Decimal("1.00")
    assert product.history.as_of(changed).price == Decimal("2.00")
    assert product.history.as_of(changed + timedelta(days=1)).price == Decimal("2.00")


@pytest.mark.django_db
def test_as_of_returns_an_unsaved_instance_of_the_model(
    make_product: Any, clock: Clock
) -> None:
    product = make_product(name="Laptop")
    past = product.history.as_of(clock.now)

    assert isinstance(past, Product)
    assert (past.pk, past.name) == (product.pk, "Laptop")
    assert past._state.adding is False


@pytest.mark.django_db
def test_as_of_at_equal_timestamps_returns_the_last_change(
    make_product: Any, clock: Clock
) -> None:
    product = _priced_versions(make_product, "1.00", "2.00", "3.00")
    assert product.history.as_of(clock.now).price == Decimal("3.00")
    assert [p.price for p in Product.history.as_of(clock.now)] == [Decimal("3.00")]


@pytest.mark.django_db
def test_as_of_before_creation_raises_does_not_exist(
    make_product: Any, clock: Clock
) -> None:
    product = make_product()
    with pytest.raises(Product.DoesNotExist, match="did not exist yet"):
        product.history.as_of(clock.now - MICROSECOND)


@pytest.mark.django_db
def test_as_of_after_deletion_raises_does_not_exist(
    make_product: Any, clock: Clock
) -> None:
    product = make_product()
    deleted_at = clock.tick()
    product.delete()

    with pytest.raises(Product.DoesNotExist, match="had been deleted"):
        product.history.as_of(deleted_at)
    assert product.history.as_of(deleted_at - MICROSECOND).pk is not None


@pytest.mark.django_db
def test_as_of_rejects_naive_timestamps(make_product: Any) -> None:
    product = make_product()
    naive = datetime(2030, 1, 1, 12, 0)  # naive on purpose
    with pytest.raises(NaiveTimestampError, match="no time zone"):
        product.history.as_of(naive)
    with pytest.raises(NaiveTimestampError):
        Product.history.as_of(naive)


@pytest.mark.django_db
def test_model_as_of_returns_each_object_once_leaving_out_deleted(
    make_product: Any, clock: Clock
) -> None:
    kept = make_product(name="Kept", price="1.00")
    gone = make_product(name="Gone", price="1.00")
    before_changes = clock.now
    clock.tick()
    kept.price = Decimal("2.00")
    kept.save()
    kept.price = Decimal("3.00")
    kept.save()
    gone.delete()
    clock.tick()
    make_product(name="Later")

    then = {p.name: p.price for p in Product.history.as_of(before_changes)}
    assert then == {"Kept": Decimal("1.00"), "Gone": Decimal("1.00")}
    after = clock.now - MICROSECOND
    assert [(p.name, p.price) for p in Product.history.as_of(after)] == [
        ("Kept", Decimal("3.00"))
    ]


@pytest.mark.django_db
def test_model_as_of_is_filterable(make_product: Any, clock: Clock) -> None:
    make_product(name="Cheap", price="1.00")
    make_product(name="Dear", price="100.00")

    dear = Product.history.as_of(clock.now).filter(price__gt=10)
    assert [p.name for p in dear] == ["Dear"]


@pytest.mark.django_db
def test_history_filters_on_snapshot_columns(make_product: Any) -> None:
    product = _priced_versions(make_product, "1200.00", "900.00")

    expensive = get_history_for_model(Product).filter(price__gt=1000)
    assert [(r.id, r.price) for r in expensive] == [(product.pk, Decimal("1200.00"))]
    assert Product.history.filter(price__gt=1000).count() == 1


@pytest.mark.django_db
def test_record_instance_is_the_object_as_it_was(make_product: Any) -> None:
    product = _priced_versions(make_product, "1.00", "2.00")
    old = product.history.earliest().instance

    assert isinstance(old, Product)
    assert (old.pk, old.price) == (product.pk, Decimal("1.00"))


@pytest.mark.django_db
def test_diff_against_lists_changes_sorted_by_field(make_product: Any) -> None:
    product = make_product(name="Laptop", price="1.00", description="A")
    product.price = Decimal("2.00")
    product.name = "Notebook"
    product.save()
    new, old = product.history.all()

    delta = new.diff_against(old)

    assert delta.changes == (
        ModelChange("name", "Laptop", "Notebook"),
        ModelChange("price", Decimal("1.00"), Decimal("2.00")),
    )
    assert delta.changed_fields == ("name", "price")
    assert (delta.old_record, delta.new_record) == (old, new)
    assert not any(c.field.startswith("history_") for c in delta.changes)
    with pytest.raises(dataclasses.FrozenInstanceError):
        delta.changes[0].new = "x"  # type: ignore[misc]


@pytest.mark.django_db
def test_diff_against_included_and_excluded_fields(make_product: Any) -> None:
    product = make_product(name="Laptop", price="1.00")
    product.price = Decimal("2.00")
    product.name = "Notebook"
    product.save()
    new, old = product.history.all()

    assert new.diff_against(old, included_fields=["price"]).changed_fields == ("price",)
    assert new.diff_against(old, excluded_fields=["price"]).changed_fields == ("name",)


@pytest.mark.django_db
def test_diff_against_another_model_is_refused(make_product: Any) -> None:
    record = make_product().history.get()
    other = Document.objects.create(title="Doc").history.get()
    with pytest.raises(TypeError, match="Cannot diff"):
        record.diff_against(other)


@pytest.mark.django_db
def test_model_as_of_filters_apply_to_the_state_at_that_instant(
    make_product: Any,
) -> None:
    cheap = make_product(name="Was dear", price=Decimal("2000.00"))
    cheap.price = Decimal("5.00")
    cheap.save()
    dear = make_product(name="Still dear", price=Decimal("1500.00"))
    now = Product.history.latest().history_date
    found = Product.history.filter(price__gt=1000).as_of(now)
    assert [p.name for p in found] == [dear.name]
    before_cut = cheap.history.earliest().history_date
    assert [
        p.name for p in Product.history.filter(price__gt=1000).as_of(before_cut)
    ] == [cheap.name]


@pytest.mark.django_db
def test_history_cannot_be_rewritten_in_bulk(make_product: Any) -> None:
    make_product()
    with pytest.raises(ImmutableHistoryError):
        Product.history.update(price=1)
    with pytest.raises(ImmutableHistoryError):
        Product.history.all().delete()
    assert Product.history.get().price == Decimal("10.00")


@pytest.mark.django_db
def test_as_of_of_an_object_with_a_string_key_and_equal_timestamps(
    clock: Clock,
) -> None:
    sku = Sku.objects.create(code="AB-1", stock=1)
    sku.stock = 2
    sku.save()  # same instant: the later history_id wins
    assert sku.history.as_of(clock.now).stock == 2
    assert Sku.history.for_object("AB-1").as_of(clock.now).stock == 2
    with pytest.raises(Sku.DoesNotExist, match="did not exist yet"):
        sku.history.as_of(clock.now - timedelta(microseconds=1))
