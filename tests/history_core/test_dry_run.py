"""A dry run predicts the revert exactly: the same answer, or the same refusal.

For every scenario (a table of the ways a revert ends, then random histories drawn
by Hypothesis) the dry run is run first, must leave the database as it was, and
must agree with the revert run next on the same state: the same changes and
``restored`` when it succeeds, the same exception class and message when it fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.models import Category, Product
from history_core.revert import MAX_REASON_LENGTH
from tests.testapp.models import Document, Notice

from .test_admin import RESTORE, client_for, staff

pytestmark = pytest.mark.django_db

Outcome = tuple[Any, ...]


def outcome(record: Any, **kwargs: Any) -> Outcome:
    """What ``record.revert(**kwargs)`` answers, comparable between runs."""
    try:
        result = record.revert(**kwargs)
    except Exception as error:  # noqa: BLE001 - the refusal is the outcome
        return (type(error).__name__, str(error))
    return ("ok", result.changes, result.restored)


def state() -> tuple[Any, ...]:
    """Every live row and version the scenarios touch (history ids left out: a
    rolled-back version may use up a sequence number)."""
    live = [
        list(model.objects.order_by("pk").values())
        for model in (Product, Category, Document, Notice)
    ]
    versions = [
        list(
            model.history.order_by("history_date", "history_id").values_list(
                "history_type", "history_change_reason"
            )
        )
        for model in (Product, Category, Document, Notice)
    ]
    return (live, versions)


def assert_predicted(record: Any, **kwargs: Any) -> Outcome:
    """Run the dry run, then the revert; assert they agree. Returns the outcome."""
    before = state()
    dry = outcome(record, dry_run=True, **kwargs)
    assert state() == before, "the dry run left something behind"
    real = outcome(record, **kwargs)
    assert dry == real
    if real[0] != "ok":
        assert state() == before, "a refused revert wrote something"
    return real


# -- the scenarios -------------------------------------------------------------------


def _repriced() -> tuple[Any, dict[str, Any]]:
    product = Product.objects.create(name="Saw", price=Decimal("10.00"))
    product.price = Decimal("12.00")
    product.save()
    return product.history.earliest(), {}


def _current() -> tuple[Any, dict[str, Any]]:
    product = Product.objects.create(name="Saw", price=Decimal("10.00"))
    return product.history.latest(), {}


def _deleted() -> tuple[Any, dict[str, Any]]:
    product = Product.objects.create(name="Saw", price=Decimal("10.00"))
    record = product.history.latest()
    product.delete()
    return record, {}


def _category_gone(restore: bool) -> tuple[Any, dict[str, Any]]:
    tools = Category.objects.create(name="Tools")
    product = Product.objects.create(name="Saw", price=1, category=tools)
    record = product.history.latest()
    product.category = None
    product.save()
    tools.delete()  # PROTECT: only once no product points at it
    if restore:
        product.delete()
    return record, {}


def _name_taken() -> tuple[Any, dict[str, Any]]:
    audio = Category.objects.create(name="Audio")
    audio.name = "Sound"
    audio.save()
    Category.objects.create(name="Audio")
    return audio.history.earliest(), {}


def _title_taken_on_restore() -> tuple[Any, dict[str, Any]]:
    document = Document.objects.create(title="Alpha")
    record = document.history.latest()
    document.delete()
    Document.objects.create(title="Alpha")
    return record, {}


def _stale() -> tuple[Any, dict[str, Any]]:
    record, _ = _repriced()
    seen = record.instance.history.latest()
    Product.objects.filter(pk=record.id).update(name="Saw II")
    return record, {"expected_latest": seen}


def _price_cap() -> tuple[Any, dict[str, Any]]:
    """A constraint only the database knows (added after the version was
    recorded, as a later migration or a DBA would add one)."""
    product = Product.objects.create(name="Saw", price=Decimal("5000.00"))
    product.price = Decimal("10.00")
    product.save()
    table = Product._meta.db_table
    if connection.vendor == "postgresql":
        alter(
            f'ALTER TABLE "{table}" ADD CONSTRAINT hc_price_cap CHECK (price <= 1000)'
        )
        return product.history.earliest(), {}
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TRIGGER hc_price_cap BEFORE UPDATE ON "{table}" '
            "WHEN NEW.price > 1000 BEGIN SELECT RAISE(ABORT, 'price cap'); END"
        )
    return product.history.earliest(), {}


def _name_too_long() -> tuple[Any, dict[str, Any]]:
    """PostgreSQL only: the column was narrowed after the version was recorded."""
    product = Product.objects.create(name="A long product name", price=1)
    product.name = "Saw"
    product.save()
    alter(f'ALTER TABLE "{Product._meta.db_table}" ALTER COLUMN name TYPE varchar(5)')
    return product.history.earliest(), {}


def alter(sql: str) -> None:
    """Run DDL in the test's transaction (PostgreSQL: the foreign key checks
    pending from earlier writes run first, as they would at a migration's start)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql)
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _child_restored() -> tuple[Any, dict[str, Any]]:
    notice = Notice.objects.create(name="Closed", pinned=True)
    notice.pinned = False
    notice.save()
    record = notice.history.earliest()
    notice.delete()
    return record, {}


def _auto_now() -> tuple[Any, dict[str, Any]]:
    document = Document.objects.create(title="Notes", body="v1")
    document.body = "v2"
    document.save()
    return document.history.earliest(), {"fields": ["body", "updated_at", "id"]}


def _some_fields() -> tuple[Any, dict[str, Any]]:
    product = Product.objects.create(name="Saw", price=1)
    product.name, product.price = "Saw II", Decimal("2.00")
    product.save()
    return product.history.earliest(), {"fields": ["price"]}


def _with(
    make: Callable[[], tuple[Any, dict[str, Any]]], **extra: Any
) -> Callable[[], tuple[Any, dict[str, Any]]]:
    def scenario() -> tuple[Any, dict[str, Any]]:
        record, kwargs = make()
        return record, {**kwargs, **extra}

    return scenario


SCENARIOS: dict[str, tuple[Callable[[], tuple[Any, dict[str, Any]]], str]] = {
    "revert": (_repriced, "ok"),
    "nothing to revert": (_current, "ok"),
    "restore": (_deleted, "ok"),
    "restore a multi-table child": (_child_restored, "ok"),
    "some fields": (_some_fields, "ok"),
    "the key and auto_now fields named": (_auto_now, "ok"),
    "a reason at the limit": (_with(_repriced, reason="x" * MAX_REASON_LENGTH), "ok"),
    "foreign key to a deleted object": (lambda: _category_gone(False), "Related"),
    "restore with a deleted related object": (lambda: _category_gone(True), "Related"),
    "unique value taken": (_name_taken, "RevertError"),
    "unique value taken on restore": (_title_taken_on_restore, "RevertError"),
    "a constraint only the database knows": (_price_cap, "RevertError"),
    "a value the column no longer holds": (_name_too_long, "RevertError"),
    "a newer version than expected": (_stale, "RevertConflict"),
    "unknown field": (_with(_repriced, fields=["colour"]), "RevertError"),
    "a reason too long": (
        _with(_repriced, reason="x" * (MAX_REASON_LENGTH + 1)),
        "RevertError",
    ),
    "a NUL in the reason": (_with(_repriced, reason="a\x00b"), "RevertError"),
    "an unpaired surrogate in the reason": (
        _with(_repriced, reason="a\ud800b"),
        "RevertError",
    ),
}


@pytest.mark.parametrize(("name"), list(SCENARIOS))
def test_a_dry_run_predicts_the_revert(name: str) -> None:
    make, expected = SCENARIOS[name]
    if (
        name == "a value the column no longer holds"
        and connection.vendor != "postgresql"
    ):
        pytest.skip("SQLite does not enforce a varchar's length")
    record, kwargs = make()
    kind = assert_predicted(record, **kwargs)[0]
    assert kind.startswith(expected), kind


# -- random histories ------------------------------------------------------------------

NAMES = st.sampled_from(["Audio", "Tools", "Garden"])
STEPS = st.one_of(
    st.tuples(st.just("rename_category"), st.integers(0, 2), NAMES),
    st.tuples(st.just("delete_category"), st.integers(0, 2)),
    st.tuples(st.just("retire_category"), st.integers(0, 2)),
    st.tuples(st.just("create_category"), NAMES),
    st.tuples(st.just("move"), st.integers(0, 2), st.integers(0, 3)),
    st.tuples(st.just("reprice"), st.integers(0, 2), st.integers(1, 3)),
    st.tuples(st.just("delete_product"), st.integers(0, 2)),
)
REVERTS = st.tuples(
    st.sampled_from([Product, Category]),
    st.integers(0, 30),
    st.one_of(
        st.none(),
        st.lists(st.sampled_from(["name", "price", "category", "id"]), max_size=3),
    ),
    st.booleans(),
)


def _pick(model: Any, index: int) -> Any:
    rows = list(model.objects.order_by("pk"))
    return rows[index % len(rows)] if rows else None


def _run(step: tuple[Any, ...]) -> None:
    kind, *args = step
    if kind == "create_category":
        if not Category.objects.filter(name=args[0]).exists():
            Category.objects.create(name=args[0])
    elif kind == "rename_category":
        category = _pick(Category, args[0])
        if category and not Category.objects.filter(name=args[1]).exists():
            category.name = args[1]
            category.save()
    elif kind == "delete_category":
        category = _pick(Category, args[0])
        if category and not category.products.exists():
            category.delete()
    elif kind == "retire_category":  # its products lose it, then it goes
        category = _pick(Category, args[0])
        if category:
            for product in category.products.all():
                product.category = None
                product.save()
            category.delete()
    elif kind == "move":
        product = _pick(Product, args[0])
        if product:
            product.category = _pick(Category, args[1]) if args[1] < 3 else None
            product.save()
    elif kind == "reprice":
        product = _pick(Product, args[0])
        if product:
            product.price = Decimal(args[1])
            product.save()
    elif kind == "delete_product":
        product = _pick(Product, args[0])
        if product:
            product.delete()


@contextmanager
def rolled_back() -> Iterator[None]:
    """Each Hypothesis example starts from the same tables."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(STEPS, max_size=12), revert=REVERTS)
def test_a_dry_run_predicts_the_revert_after_any_history(
    steps: list[tuple[Any, ...]], revert: tuple[Any, int, Any, bool]
) -> None:
    model, index, fields, expect_latest = revert
    with rolled_back():
        tools = Category.objects.create(name="Seed")
        for i in range(3):
            Product.objects.create(name=f"P{i}", price=1, category=tools)
        for step in steps:
            _run(step)
        versions = list(model.history.order_by("history_date", "history_id"))
        record = versions[index % len(versions)]
        kwargs: dict[str, Any] = {"fields": fields}
        if expect_latest:
            latest = record._siblings().order_by("-history_date", "-history_id")
            kwargs["expected_latest"] = latest.first()
        assert_predicted(record, **kwargs)


# -- the admin's preview is the same dry run ---------------------------------------

ADMIN_SCENARIOS = {
    "revert": (_repriced, None),
    "restore": (_deleted, None),
    "foreign key to a deleted object": (lambda: _category_gone(False), "no longer"),
    "restore with a deleted related object": (lambda: _category_gone(True), "no l"),
    "unique value taken": (_name_taken, "violates"),
    "a constraint only the database knows": (_price_cap, "violates"),
}


@pytest.mark.parametrize("name", list(ADMIN_SCENARIOS))
def test_the_admin_preview_refuses_what_the_revert_refuses(name: str) -> None:
    make, refusal = ADMIN_SCENARIOS[name]
    record, _ = make()
    client = client_for(staff("editor", *RESTORE, "catalog.add_category"))
    opts = record._history_options.model._meta
    url = (
        f"/admin/{opts.app_label}/{opts.model_name}/{record.object_id}/history/"
        f"{record.history_id}/revert/"
    )
    before = state()
    preview = client.get(url)
    assert preview.status_code == 200 and state() == before
    latest = preview.context["latest"].history_id
    done = client.post(url, {"expected_latest": latest, "reason": "undo"})
    if refusal is None:
        assert not preview.context["refused"] and preview.context["rows"]
        assert "Yes, " in preview.content.decode()
        assert done.status_code == 302
        return
    assert preview.context["refused"] and refusal in preview.context["error"]
    assert 'name="expected_latest"' not in preview.content.decode()  # no confirm
    assert done.status_code == 400 and state() == before
    assert done.context["error"] == preview.context["error"]


@pytest.mark.parametrize(
    "reason",
    ["x" * (MAX_REASON_LENGTH + 1), "undo\x00"],
    ids=["too-long", "nul"],
)
def test_the_admin_refuses_a_reason_it_cannot_record(reason: str) -> None:
    record, _ = _repriced()
    client = client_for(staff("editor", *RESTORE))
    url = f"/admin/catalog/product/{record.id}/history/{record.history_id}/revert/"
    latest = client.get(url).context["latest"].history_id
    before = state()
    response = client.post(url, {"expected_latest": latest, "reason": reason})
    assert response.status_code == 400 and state() == before
    assert "reason" in response.context["reason_error"]
    assert 'aria-invalid="true"' in response.content.decode()
    assert f'maxlength="{MAX_REASON_LENGTH}"' in response.content.decode()
    assert not response.context["refused"]  # the revert itself is still offered
