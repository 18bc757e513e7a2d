"""history_core's own signals: enrich or veto a version, and hear about it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Product
from history_core.signals import after_version, before_version


@pytest.fixture
def heard() -> Iterator[list[tuple[Any, ...]]]:
    calls: list[tuple[Any, ...]] = []

    def after(sender: Any, instance: Any, versions: Any, **kwargs: Any) -> None:
        calls.append((sender, instance.pk, [v.history_type for v in versions]))

    after_version.connect(after, sender=Product)
    yield calls
    after_version.disconnect(after, sender=Product)


@pytest.mark.django_db
def test_before_version_receivers_enrich_the_version(make_product: Any) -> None:
    def enrich(sender: Any, instance: Any, context: dict[str, Any], **kw: Any) -> None:
        context["reason"] = f"edited {instance.name}"
        context["meta"]["ticket"] = "T-7"

    before_version.connect(enrich, sender=Product)
    try:
        product = make_product(name="Lamp")
    finally:
        before_version.disconnect(enrich, sender=Product)

    record = product.history.get()
    assert record.history_change_reason == "edited Lamp"
    assert record.history_context["ticket"] == "T-7"


@pytest.mark.django_db
def test_before_version_receiver_can_veto_the_change(make_product: Any) -> None:
    product = make_product(price="5.00")

    class Frozen(Exception):
        pass

    def veto(sender: Any, instance: Any, **kwargs: Any) -> None:
        raise Frozen("prices are frozen")

    before_version.connect(veto, sender=Product)
    try:
        product.price = Decimal("6.00")
        with pytest.raises(Frozen):
            product.save()
    finally:
        before_version.disconnect(veto, sender=Product)

    product.refresh_from_db()
    assert product.price == Decimal("5.00")
    assert product.history.count() == 1


@pytest.mark.django_db
def test_after_version_sends_the_versions_written(
    make_product: Any, heard: list[tuple[Any, ...]]
) -> None:
    product = make_product(price="5.00")
    product.save()  # a no-op: no version
    product.price = Decimal("7.00")
    product.save()
    product.delete()  # deletes send no signal (Django's fast path is kept)

    pk = product.history.latest().id
    assert heard == [(Product, pk, ["+"]), (Product, pk, []), (Product, pk, ["~"])]


@pytest.mark.django_db
def test_receivers_connected_between_saves_hear_the_next_ones(
    make_product: Any,
) -> None:
    product = make_product(price="1.00")  # both signals: no receivers for Product
    reasons: list[Any] = []

    def enrich(sender: Any, instance: Any, context: dict[str, Any], **kw: Any) -> None:
        context["reason"] = f"price {instance.price}"

    def after(sender: Any, versions: Any, **kwargs: Any) -> None:
        reasons.append([v.history_change_reason for v in versions])

    before_version.connect(enrich, sender=Product)
    after_version.connect(after)  # every sender
    try:
        product.price = Decimal("2.00")
        product.save()
    finally:
        before_version.disconnect(enrich, sender=Product)
        after_version.disconnect(after)
    product.price = Decimal("3.00")
    product.save()

    assert reasons == [["price 2.00"]]
    assert [r.history_change_reason for r in product.history.all()] == [
        None,
        "price 2.00",
        None,
    ]
