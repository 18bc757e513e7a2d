"""The article's example (../shared/seed.txt), changed only in its import."""

from decimal import Decimal

import pytest

from catalog.models import Product
from history_core import get_history_for_model


@pytest.mark.django_db(transaction=True)
def test_seed_walkthrough() -> None:
    product1 = Product.objects.create(
        name="Laptop", price="1200.00", description="Powerful computing"
    )
    assert product1.history.count() == 1

    product1.price = "1150.00"
    product1.save()
    assert product1.history.count() == 2

    product1.description = "Sleek and powerful computing"
    product1.save()
    assert product1.history.count() == 3

    latest_version = product1.history.latest()
    assert latest_version.price == 1150.00
    assert latest_version.history_date is not None

    # The article prints 1200.00 here, yet calls earlier() "the state before the
    # current one". We chose that meaning: earlier() is the version before the
    # latest, i.e. the state after the price change, before the description change.
    previous_version = product1.history.earlier()
    assert previous_version.price == Decimal("1150.00")
    assert previous_version.description == "Powerful computing"

    product1.delete()
    assert product1.history.count() == 4


@pytest.mark.django_db
def test_seed_query_on_snapshot_columns() -> None:
    product = Product.objects.create(name="Laptop", price="1200.00")
    product.price = "900.00"
    product.save()
    historical_products = get_history_for_model(Product).filter(price__gt=1000)
    assert [(r.name, r.price) for r in historical_products] == [
        ("Laptop", Decimal("1200.00"))
    ]


@pytest.mark.django_db
def test_seed_revert_example_records_a_new_entry() -> None:
    product = Product.objects.create(name="Laptop", price="1200.00", description="A")
    product.price = "1150.00"
    product.save()
    before = product.history.count()

    product_to_revert = Product.objects.get(id=product.id)
    previous_state = product_to_revert.history.earlier()
    reverted_product = Product(
        id=product_to_revert.id,
        name=previous_state.name,
        price=previous_state.price,
        description=previous_state.description,
    )
    reverted_product.save()

    assert product.history.count() == before + 1
    latest = product.history.latest()
    assert latest.price == Decimal("1200.00")
    assert latest.history_changed_fields == ["price"]
