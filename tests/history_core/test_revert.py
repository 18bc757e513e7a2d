"""Reverting to a version: restores values, records a new version, never edits history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from catalog.models import Product
from history_core import RevertConflict, RevertError
from history_core.diff import ModelChange
from tests.testapp.models import Document, Part

from .helpers import versions


def _product_with_prices(make_product: Any, *prices: str) -> Product:
    product = make_product(name="Laptop", price=prices[0])
    for price in prices[1:]:
        product.price = Decimal(price)
        product.save()
    return product


@pytest.mark.django_db
def test_revert_restores_values_and_records_a_new_version(
    make_product: Any, user: Any
) -> None:
    product = _product_with_prices(make_product, "10.00", "20.00", "30.00")
    first = product.history.earliest()

    result = first.revert(user=user, reason="undo repricing")

    product.refresh_from_db()
    assert product.price == Decimal("10.00")
    assert result.changes == (ModelChange("price", Decimal("30.00"), Decimal("10.00")),)
    assert result.restored is False
    new = product.history.latest()
    assert result.record == new
    assert (new.history_type, new.price, new.history_changed_fields) == (
        "~",
        Decimal("10.00"),
        ["price"],
    )
    assert new.history_context["reverted_from"] == first.history_id
    assert (new.history_user, new.history_change_reason) == (user, "undo repricing")
    assert product.history.count() == 4


@pytest.mark.django_db
def test_revert_never_modifies_existing_versions(make_product: Any) -> None:
    product = _product_with_prices(make_product, "10.00", "20.00")
    before = list(product.history.order_by("history_id").values())

    product.history.earliest().revert()

    after = list(product.history.order_by("history_id").values())
    assert after[: len(before)] == before


@pytest.mark.django_db
def test_revert_to_the_current_state_writes_nothing(make_product: Any) -> None:
    product = _product_with_prices(make_product, "10.00", "20.00")
    result = product.history.latest().revert()

    assert (result.record, result.changes) == (None, ())
    assert product.history.count() == 2


@pytest.mark.django_db
def test_revert_of_a_deleted_object_brings_it_back_with_its_pk(
    make_product: Any,
) -> None:
    product = _product_with_prices(make_product, "10.00", "20.00")
    pk = product.pk
    product.delete()
    last_live = product.history.filter(history_type="~").get()

    result = last_live.revert(reason="undelete")

    restored = Product.objects.get(pk=pk)
    assert (restored.name, restored.price) == ("Laptop", Decimal("20.00"))
    assert result.restored is True
    assert versions(Product(pk=pk), "price") == [
        ("+", Decimal("10.00")),
        ("~", Decimal("20.00")),
        ("-", Decimal("20.00")),
        ("+", Decimal("20.00")),
    ]
    new = Product.history.filter(id=pk).latest()
    assert new.history_context == {"reverted_from": last_live.history_id}
    assert new.history_change_reason == "undelete"


@pytest.mark.django_db
def test_revert_with_stale_expected_latest_raises_conflict_and_writes_nothing(
    make_product: Any,
) -> None:
    product = _product_with_prices(make_product, "10.00", "20.00")
    seen = product.history.latest()
    product.price = Decimal("25.00")  # someone else changes it meanwhile
    product.save()

    with pytest.raises(RevertConflict, match=r"catalog\.Product .* newer than"):
        product.history.earliest().revert(expected_latest=seen)

    assert Product.objects.get(pk=product.pk).price == Decimal("25.00")
    assert product.history.count() == 3


@pytest.mark.django_db
def test_revert_with_current_expected_latest_applies(make_product: Any) -> None:
    product = _product_with_prices(make_product, "10.00", "20.00")
    latest = product.history.latest()

    product.history.earliest().revert(expected_latest=latest.history_id)

    assert Product.objects.get(pk=product.pk).price == Decimal("10.00")


@pytest.mark.django_db
def test_partial_revert_restores_only_the_given_fields(make_product: Any) -> None:
    product = make_product(name="Laptop", price="10.00")
    product.name = "Notebook"
    product.price = Decimal("20.00")
    product.save()

    product.history.earliest().revert(fields=["price"])

    product.refresh_from_db()
    assert (product.name, product.price) == ("Notebook", Decimal("10.00"))
    assert product.history.latest().history_changed_fields == ["price"]


@pytest.mark.django_db
def test_dry_run_reports_changes_and_writes_nothing(make_product: Any) -> None:
    product = _product_with_prices(make_product, "10.00", "20.00")

    result = product.history.earliest().revert(dry_run=True)

    assert result.changes == (ModelChange("price", Decimal("20.00"), Decimal("10.00")),)
    assert result.record is None
    assert result.instance.price == Decimal("10.00")
    assert Product.objects.get(pk=product.pk).price == Decimal("20.00")
    assert product.history.count() == 2


@pytest.mark.django_db
def test_a_dry_run_locks_the_row_only_if_no_writer_holds_it(
    make_product: Any, queries: Any
) -> None:
    from django.db import connection

    product = make_product(name="Old")
    first = product.history.latest()
    product.name = "New"
    product.save()
    with queries() as dry:
        first.revert(dry_run=True)  # a preview: NOWAIT, so it never waits
    with queries() as real:
        first.revert()
    dry_locks = [q["sql"] for q in dry.captured_queries if "FOR UPDATE" in q["sql"]]
    real_locks = [q["sql"] for q in real.captured_queries if "FOR UPDATE" in q["sql"]]
    assert (
        bool(dry_locks) == bool(real_locks) == connection.features.has_select_for_update
    )
    assert all("NOWAIT" in sql for sql in dry_locks)
    assert not any("NOWAIT" in sql for sql in real_locks)


def test_revert_of_an_unknown_field_is_refused(make_product: Any) -> None:
    product = _product_with_prices(make_product, "10.00", "20.00")
    with pytest.raises(RevertError, match="no tracked field named colour"):
        product.history.earliest().revert(fields=["colour"])
    assert product.history.count() == 2


@pytest.mark.django_db
def test_revert_violating_a_constraint_raises_and_writes_nothing() -> None:
    document = Document.objects.create(title="Alpha")
    document.title = "Beta"
    document.save()
    Document.objects.create(title="Alpha")  # takes the old title

    with pytest.raises(
        RevertError, match="violates a uniqueness, check or relation constraint"
    ):
        document.history.earliest().revert()

    assert Document.objects.get(pk=document.pk).title == "Beta"
    assert document.history.count() == 2
    assert Document.objects.count() == 2


@pytest.mark.django_db
def test_revert_error_does_not_show_the_database_message() -> None:
    document = Document.objects.create(title="Alpha")
    document.title = "Beta"
    document.save()
    Document.objects.create(title="Alpha")
    with pytest.raises(RevertError) as caught:
        document.history.earliest().revert()
    message = str(caught.value)
    assert "Alpha" not in message and "testapp_document" not in message


@pytest.mark.django_db
def test_revert_keeps_excluded_fields_of_the_live_object() -> None:
    document = Document.objects.create(title="Alpha", body="v1", secret="keep me")
    document.body = "v2"
    document.save()

    document.history.earliest().revert()

    document.refresh_from_db()
    assert (document.body, document.secret) == ("v1", "keep me")


@pytest.mark.django_db
def test_revert_leaves_auto_now_fields_to_the_save() -> None:
    document = Document.objects.create(title="Notes", body="v1")
    first = document.history.earliest()
    document.body = "v2"
    document.save()
    result = first.revert()
    assert [c.field for c in result.changes] == ["body"]
    document.refresh_from_db()
    assert document.body == "v1"
    assert document.updated_at > first.updated_at


@pytest.mark.django_db(transaction=True)
def test_revert_to_a_relation_that_is_gone_fails_inside_the_callers_transaction(
    make_category: Any, make_product: Any
) -> None:
    category = make_category()
    product = make_product(category=category)
    with_category = product.history.get()
    product.category = None
    product.save()
    category.delete()

    with transaction.atomic():
        with pytest.raises(RevertError, match="no longer exists"):
            with_category.revert()
        # The caller's transaction is still usable and commits cleanly.
        product.name = "Still editable"
        product.save()

    product.refresh_from_db()
    assert (product.name, product.category_id) == ("Still editable", None)
    assert versions(product, "category_id")[-1] == ("~", None)


@pytest.mark.django_db
def test_restoring_a_deleted_object_keeps_its_creation_date() -> None:
    part = Part.objects.create(name="Gear", price=Decimal("3.00"))
    created = part.created
    last = part.history.get()
    part.delete()

    result = last.revert()

    restored = Part.objects.get(pk=last.id)
    assert result.restored and restored.created == created
    assert versions(restored, "created")[-1] == ("+", created)
