"""Review findings in history_core: each test pins a bug found and fixed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from catalog.models import Product

from .helpers import versions

ON_SQLITE = connection.vendor == "sqlite"
ON_POSTGRES = connection.vendor == "postgresql"


def test_loading_a_deferred_field_keeps_earlier_edits(make_product: Any) -> None:
    product = make_product(price=Decimal("1.00"), description="long text")
    loaded = Product.objects.defer("description").get(pk=product.pk)
    loaded.price = Decimal("2.00")
    assert (
        loaded.description == "long text"
    )  # Django runs refresh_from_db(["description"])
    loaded.save()
    assert Product.objects.get(pk=product.pk).price == Decimal("2.00")
    assert product.history.latest().price == Decimal("2.00")


def test_partial_refresh_keeps_unsaved_edits_of_other_fields(make_product: Any) -> None:
    product = make_product(name="Before")
    product.name = "After"
    product.refresh_from_db(fields=["price"])
    product.save()
    assert Product.objects.get(pk=product.pk).name == "After"
    assert product.history.latest().name == "After"


def test_saving_a_stale_instance_records_the_rewrite(make_product: Any) -> None:
    product = make_product(price=Decimal("10.00"))
    mine = Product.objects.get(pk=product.pk)
    theirs = Product.objects.get(pk=product.pk)
    theirs.price = Decimal("20.00")
    theirs.save()
    mine.save()  # writes price 10.00 back
    assert Product.objects.get(pk=product.pk).price == Decimal("10.00")
    assert product.history.latest().price == Decimal("10.00")


def test_bulk_update_remembers_the_new_state(make_product: Any) -> None:
    product = Product.objects.get(pk=make_product(price=Decimal("10.00")).pk)
    product.price = Decimal("20.00")
    Product.objects.bulk_update([product], ["price"])
    product.price = Decimal("10.00")
    product.save()
    assert Product.objects.get(pk=product.pk).price == Decimal("10.00")
    assert versions(product, "price")[-1] == ("~", Decimal("10.00"))


def test_recreating_save_keeps_the_change_reason(make_product: Any) -> None:
    product = make_product(price=Decimal("10.00"))
    Product.objects.filter(pk=product.pk).delete()
    product.price = Decimal("11.00")
    product._change_reason = "re-created"  # type: ignore[attr-defined]
    product.save()
    latest = product.history.latest()
    assert (latest.history_type, latest.price) == ("+", Decimal("11.00"))
    assert latest.history_change_reason == "re-created"


def test_deleting_an_already_deleted_row_records_nothing(make_product: Any) -> None:
    product = make_product()
    stale = Product.objects.get(pk=product.pk)
    product.delete()
    stale.delete()
    assert [v[0] for v in versions(stale)] == ["+", "-"]


def test_update_of_excluded_fields_records_no_version(db: Any) -> None:
    user_model = get_user_model()
    user = user_model.objects.create_user("zed", password="zed-pass-123")
    user_model.objects.filter(pk=user.pk).update(last_login=datetime.now(UTC))
    assert list(user.history.values_list("history_type", "history_changed_fields")) == [
        ("+", [])
    ]


def test_as_of_an_instant_near_the_minimum(make_product: Any) -> None:
    product = make_product()
    early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    with pytest.raises(Product.DoesNotExist):
        product.history.as_of(early)
