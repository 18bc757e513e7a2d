"""Capture through signals: one snapshot per save or delete, in the same transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, transaction
from django.db.models import F

from catalog.models import Product
from history_core import get_options
from history_core.tracking import install_triggers
from tests.testapp.models import Document, Sku

from .helpers import inserts_into, selects, statements, versions

HISTORY_TABLE = "catalog_historicalproduct"


class Boom(Exception):
    """Raised to roll a transaction back."""


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_leaves_no_history() -> None:
    kept = Product.objects.create(name="Kept", price="1.00")
    with pytest.raises(Boom), transaction.atomic():
        Product.objects.create(name="Lost", price="2.00")
        kept.price = Decimal("3.00")
        kept.save()
        raise Boom

    assert not Product.objects.filter(name="Lost").exists()
    assert not Product.history.filter(name="Lost").exists()
    assert versions(kept, "price") == [("+", Decimal("1.00"))]


@pytest.mark.django_db(transaction=True)
def test_autocommit_save_is_one_statement_as_in_plain_django(queries: Any) -> None:
    product = Product.objects.create(name="Laptop", price="1200.00")
    product.price = Decimal("1150.00")
    with queries() as captured:
        product.save()

    # The trigger writes the version inside the UPDATE: no BEGIN/COMMIT added,
    # no second statement, the change and its version commit together.
    assert statements(captured) == ["UPDATE"]
    assert versions(product, "price")[-1] == ("~", Decimal("1150.00"))


@pytest.mark.django_db
def test_save_inside_a_transaction_is_one_statement(queries: Any) -> None:
    product = Product.objects.create(name="Laptop", price="1200.00")
    product.name = "Notebook"
    with queries() as captured:
        product.save()

    assert statements(captured) == ["UPDATE"]
    assert inserts_into(captured, HISTORY_TABLE) == 0
    assert versions(product, "name")[-1] == ("~", "Notebook")


@pytest.mark.django_db
def test_create_records_a_plus_version_with_every_tracked_value(
    make_category: Any,
) -> None:
    category = make_category(name="Computers")
    product = Product.objects.create(
        name="Laptop", price="1200.00", description="Fast", category=category
    )

    record = product.history.get()
    assert record.history_type == "+"
    assert record.history_changed_fields == []
    assert (record.id, record.name, record.price, record.description) == (
        product.pk,
        "Laptop",
        Decimal("1200.00"),
        "Fast",
    )
    assert record.category_id == category.pk
    assert record.history_date.tzinfo is not None


@pytest.mark.django_db
def test_update_records_changed_fields_sorted(make_product: Any) -> None:
    product = make_product(name="Laptop", price="1.00")
    product.price = Decimal("2.00")
    product.name = "Notebook"
    product.save()

    latest = product.history.latest()
    assert latest.history_type == "~"
    assert latest.history_changed_fields == ["name", "price"]


@pytest.mark.django_db
def test_changed_fields_are_computed_without_a_select(
    make_product: Any, queries: Any
) -> None:
    loaded = Product.objects.get(pk=make_product(price="1.00").pk)
    loaded.price = Decimal("5.00")
    with queries() as captured:
        loaded.save()

    assert selects(captured) == []
    assert loaded.history.latest().history_changed_fields == ["price"]


@pytest.mark.django_db
def test_unnormalised_input_is_not_a_change(make_product: Any) -> None:
    product = Product.objects.get(pk=make_product(price="1.50").pk)
    product.price = "1.5"  # the same decimal, written differently
    product.save()

    assert product.history.count() == 1


@pytest.mark.django_db
def test_delete_records_a_minus_version_of_the_last_state(make_product: Any) -> None:
    product = make_product(name="Laptop", price="7.00")
    pk = product.pk
    product.delete()

    assert product.history.count() == 2
    record = Product.history.filter(id=pk).latest()
    assert (record.history_type, record.name, record.price) == (
        "-",
        "Laptop",
        Decimal("7.00"),
    )


@pytest.mark.django_db
def test_noop_save_records_nothing(make_product: Any, queries: Any) -> None:
    product = make_product()
    with queries() as captured:
        product.save()
    Product.objects.get(pk=product.pk).save()

    assert inserts_into(captured, HISTORY_TABLE) == 0
    assert product.history.count() == 1


@pytest.mark.django_db
def test_setting_record_noop_saves_records_unchanged_saves(
    make_product: Any, settings: Any
) -> None:
    settings.HISTORY_CORE = {"RECORD_NOOP_SAVES": True}
    product = make_product()
    product.save()

    latest = product.history.latest()
    assert product.history.count() == 2
    assert (latest.history_type, latest.history_changed_fields) == ("~", [])


@pytest.mark.django_db
def test_model_option_record_noop_saves_wins_over_the_setting(
    make_product: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The model's option is part of its triggers, installed by migrate.
    settings.HISTORY_CORE = {"RECORD_NOOP_SAVES": False}
    monkeypatch.setattr(get_options(Product), "record_noop_saves", True)
    install_triggers(connection.alias)
    product = make_product()
    product.save()
    assert product.history.count() == 2

    monkeypatch.setattr(get_options(Product), "record_noop_saves", False)
    install_triggers(connection.alias)
    settings.HISTORY_CORE = {"RECORD_NOOP_SAVES": True}
    product.save()
    assert product.history.count() == 2


@pytest.mark.django_db
def test_auto_now_only_change_counts_as_noop() -> None:
    document = Document.objects.create(title="Spec")
    first_stamp = document.updated_at
    document.save()  # auto_now moves updated_at, nothing else changes

    assert Document.objects.get(pk=document.pk).updated_at > first_stamp
    assert document.history.count() == 1
    document.body = "Text"
    document.save()
    latest = document.history.latest()
    assert latest.history_changed_fields == ["body", "updated_at"]


@pytest.mark.django_db
def test_save_update_fields_records_the_stored_row(make_product: Any) -> None:
    product = make_product(name="Laptop", price="1.00")
    product.name = "Notebook"
    product.price = Decimal("99.00")  # not saved: not in update_fields
    product.save(update_fields=["name"])

    latest = product.history.latest()
    assert (latest.name, latest.price) == ("Notebook", Decimal("1.00"))
    assert latest.history_changed_fields == ["name"]


@pytest.mark.django_db
def test_save_of_deferred_instance_records_the_full_row(make_product: Any) -> None:
    pk = make_product(name="Laptop", price="3.00", description="Fast").pk
    partial = Product.objects.only("name").get(pk=pk)
    partial.name = "Notebook"
    partial.save()

    latest = partial.history.latest()
    assert (latest.name, latest.price, latest.description) == (
        "Notebook",
        Decimal("3.00"),
        "Fast",
    )
    assert latest.history_changed_fields == ["name"]


@pytest.mark.django_db
def test_delete_of_a_stale_instance_records_the_database_state(
    make_product: Any,
) -> None:
    pk = make_product(name="Laptop", price="1.00").pk
    stale = Product.objects.get(pk=pk)
    fresh = Product.objects.get(pk=pk)
    fresh.price = Decimal("50.00")
    fresh.save()

    stale.delete()

    deleted = Product.history.filter(id=pk).latest()
    assert (deleted.history_type, deleted.price) == ("-", Decimal("50.00"))


@pytest.mark.django_db
def test_delete_of_a_deferred_instance_records_every_field(make_product: Any) -> None:
    pk = make_product(name="Laptop", price="4.00", description="Fast").pk
    Product.objects.only("name").get(pk=pk).delete()

    deleted = Product.history.filter(id=pk).latest()
    assert (deleted.history_type, deleted.price, deleted.description) == (
        "-",
        Decimal("4.00"),
        "Fast",
    )


@pytest.mark.django_db
def test_non_integer_primary_key_is_tracked() -> None:
    sku = Sku.objects.create(code="AB-1", stock=3)
    sku.stock = 4
    sku.save()
    sku.delete()

    assert versions(Sku(code="AB-1"), "code", "stock") == [
        ("+", "AB-1", 3),
        ("~", "AB-1", 4),
        ("-", "AB-1", 4),
    ]


@pytest.mark.django_db
def test_excluded_field_has_no_column_and_is_never_stored() -> None:
    historical = get_options(Document).historical_model
    with pytest.raises(FieldDoesNotExist):
        historical._meta.get_field("secret")
    with connection.cursor() as cursor:
        columns = {
            c.name
            for c in connection.introspection.get_table_description(
                cursor, historical._meta.db_table
            )
        }
    assert "secret" not in columns
    assert {"title", "body", "history_id"} <= columns

    document = Document.objects.create(title="Spec", secret="s3cr3t")
    document.secret = "other-s3cr3t"
    document.save()  # a change of an excluded field only: nothing to record

    assert document.history.count() == 1
    stored = [str(v) for row in Document.history.values() for v in row.values()]
    assert not any("s3cr3t" in value for value in stored)
    assert document.history.get().instance.secret == ""


@pytest.mark.django_db
def test_saving_an_expression_records_the_stored_value() -> None:
    product = Product.objects.create(name="Counter", price="10.00")
    product.price = F("price") + 5
    product.save()
    latest = product.history.latest()
    assert latest.price == Decimal("15.00")
    assert latest.history_changed_fields == ["price"]
    product.refresh_from_db()
    product.save()  # unchanged after the reload: nothing recorded
    assert product.history.count() == 2


@pytest.mark.django_db
def test_saves_alternating_null_and_values_record_each_state(
    make_category: Any,
) -> None:
    category = make_category()
    product = Product.objects.create(name="Lamp", price="1.00")
    for value in (category, None, category, None):
        product.category = value
        product.save()
    assert [r.category_id for r in product.history.order_by("history_id")] == [
        None,
        category.pk,
        None,
        category.pk,
        None,
    ]
