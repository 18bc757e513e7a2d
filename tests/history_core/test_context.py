"""Who, why and how: context blocks, decorators, threads, async code and requests."""

from __future__ import annotations

import asyncio
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.test import AsyncClient, Client

import history_core
from catalog.models import Product


def _touch(product: Product, name: str) -> Any:
    """Rename and save ``product``; return its newest version."""
    product.name = name
    product.save()
    return product.history.latest()


def _touch_and_close(product: Product, name: str) -> tuple[Any, Any, Any]:
    """:func:`_touch` from a worker thread, closing its own connection after."""
    try:
        record = _touch(product, name)
        return (
            record.history_user_id,
            record.history_change_reason,
            record.history_context,
        )
    finally:
        connection.close()


@pytest.mark.django_db
def test_context_block_records_user_reason_and_meta(
    make_product: Any, user: Any
) -> None:
    product = make_product()
    with history_core.context(user=user, reason="price review", ticket="T-1"):
        record = _touch(product, "Reviewed")

    assert record.history_user == user
    assert record.history_change_reason == "price review"
    assert record.history_context == {"ticket": "T-1"}


@pytest.mark.django_db
def test_outside_a_context_nothing_is_attached(make_product: Any) -> None:
    record = make_product().history.get()
    assert (record.history_user, record.history_change_reason) == (None, None)
    assert record.history_context == {}


@pytest.mark.django_db
def test_context_as_decorator(make_product: Any, user: Any) -> None:
    product = make_product()

    @history_core.context(user=user, reason="nightly import", job="import")
    def run_import() -> Any:
        return _touch(product, "Imported")

    record = run_import()
    assert (record.history_user, record.history_change_reason) == (
        user,
        "nightly import",
    )
    assert record.history_context == {"job": "import"}
    assert _touch(product, "After").history_change_reason is None


@pytest.mark.django_db
def test_nested_contexts_inner_wins_and_meta_merges(
    make_product: Any, user: Any, other_user: Any
) -> None:
    product = make_product()
    with history_core.context(user=user, reason="outer", a=1, b=1):
        with history_core.context(reason="inner", b=2, c=3):
            inner = _touch(product, "Inner")
        with history_core.context(user=other_user):
            other = _touch(product, "Other")
        outer = _touch(product, "Outer")

    assert (inner.history_user, inner.history_change_reason) == (user, "inner")
    assert inner.history_context == {"a": 1, "b": 2, "c": 3}
    assert (other.history_user, other.history_change_reason) == (other_user, "outer")
    assert (outer.history_change_reason, outer.history_context) == (
        "outer",
        {"a": 1, "b": 1},
    )


@pytest.mark.django_db
def test_the_same_context_object_can_be_entered_again(make_product: Any) -> None:
    product = make_product()
    ctx = history_core.context(reason="reused")
    with ctx, ctx:
        record = _touch(product, "Twice")
    assert record.history_change_reason == "reused"
    assert _touch(product, "Outside").history_change_reason is None


@pytest.mark.django_db
def test_user_may_be_a_callable_resolved_per_change(
    make_product: Any, user: Any
) -> None:
    product = make_product()
    with history_core.context(user=lambda: user):
        record = _touch(product, "Lazy")
    assert record.history_user == user


@pytest.mark.django_db
def test_instance_change_reason_and_user_win_for_one_save(
    make_product: Any, user: Any, other_user: Any
) -> None:
    product = make_product()
    with history_core.context(user=user, reason="context reason"):
        product._change_reason = "single save"  # type: ignore[attr-defined]
        product._history_user = other_user  # type: ignore[attr-defined]
        first = _touch(product, "One")
        second = _touch(product, "Two")

    assert (first.history_user, first.history_change_reason) == (
        other_user,
        "single save",
    )
    assert (second.history_user, second.history_change_reason) == (
        user,
        "context reason",
    )


@pytest.mark.django_db
def test_a_delete_takes_its_reason_from_the_context(make_product: Any) -> None:
    product = make_product()
    with history_core.context(reason="discontinued"):
        product.delete()
    assert product.history.latest().history_change_reason == "discontinued"


@pytest.mark.django_db
def test_bulk_paths_take_the_context(make_product: Any, user: Any) -> None:
    product = make_product()
    with history_core.context(user=user, reason="repricing"):
        Product.objects.filter(pk=product.pk).update(price=Decimal("3.00"))

    record = product.history.latest()
    assert (record.history_user, record.history_change_reason) == (user, "repricing")


@pytest.mark.django_db(transaction=True)
def test_contexts_are_isolated_across_threads(user: Any, other_user: Any) -> None:
    first = Product.objects.create(name="First", price="1.00")
    second = Product.objects.create(name="Second", price="1.00")
    both_inside = threading.Barrier(2)
    one_at_a_time = threading.Lock()  # SQLite allows one writer

    def work(product: Product, who: Any, reason: str) -> tuple[Any, Any, Any]:
        with history_core.context(user=who, reason=reason, worker=reason):
            both_inside.wait(timeout=10)
            with one_at_a_time:
                return _touch_and_close(product, reason)

    with ThreadPoolExecutor(max_workers=2) as pool:
        a = pool.submit(work, first, user, "thread-a")
        b = pool.submit(work, second, other_user, "thread-b")
        results = a.result(timeout=30), b.result(timeout=30)

    assert results == (
        (user.pk, "thread-a", {"worker": "thread-a"}),
        (other_user.pk, "thread-b", {"worker": "thread-b"}),
    )
    main_thread = _touch(first, "Main")
    assert (main_thread.history_change_reason, main_thread.history_context) == (
        None,
        {},
    )


@pytest.mark.django_db(transaction=True)
def test_contexts_are_isolated_across_asyncio_tasks() -> None:
    products = [
        Product.objects.create(name=f"Task {i}", price="1.00") for i in range(3)
    ]
    save = sync_to_async(_touch_and_close)

    async def task(product: Product, reason: str) -> Any:
        async with history_core.context(reason=reason, task=reason):
            await asyncio.sleep(0)  # let the other tasks enter their contexts
            return await save(product, reason)

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(task(p, f"task-{i}") for i, p in enumerate(products))
        )

    results = asyncio.run(main())

    assert results == [(None, f"task-{i}", {"task": f"task-{i}"}) for i in range(3)]


@pytest.mark.django_db(transaction=True)
def test_context_decorates_async_functions(user: Any) -> None:
    product = Product.objects.create(name="Async", price="1.00")

    @history_core.context(user=user, reason="async job", job="sync-prices")
    async def job() -> Any:
        await asyncio.sleep(0)
        return await sync_to_async(_touch_and_close)(product, "Synced")

    assert asyncio.run(job()) == (user.pk, "async job", {"job": "sync-prices"})


@pytest.mark.django_db
@pytest.mark.urls("tests.history_core.urls")
def test_middleware_records_user_and_request(make_product: Any, user: Any) -> None:
    product = make_product()
    client = Client(HTTP_X_REQUEST_ID="req-42")
    client.force_login(user)

    response = client.post(f"/rename/{product.pk}/", {"name": "Via web"})

    assert response.status_code == 200
    record = product.history.latest()
    assert (record.name, record.history_user) == ("Via web", user)
    assert record.history_context == {
        "request": {
            "method": "POST",
            "path": f"/rename/{product.pk}/",
            "remote_addr": "127.0.0.1",
        },
        "correlation_id": "req-42",
    }


@pytest.mark.django_db
@pytest.mark.urls("tests.history_core.urls")
def test_middleware_anonymous_request_has_no_user(make_product: Any) -> None:
    product = make_product()
    Client().post(f"/rename/{product.pk}/", {"name": "Anonymous"})

    record = product.history.latest()
    assert record.history_user is None
    assert record.history_context["request"]["method"] == "POST"
    assert len(record.history_context["correlation_id"]) == 32  # generated uuid4


@pytest.mark.django_db
@pytest.mark.urls("tests.history_core.urls")
def test_middleware_under_asgi(make_product: Any, user: Any) -> None:
    product = make_product()
    client = AsyncClient()
    client.force_login(user)

    # Per-request headers: AsyncClient(headers=...) keeps WSGI names out of the scope.
    response = async_to_sync(client.post)(
        f"/rename-async/{product.pk}/",
        {"name": "Via ASGI"},
        headers={"X-Request-ID": "async-7"},
    )

    assert response.status_code == 200
    record = product.history.latest()
    assert (record.name, record.history_user) == ("Via ASGI", user)
    assert record.history_context["correlation_id"] == "async-7"
    assert record.history_context["request"]["path"] == f"/rename-async/{product.pk}/"


@pytest.mark.django_db
def test_management_commands_record_their_name() -> None:
    call_command("load_demo_history", stdout=io.StringIO())

    contexts = set(Product.history.values_list("history_context__command", flat=True))
    assert contexts == {"load_demo_history"}


@pytest.mark.django_db
def test_a_save_that_fails_leaves_its_reason_to_no_later_write(
    make_product: Any,
) -> None:
    failed = make_product()
    failed._change_reason = "never saved"  # type: ignore[attr-defined]
    failed.price = "not-a-number"
    with pytest.raises(ValidationError), transaction.atomic():
        failed.save()

    other = make_product()
    Product.objects.filter(pk=other.pk).update(price=Decimal("3.00"))
    other.name = "renamed"
    other.save()

    reasons = [r.history_change_reason for r in other.history.all()]
    assert reasons == [None, None, None]


@pytest.mark.django_db
def test_a_write_starting_with_a_comment_takes_the_context_of_its_own_time(
    make_product: Any, user: Any
) -> None:
    product = make_product()
    table = Product._meta.db_table
    sql = f"-- touch-up\nUPDATE {table} SET name = %s WHERE id = %s"
    with history_core.context(user=user, reason="first"), connection.cursor() as c:
        c.execute(sql, ["one", product.pk])
    with connection.cursor() as c:
        c.execute(sql, ["two", product.pk])

    newest, older = list(product.history.all()[:2])
    assert (older.name, older.history_change_reason) == ("one", "first")
    assert (newest.name, newest.history_change_reason) == ("two", None)
    assert newest.history_user_id is None
    assert newest.history_date >= older.history_date
