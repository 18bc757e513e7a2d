"""Bulk ORM paths record history set-based, with the database state after the change."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F

from catalog.models import Category, Product
from tests.testapp.models import Comment, Document

from .helpers import inserts_into, versions

SIZES = [10, 50]


def _new_products(n: int, price: str = "10.00") -> list[Product]:
    return [Product(name=f"Bulk {i}", price=Decimal(price)) for i in range(n)]


def _query_count(queries: Any, operation: Any) -> int:
    with queries() as captured:
        operation()
    return len(captured.captured_queries)


@pytest.mark.django_db
def test_bulk_create_records_a_plus_version_per_row(queries: Any) -> None:
    with queries() as captured:
        created = Product.objects.bulk_create(_new_products(3, "4.00"))

    # The table's trigger writes the versions: one statement, as in plain Django.
    assert len(captured.captured_queries) == 1
    assert inserts_into(captured, "catalog_historicalproduct") == 0
    for product in created:
        assert versions(product, "name", "price") == [
            ("+", product.name, Decimal("4.00"))
        ]


@pytest.mark.django_db
def test_bulk_create_queries_do_not_grow_with_rows(queries: Any) -> None:
    counts = [
        _query_count(queries, lambda n=n: Product.objects.bulk_create(_new_products(n)))
        for n in SIZES
    ]
    assert counts[0] == counts[1]
    assert Product.history.filter(history_type="+").count() == sum(SIZES)


@pytest.mark.django_db
def test_bulk_create_ignore_conflicts_records_only_the_rows_inserted() -> None:
    first = Product.objects.create(name="Existing", price=Decimal("1.00"))
    clash = Product(pk=first.pk, name="Clash", price=Decimal("9.00"))

    Product.objects.bulk_create([clash, *_new_products(2)], ignore_conflicts=True)

    assert versions(first, "name") == [("+", "Existing")]
    assert Product.history.filter(history_type="+").count() == 3


@pytest.mark.django_db
def test_bulk_create_update_conflicts_records_updates_and_inserts() -> None:
    first = Product.objects.create(name="Existing", price=Decimal("1.00"))
    clash = Product(pk=first.pk, name="Existing", price=Decimal("9.00"))

    Product.objects.bulk_create(
        [clash, Product(name="New", price=Decimal("2.00"))],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["price"],
    )

    assert versions(first, "price") == [("+", Decimal("1.00")), ("~", Decimal("9.00"))]
    assert first.history.latest().history_changed_fields == ["price"]
    assert Product.history.filter(name="New", history_type="+").count() == 1


@pytest.mark.django_db
def test_bulk_update_records_the_stored_rows_not_the_objects(products: Any) -> None:
    made = products(3, price="10.00")
    loaded = list(Product.objects.filter(pk__in=[p.pk for p in made]).only("name"))
    for product in loaded:
        product.name = f"Renamed {product.pk}"

    Product.objects.bulk_update(loaded, ["name"])

    for product in loaded:
        latest = product.history.latest()
        assert (latest.history_type, latest.name, latest.price) == (
            "~",
            f"Renamed {product.pk}",
            Decimal("10.00"),
        )
        assert latest.history_changed_fields == ["name"]


@pytest.mark.django_db
def test_bulk_update_queries_do_not_grow_with_rows(queries: Any) -> None:
    def run(n: int) -> None:
        objs = Product.objects.bulk_create(_new_products(n))
        for obj in objs:
            obj.price = Decimal("11.00")
        Product.objects.bulk_update(objs, ["price"])

    counts = [_query_count(queries, lambda n=n: run(n)) for n in SIZES]
    assert counts[0] == counts[1]
    assert Product.history.filter(history_type="~", price=11).count() == sum(SIZES)


@pytest.mark.django_db
def test_queryset_update_records_each_matched_row_after_the_change(
    products: Any,
) -> None:
    cheap = products(2, price="10.00")
    other = products(1, price="99.00")[0]

    # Filtering on the field being updated: the rows no longer match afterwards.
    count = Product.objects.filter(price=10).update(price=F("price") + 5)

    assert count == 2
    for product in cheap:
        latest = product.history.latest()
        assert (latest.history_type, latest.price) == ("~", Decimal("15.00"))
        assert latest.history_changed_fields == ["price"]
    assert other.history.count() == 1


@pytest.mark.django_db
def test_queryset_update_records_only_rows_that_changed(products: Any) -> None:
    same, other = products(2, price="10.00")
    other.price = Decimal("5.00")
    other.save()

    count = Product.objects.filter(pk__in=[same.pk, other.pk]).update(price=10)

    assert count == 2  # Django's own count: rows matched
    assert versions(same, "price") == [("+", Decimal("10.00"))]
    assert versions(other, "price")[-1] == ("~", Decimal("10.00"))


@pytest.mark.django_db
def test_queryset_update_matching_nothing_records_nothing(queries: Any) -> None:
    with queries() as captured:
        assert Product.objects.filter(name="missing").update(price=1) == 0
    assert inserts_into(captured, "catalog_historicalproduct") == 0
    assert not Product.history.exists()


@pytest.mark.django_db
def test_queryset_update_queries_do_not_grow_with_rows(queries: Any) -> None:
    Product.objects.bulk_create(_new_products(SIZES[0], "1.00"))
    Product.objects.bulk_create(_new_products(SIZES[1], "2.00"))

    counts = [
        _query_count(
            queries, lambda p=p: Product.objects.filter(price=p).update(name="U")
        )
        for p in (1, 2)
    ]
    assert counts[0] == counts[1]
    assert Product.history.filter(history_type="~", name="U").count() == sum(SIZES)


@pytest.mark.django_db
def test_related_manager_update_records_history(
    make_category: Any, make_product: Any
) -> None:
    category = make_category()
    inside = [make_product(category=category) for _ in range(2)]
    outside = make_product()

    category.products.update(description="Reviewed")

    for product in inside:
        latest = product.history.latest()
        assert (latest.history_type, latest.description) == ("~", "Reviewed")
    assert outside.history.count() == 1


@pytest.mark.django_db
def test_queryset_delete_records_a_minus_version_per_row(
    products: Any, queries: Any
) -> None:
    made = products(3, price="8.00")
    with queries() as captured:
        deleted, _ = Product.objects.filter(pk__in=[p.pk for p in made[:2]]).delete()

    assert deleted == 2
    assert inserts_into(captured, "catalog_historicalproduct") == 0  # the trigger
    for product in made[:2]:
        assert versions(product, "price")[-1] == ("-", Decimal("8.00"))
    assert made[2].history.count() == 1


@pytest.mark.django_db
def test_queryset_delete_queries_do_not_grow_with_rows(queries: Any) -> None:
    Product.objects.bulk_create(_new_products(SIZES[0], "1.00"))
    Product.objects.bulk_create(_new_products(SIZES[1], "2.00"))

    counts = [
        _query_count(queries, lambda p=p: Product.objects.filter(price=p).delete())
        for p in (1, 2)
    ]
    assert counts[0] == counts[1]
    assert Product.history.filter(history_type="-").count() == sum(SIZES)


def _documents_with_comments(n: int) -> list[Document]:
    documents = Document.objects.bulk_create(
        [Document(title=f"Doc {n}-{i}") for i in range(n)]
    )
    Comment.objects.bulk_create(
        [Comment(document=d, text=f"On {d.title}") for d in documents]
    )
    return documents


@pytest.mark.django_db
def test_queryset_delete_records_cascaded_rows() -> None:
    document = _documents_with_comments(1)[0]
    comment = document.comments.get()

    Document.objects.filter(pk=document.pk).delete()

    assert versions(comment, "text", "document_id")[-1] == (
        "-",
        f"On {document.title}",
        document.pk,
    )
    assert versions(document, "title")[-1] == ("-", document.title)


@pytest.mark.django_db
def test_cascading_delete_queries_do_not_grow_with_rows(queries: Any) -> None:
    small, large = _documents_with_comments(10), _documents_with_comments(50)

    counts = [
        _query_count(
            queries,
            lambda docs=docs: Document.objects.filter(
                pk__in=[d.pk for d in docs]
            ).delete(),
        )
        for docs in (small, large)
    ]
    assert counts[0] == counts[1]
    assert Comment.history.filter(history_type="-").count() == 60
    assert Document.history.filter(history_type="-").count() == 60


@pytest.mark.django_db
def test_instance_delete_with_cascade_records_both(make_product: Any) -> None:
    document = Document.objects.get(pk=_documents_with_comments(1)[0].pk)
    comment = document.comments.get()

    document.delete()

    assert versions(comment, "text")[-1][0] == "-"
    assert versions(document, "title")[-1][0] == "-"


@pytest.mark.django_db
def test_history_of_a_deleted_bulk_created_instance_says_how_to_read_it() -> None:
    document = _documents_with_comments(1)[0]
    pk = document.pk
    document.delete()

    with pytest.raises(ValueError, match=r"Document\.history\.filter"):
        document.history.all()
    assert Document.history.filter(id=pk).latest().history_type == "-"


@pytest.mark.django_db(transaction=True)
def test_bulk_operations_roll_back_with_their_transaction() -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        Product.objects.bulk_create(_new_products(2))
        Product.objects.update(price=3)
        raise Boom

    assert not Product.objects.exists()
    assert not Product.history.exists()


@pytest.mark.django_db
def test_related_manager_add_records_history(
    make_category: Any, make_product: Any
) -> None:
    category, product = make_category(), make_product()

    category.products.add(product)  # an UPDATE through Product._base_manager

    latest = product.history.latest()
    assert (latest.history_type, latest.category_id) == ("~", category.pk)
    assert latest.history_changed_fields == ["category"]


@pytest.mark.django_db
def test_related_manager_clear_records_history(
    make_category: Any, make_product: Any
) -> None:
    category = make_category()
    product = make_product(category=category)

    category.products.clear()

    latest = product.history.latest()
    assert (latest.history_type, latest.category_id) == ("~", None)


@pytest.mark.django_db
def test_base_manager_update_records_history(make_product: Any) -> None:
    product = make_product(name="Old")
    Product._base_manager.filter(pk=product.pk).update(name="New")
    assert versions(product, "name")[-1] == ("~", "New")


@pytest.mark.django_db
def test_update_of_distinct_and_aggregated_querysets_records_history(
    make_category: Any, make_product: Any
) -> None:
    # PostgreSQL refuses FOR UPDATE with DISTINCT or GROUP BY.
    category = make_category()
    product = make_product(category=category)

    Product.objects.filter(category__name=category.name).distinct().update(name="D")
    Category.objects.annotate(n=Count("products")).filter(n__gt=0).update(
        description="Has products"
    )

    assert versions(product, "name")[-1] == ("~", "D")
    assert versions(category, "description")[-1] == ("~", "Has products")


@pytest.mark.django_db
def test_inherited_manager_captures_after_app_cache_is_cleared() -> None:
    User = get_user_model()  # its manager comes from the abstract AbstractUser
    apps.clear_cache()  # Django rebuilds every model's managers
    user = User.objects.create_user("carol")

    User.objects.filter(pk=user.pk).update(first_name="Carol")

    assert list(
        User.history.filter(id=user.pk)
        .order_by("history_id")
        .values_list("history_type", "first_name")
    ) == [("+", ""), ("~", "Carol")]


@pytest.mark.django_db
def test_instance_delete_cascade_inserts_history_once_per_model(queries: Any) -> None:
    def cost(comments: int) -> int:
        document = Document.objects.create(title=f"Cascade {comments}")
        Comment.objects.bulk_create(
            [Comment(document=document, text=f"c{i}") for i in range(comments)]
        )
        with queries() as captured:
            document.delete()
        # The triggers write history; Python adds no statement to the delete.
        assert inserts_into(captured, "testapp_historicalcomment") == 0
        assert inserts_into(captured, "testapp_historicaldocument") == 0
        return len(captured.captured_queries)

    assert cost(3) == cost(30)
    assert Comment.history.filter(history_type="-").count() == 33
