"""Invisible to the host application: history on, Django behaves exactly as without it.

Every operation of the corpus runs first on ``PlainPart`` with history_core's model
receivers and execute wrapper disconnected (Django as shipped: the reference), then
on ``Part`` (tracked) or ``PlainPart`` (untracked, history_core connected): without a
context, inside ``history_core.context``, inside ``HistoryContextMiddleware`` and with
``RECORD_NOOP_SAVES`` on. Each run starts from the same rows in its own savepoint; we
compare the return value, the exception, the rows left in the live table and the
transaction state (pks replaced by names, model names normalised), and, without a
context, the SQL sent. The only difference allowed is ``Part.history`` gaining
exactly the versions the rows' changes call for.

Then: a primary/replica router (writes and their history land on ``default`` only),
a hypothesis test over manager and queryset shapes, and the smallest reproductions
of the differences found. Known differences are strict xfails: a fix shows as XPASS.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import IntegrityError, connection, connections, models, transaction
from django.db.models import Avg, Case, F, Subquery, Value, When
from django.db.models.deletion import ProtectedError
from django.db.models.signals import (
    post_delete,
    post_init,
    post_save,
    pre_delete,
    pre_save,
)
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import history_core
from history_core import database
from history_core.middleware import HistoryContextMiddleware
from tests.testapp.models import Measure, Part, PlainPart

VENDOR = connections["default"].vendor
REASON = "equivalence"
HISTORY_ATTRS = {"_history_pk", "_change_reason", "_history_user"}

# name, price, parent: "a" protects "b", "c" protects "d"; "a" and "c" are cheap().
SEED = (
    ("a", "5.00", None),
    ("b", "20.00", "a"),
    ("c", "8.00", None),
    ("d", "50.00", "c"),
    ("e", "12.50", None),
)

Snapshot = dict[Any, tuple[str, Decimal, Any]]


# -- the machinery under test switched off: Django as shipped ------------------------


MODEL_SIGNALS = (post_init, pre_save, post_save, pre_delete, post_delete)


def _is_history_receiver(entry: Any) -> bool:
    target = entry[1]  # (lookup key, receiver or weak reference, is_async)
    if isinstance(target, weakref.ReferenceType):
        target = target()
    return str(getattr(target, "__module__", "")).startswith("history_core")


@contextmanager
def plain_django() -> Iterator[None]:
    """Django as shipped: history_core's model receivers and execute wrapper removed.

    Whatever model signals and senders history_core connected receivers for, they
    are taken out of the receiver lists for the block and put back as they were.
    """
    saved = {signal: list(signal.receivers) for signal in MODEL_SIGNALS}
    wrappers = connection.execute_wrappers
    had_wrapper = database.execute_wrapper in wrappers
    for signal in MODEL_SIGNALS:
        with signal.lock:
            signal.receivers = [
                r for r in signal.receivers if not _is_history_receiver(r)
            ]
            signal.sender_receivers_cache.clear()
    if had_wrapper:
        wrappers.remove(database.execute_wrapper)
    try:
        yield
    finally:
        for signal, entries in saved.items():
            with signal.lock:
                signal.receivers = entries
                signal.sender_receivers_cache.clear()
        if had_wrapper:
            wrappers.append(database.execute_wrapper)


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back(*aliases: str) -> Iterator[None]:
    """Run a block in savepoints (one per alias) that are always rolled back."""
    try:
        with ExitStack() as stack:
            for alias in aliases or ("default",):
                stack.enter_context(transaction.atomic(using=alias))
            yield
            raise _Rollback
    except _Rollback:
        pass


# -- data, snapshots and normalisation -----------------------------------------------


def seed(model: Any, using: str = "default") -> None:
    made: dict[str, Any] = {}
    for name, price, parent in SEED:
        made[name] = model._base_manager.db_manager(using).create(
            name=name, price=Decimal(price), parent=made.get(parent or "")
        )


def snapshot(model: Any, using: str = "default") -> Snapshot:
    values = model._base_manager.using(using).values_list(
        "pk", "name", "price", "parent_id"
    )
    return {pk: (name, price, parent) for pk, name, price, parent in values}


def rows_of(table: Snapshot) -> list[tuple[str, Decimal, str | None]]:
    """The table's rows without pks or dates: (name, price, parent's name)."""
    names = {pk: row[0] for pk, row in table.items()}
    return sorted((n, p, names.get(parent)) for n, p, parent in table.values())


def last_version(using: str = "default") -> int:
    return Part.history.using(using).aggregate(m=models.Max("history_id"))["m"] or 0


def text(value: str, model: Any, names: dict[Any, str]) -> str:
    """Normalise model, table and constraint names and pks in a message."""
    meta = model._meta
    value = value.replace(meta.db_table, "<table>").replace(meta.label, "<label>")
    value = re.sub(rf"\b{meta.object_name}\b", "<Model>", value)
    value = re.sub(r"_[0-9a-f]{8}_uniq\b", "_<hash>_uniq", value)
    return re.sub(
        r"\(id\)=\((\d+)\)", lambda m: f"(id)=({names.get(int(m[1]), '?')})", value
    )


def normalise(value: Any, model: Any, names: dict[Any, str]) -> Any:
    """A comparable form of a result: pks become names, instances their values."""
    if isinstance(value, models.Model):
        state = value.__dict__
        fields = {}
        for f in value._meta.concrete_fields:
            if f.attname not in state:
                fields[f.name] = "<deferred>"
            elif f.attname in ("id", "parent_id"):
                pk = state[f.attname]
                fields[f.name] = None if pk is None else names.get(pk, "?")
            elif f.name == "created":
                fields[f.name] = type(state[f.attname]).__name__
            else:
                fields[f.name] = repr(state[f.attname])
        attnames = {f.attname for f in value._meta.concrete_fields}
        extra = sorted(set(state) - attnames - HISTORY_ATTRS - {"_state"})
        return ("<instance>", fields, value._state.adding, value._state.db, extra)
    if isinstance(value, BaseException):
        return describe(value, model, names)
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            key = names.get(key, key) if type(key) is int else key  # in_bulk's pks
            items.append(
                (repr(normalise(key, model, names)), normalise(item, model, names))
            )
        return sorted(items)
    if isinstance(value, list | tuple | set):
        items = [normalise(v, model, names) for v in value]
        return sorted(items, key=repr) if isinstance(value, set) else items
    if isinstance(value, str):
        return text(value, model, names)
    return repr(value)


def describe(exc: BaseException, model: Any, names: dict[Any, str]) -> Any:
    """Class (with module), message and cause of an exception, normalised."""
    kind = type(exc)
    message = str(exc.args[0]) if exc.args else ""
    protected = getattr(exc, "protected_objects", None)
    cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else None
    return (
        # Django 6 gives each model its own NotUpdated (Part.NotUpdated), as it
        # does DoesNotExist: compare the kind, not the model's name in it.
        text(f"{kind.__module__}.{kind.__qualname__}", model, names),
        text(message, model, names),
        cause,
        sorted(names.get(o.pk, "?") for o in protected)
        if protected is not None
        else None,
    )


def sql_shape(sql: str, model: Any) -> str:
    """A statement with table names normalised and every number replaced."""
    return re.sub(r"\d+", "N", text(sql, model, {}))


# -- running one operation ------------------------------------------------------------


@dataclass
class Outcome:
    result: Any
    error: Any
    state: tuple[bool, bool, str]
    rows: list[tuple[str, Decimal, str | None]]
    sql: list[str] = field(default_factory=list)
    versions: dict[str, list[str]] = field(default_factory=dict)
    expected: dict[str, list[str]] = field(default_factory=dict)
    reasons: set[str | None] = field(default_factory=set)

    def observable(self) -> tuple[Any, ...]:
        return (self.result, self.error, self.state, self.rows)


def probe(model: Any, using: str = "default") -> str:
    """Whether a query still works; the exception's class otherwise."""
    try:
        model._base_manager.using(using).count()
    except Exception as exc:  # noqa: BLE001 - any failure is the observation
        return type(exc).__name__
    return "ok"


def expected_versions(
    before: Snapshot, after: Snapshot, names: dict[Any, str], overrides: Any
) -> dict[str, list[str]]:
    """The versions a row's change calls for: +, ~ or -, none if unchanged."""
    expected: dict[str, list[str]] = {}
    for pk in before.keys() | after.keys():
        if pk not in after:
            expected[names[pk]] = ["-"]
        elif pk not in before:
            expected[names[pk]] = ["+"]
        elif before[pk] != after[pk]:
            expected[names[pk]] = ["~"]
    return {**expected, **(overrides or {})}


def surroundings(context: str | None) -> AbstractContextManager[Any]:
    """What an operation runs inside: a history context, a setting, or nothing."""
    if context == "reason":
        return history_core.context(reason=REASON, ticket="T-1")
    if context == "noop-setting":  # the wrapper sends {"noop": true} with every write
        return override_settings(HISTORY_CORE={"RECORD_NOOP_SAVES": True})
    return nullcontext()


def call(op: Callable[[Any], Any], model: Any, context: str | None) -> Any:
    if context == "request":  # inside HistoryContextMiddleware, as a view would
        middleware = HistoryContextMiddleware(lambda request: op(model))
        return middleware(RequestFactory().get("/parts/"))
    return op(model)


def execute(op: Callable[[Any], Any], model: Any, *, context: str | None) -> Outcome:
    """Run ``op(model)`` inside ``atomic()`` on seeded rows (the caller rolls back)."""
    seed(model)
    before, since = snapshot(model), last_version()
    during: Snapshot = {}
    with CaptureQueriesContext(connection) as captured, surroundings(context):
        try:
            with transaction.atomic():
                try:
                    result, error = call(op, model, context), None
                except Exception as exc:  # noqa: BLE001 - compared, not handled
                    result, error = None, exc
                works = probe(model)
                state = (connection.needs_rollback, connection.in_atomic_block, works)
                if works != "ok":
                    raise _Rollback
                during = snapshot(model)
        except _Rollback:
            pass
    after = snapshot(model)
    names = {
        pk: row[0] for table in (before, during, after) for pk, row in table.items()
    }
    # Versions are keyed by name; a row inserted by the operation is "name (new)".
    labels = {
        pk: name if pk in before else f"{name} (new)" for pk, name in names.items()
    }
    outcome = Outcome(
        result=normalise(result, model, names),
        error=normalise(error, model, names) if error is not None else None,
        state=state,
        rows=rows_of(after),
        sql=[sql_shape(q["sql"] or "", model) for q in captured.captured_queries],
    )
    if model is Part:
        found = Part.history.filter(history_id__gt=since).order_by("history_id")
        for pk, kind, reason in found.values_list(
            "id", "history_type", "history_change_reason"
        ):
            outcome.versions.setdefault(labels.get(pk, "?"), []).append(kind)
            outcome.reasons.add(reason)
        overrides = CASES[op.__name__].versions if op.__name__ in CASES else None
        outcome.expected = expected_versions(before, after, labels, overrides)
    return outcome


def run(op: Callable[[Any], Any], model: Any, *, context: str | None = None) -> Outcome:
    with rolled_back():
        return execute(op, model, context=context)


_reference: dict[str, Outcome] = {}


def reference(op: Callable[[Any], Any]) -> Outcome:
    """The outcome of ``op`` in plain Django (computed once per operation)."""
    if op.__name__ not in _reference:
        with rolled_back(), plain_django():
            _reference[op.__name__] = execute(op, PlainPart, context=None)
    return _reference[op.__name__]


# -- the corpus -----------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    op: Callable[[Any], Any]
    versions: dict[str, list[str]] | None = None  # when a diff of rows cannot tell


CASES: dict[str, Op] = {}


def case(
    versions: dict[str, list[str]] | None = None,
) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    def add(op: Callable[[Any], Any]) -> Callable[[Any], Any]:
        CASES[op.__name__] = Op(op, versions)
        return op

    return add


def get(model: Any, name: str) -> Any:
    return model.objects.get(name=name)


def caught(exc: BaseException) -> tuple[str, str]:
    return type(exc).__name__, str(exc.args[0]) if exc.args else ""


def average(model: Any) -> Subquery:
    """``AVG(price)`` of the whole table, as a subquery."""
    everything = model.objects.order_by().annotate(one=Value(1)).values("one")
    return Subquery(everything.annotate(avg=Avg("price")).values("avg")[:1])


def raw(model: Any, sql: str, params: Any = None, *, many: bool = False) -> Any:
    """Run raw SQL on the model's table through ``connection.cursor()``."""
    statement = sql.format(table=connection.ops.quote_name(model._meta.db_table))
    with connection.cursor() as cursor:
        if many:
            cursor.executemany(statement, params)
        else:
            cursor.execute(statement, params)
        rowcount = cursor.rowcount
        fetched = cursor.fetchall() if cursor.description else None
    return rowcount, fetched


def wait(make: Callable[[], Any]) -> Any:
    """Await ``make()`` from sync code, as a sync view calling async ORM would."""

    async def main() -> Any:
        return await make()

    return async_to_sync(main)()


@contextmanager
def refusing_saves(model: Any, name: str) -> Iterator[None]:
    """A ``pre_save`` receiver of ``model`` that raises for the row ``name``."""

    def refuse(sender: Any, instance: Any, **kwargs: Any) -> None:
        if instance.name == name:
            raise ValueError(f"{sender.__name__} {name} is frozen")

    uid = "test_equivalence.refuse"
    pre_save.connect(refuse, sender=model, weak=False, dispatch_uid=uid)
    try:
        yield
    finally:
        pre_save.disconnect(sender=model, dispatch_uid=uid)


@case()
def create(model: Any) -> Any:
    return model.objects.create(name="f", price=Decimal("3.00"), parent=get(model, "e"))


@case()
def create_with_unnormalised_price(model: Any) -> Any:
    return model.objects.create(name="f", price="3.5")


@case()
def create_duplicate_name(model: Any) -> Any:
    return model.objects.create(name="a")


@case()
def save_changed(model: Any) -> Any:
    a = get(model, "a")
    a.price = Decimal("7.00")
    a.save()
    return a


@case()
def save_unchanged(model: Any) -> Any:
    a = get(model, "a")
    a.save()
    return a


@case()
def save_update_fields(model: Any) -> Any:
    a = get(model, "a")
    a.price, a.name = Decimal("1.00"), "zz"
    a.save(update_fields=["price"])
    return a


@case()
def save_update_fields_empty(model: Any) -> Any:
    a = get(model, "a")
    a.price = Decimal("1.00")
    a.save(update_fields=[])
    return a


@case()
def save_deferred_instance(model: Any) -> Any:
    a = model.objects.only("name").get(name="a")
    a.name = "aa"
    a.save()
    return a


@case()
def save_new_parent(model: Any) -> Any:
    b = get(model, "b")
    b.parent = get(model, "c")
    b.save()
    return b


@case()
def save_update_fields_of_deleted_row(model: Any) -> Any:
    e = get(model, "e")
    model.objects.filter(pk=e.pk).delete()
    e.price = Decimal("1.00")
    e.save(update_fields=["price"])
    return e


@case()
def save_force_update_of_deleted_row(model: Any) -> Any:
    e = get(model, "e")
    model.objects.filter(pk=e.pk).delete()
    e.save(force_update=True)
    return e


@case()
def save_deleted_instance(model: Any) -> Any:
    """A deleted instance (pk cleared by Django) saved again: a new row."""
    e = get(model, "e")
    e.delete()
    e.save()
    return e


@case(versions={"e": ["-", "+"]})
def save_instance_whose_row_was_deleted(model: Any) -> Any:
    """The UPDATE matches nothing, so Django inserts the row again, same pk."""
    e = get(model, "e")
    model.objects.filter(pk=e.pk).delete()
    e.price = Decimal("1.00")
    e.save()
    return e


@case()
def save_force_insert_existing(model: Any) -> Any:
    a = get(model, "a")
    a.save(force_insert=True)
    return a


@case()
def get_or_create_existing(model: Any) -> Any:
    return model.objects.get_or_create(name="a", defaults={"price": Decimal("9")})


@case()
def get_or_create_new(model: Any) -> Any:
    return model.objects.get_or_create(name="f", defaults={"price": Decimal("9")})


@case()
def update_or_create_changed(model: Any) -> Any:
    return model.objects.update_or_create(name="a", defaults={"price": Decimal("9")})


@case()
def update_or_create_unchanged(model: Any) -> Any:
    return model.objects.update_or_create(name="a", defaults={"price": Decimal("5")})


@case()
def update_or_create_new(model: Any) -> Any:
    return model.objects.update_or_create(
        name="f", defaults={"price": Decimal("1")}, create_defaults={"price": 2}
    )


@case()
def update_with_f(model: Any) -> Any:
    return model.objects.filter(price__lt=10).update(price=F("price") + 1)


@case()
def update_below_average(model: Any) -> Any:
    below = model.objects.filter(price__lt=average(model))
    return below.update(price=F("price") * 2)


@case()
def update_through_custom_manager_method(model: Any) -> Any:
    return model.objects.cheap().update(price=Decimal("0"))


@case()
def update_writing_same_values(model: Any) -> Any:
    return model.objects.update(price=F("price"))


@case()
def update_parent_to_null(model: Any) -> Any:
    return model.objects.filter(parent__isnull=False).update(parent=None)


@case()
def update_with_case(model: Any) -> Any:
    return model.objects.update(
        price=Case(When(name="a", then=Value(Decimal("1"))), default=F("price"))
    )


@case()
def update_matching_nothing(model: Any) -> Any:
    return model.objects.filter(name="zz").update(price=1)


@case()
def update_unique_violation(model: Any) -> Any:
    return model.objects.update(name="same")


@case()
def bulk_create(model: Any) -> Any:
    return model.objects.bulk_create(
        [model(name="f", price=Decimal("1.00")), model(name="g")]
    )


@case()
def bulk_create_nothing(model: Any) -> Any:
    return model.objects.bulk_create([])


@case()
def bulk_create_in_batches(model: Any) -> Any:
    new = [model(name=n, price=Decimal("2")) for n in ("f", "g", "h")]
    return model.objects.bulk_create(new, batch_size=1)


@case()
def bulk_create_ignore_conflicts(model: Any) -> Any:
    new = [model(name="a", price=Decimal("99")), model(name="f", price=Decimal("1"))]
    return model.objects.bulk_create(new, ignore_conflicts=True)


@case()
def bulk_create_update_conflicts(model: Any) -> Any:
    new = [
        model(name="a", price=Decimal("99")),
        model(name="c", price=Decimal("8.00")),
        model(name="f", price=Decimal("1")),
    ]
    return model.objects.bulk_create(
        new, update_conflicts=True, unique_fields=["name"], update_fields=["price"]
    )


@case()
def bulk_create_duplicate(model: Any) -> Any:
    return model.objects.bulk_create([model(name="f"), model(name="a")])


@case()
def bulk_update(model: Any) -> Any:
    rows = list(model.objects.order_by("name"))
    rows[0].price = Decimal("1.00")  # a changes, b keeps its price
    rows[3].parent = None  # d loses its parent
    return model.objects.bulk_update(rows, ["price", "parent"])


@case()
def bulk_update_in_batches(model: Any) -> Any:
    rows = list(model.objects.order_by("name"))
    for row in rows:
        row.price += 1
    return model.objects.bulk_update(rows, ["price"], batch_size=2)


@case()
def bulk_update_unique_violation(model: Any) -> Any:
    rows = list(model.objects.filter(name__in=["a", "c"]))
    for row in rows:
        row.name = "same"
    return model.objects.bulk_update(rows, ["name"])


@case()
def delete_instance(model: Any) -> Any:
    e = get(model, "e")
    return e.delete(), e


@case()
def delete_queryset(model: Any) -> Any:
    return model.objects.filter(price__gt=10).delete()


@case()
def delete_parent_with_its_child(model: Any) -> Any:
    return model.objects.filter(name__in=["a", "b"]).delete()


@case()
def delete_protected_parent(model: Any) -> Any:
    return get(model, "a").delete()


@case()
def delete_protected_parent_caught_in_atomic(model: Any) -> Any:
    with transaction.atomic():
        try:
            get(model, "a").delete()
        except ProtectedError as exc:
            error = caught(exc)
        updated = model.objects.filter(name="e").update(price=1)
        created = model.objects.create(name="f")
    return error, updated, created


@case()
def integrity_error_in_savepoint_then_continue(model: Any) -> Any:
    with transaction.atomic():
        model.objects.filter(name="e").update(price=2)
        try:
            with transaction.atomic():
                model.objects.create(name="a")
        except IntegrityError as exc:
            error = caught(exc)
        created = model.objects.create(name="f")
    return error, created


@case()
def integrity_error_without_savepoint_then_continue(model: Any) -> Any:
    with transaction.atomic():
        model.objects.filter(name="e").update(price=2)
        try:
            model.objects.create(name="a")
        except IntegrityError as exc:
            error = caught(exc)
        return error, model.objects.count()


@case()
def select_for_update_then_save(model: Any) -> Any:
    with transaction.atomic():
        rows = list(model.objects.select_for_update().filter(price__lt=10))
        for row in rows:
            row.price += 1
            row.save()
    return rows


@case()
def in_bulk_by_name(model: Any) -> Any:
    return model.objects.in_bulk(["a", "b", "zz"], field_name="name")


@case()
def in_bulk_by_pk(model: Any) -> Any:
    return model.objects.in_bulk(list(model.objects.values_list("pk", flat=True)))


@case()
def only_pk_delete(model: Any) -> Any:
    return model.objects.filter(name__in=["d", "e"]).only("pk").delete()


@case()
def refresh_after_update(model: Any) -> Any:
    a = get(model, "a")
    model.objects.filter(pk=a.pk).update(price=F("price") + 1)
    a.refresh_from_db()
    return a


@case()
def related_manager_create(model: Any) -> Any:
    return get(model, "a").children.create(name="f")


@case()
def related_manager_update(model: Any) -> Any:
    return get(model, "c").children.update(price=Decimal("1"))


@case()
def related_manager_add_and_remove(model: Any) -> Any:
    a = get(model, "a")
    a.children.add(get(model, "e"))
    a.children.remove(get(model, "b"))
    return sorted(a.children.values_list("name", flat=True))


@case()
def related_manager_clear(model: Any) -> Any:
    get(model, "a").children.clear()


@case()
def raw_update(model: Any) -> Any:
    sql = "UPDATE {table} SET price = price + %s WHERE price < %s"
    return raw(model, sql, [1, 10])


@case()
def raw_update_with_a_literal_percent(model: Any) -> Any:
    sql = "UPDATE {table} SET name = name || '%%' WHERE price < %s"
    return raw(model, sql, [10])


@case()
def raw_update_without_params(model: Any) -> Any:
    return raw(model, "UPDATE {table} SET price = 0 WHERE name = 'a'")


@case()
def raw_update_with_named_params(model: Any) -> Any:
    sql = "UPDATE {table} SET price = %(price)s WHERE name = %(name)s"
    return raw(model, sql, {"price": 1, "name": "a"})


@case()
def raw_executemany(model: Any) -> Any:
    sql = "UPDATE {table} SET price = %s WHERE name = %s"
    return raw(model, sql, [(1, "a"), (2, "c")], many=True)


@case()
def raw_insert_returning(model: Any) -> Any:
    sql = (
        "INSERT INTO {table} (name, price, created) VALUES (%s, %s, %s) RETURNING name"
    )
    return raw(model, sql, ["f", 1, timezone.now()])


@case()
def raw_delete(model: Any) -> Any:
    return raw(model, "DELETE FROM {table} WHERE name = %s", ["e"])


@case()
def raw_unique_violation_caught(model: Any) -> Any:
    try:
        raw(model, "UPDATE {table} SET name = %s", ["same"])
    except IntegrityError as exc:
        return caught(exc)


@case()
def raw_unique_violation_without_params(model: Any) -> Any:
    return raw(model, "UPDATE {table} SET name = 'same'")


@case()
def raw_executemany_unique_violation(model: Any) -> Any:
    sql = "UPDATE {table} SET name = %s WHERE name = %s"
    return raw(model, sql, [("z", "a"), ("c", "e")], many=True)


@case()
def raw_unique_violation_in_savepoint_then_continue(model: Any) -> Any:
    try:
        with transaction.atomic():
            raw(model, "UPDATE {table} SET name = 'same'")
    except IntegrityError as exc:
        error = caught(exc)
    return error, model.objects.filter(name="e").update(price=3)


@case()
def raw_cte_read_without_params(model: Any) -> Any:
    """A read that starts with WITH (a CTE), as django-cte or hand-written SQL sends."""
    return raw(model, "WITH t AS (SELECT name FROM {table}) SELECT name FROM t")


@case()
def async_create(model: Any) -> Any:
    return wait(lambda: model.objects.acreate(name="f", price=Decimal("1.00")))


@case()
def async_update(model: Any) -> Any:
    return wait(
        lambda: model.objects.filter(price__lt=10).aupdate(price=F("price") + 1)
    )


@case()
def async_delete(model: Any) -> Any:
    return wait(model.objects.filter(name__in=["d", "e"]).adelete)


@case()
def async_bulk_create(model: Any) -> Any:
    new = [model(name="f"), model(name="g", price=Decimal("2"))]
    return wait(lambda: model.objects.abulk_create(new))


@case()
def async_bulk_update(model: Any) -> Any:
    rows = list(model.objects.filter(name__in=["a", "b"]))
    for row in rows:
        row.price = Decimal("20.00")
    return wait(lambda: model.objects.abulk_update(rows, ["price"]))


@case()
def async_get_or_create_and_update_or_create(model: Any) -> Any:
    got = wait(lambda: model.objects.aget_or_create(name="f"))
    updated = wait(
        lambda: model.objects.aupdate_or_create(name="a", defaults={"price": 4})
    )
    return got, updated


@case()
def async_instance_save_and_delete(model: Any) -> Any:
    a, e = get(model, "a"), get(model, "e")
    a.price = Decimal("6")
    wait(a.asave)
    return wait(e.adelete), a, e


@case()
def async_protected_delete(model: Any) -> Any:
    return wait(model.objects.filter(name="a").adelete)


@case()
def pre_save_receiver_raises_inside_atomic(model: Any) -> Any:
    with refusing_saves(model, "a"), transaction.atomic():
        a = get(model, "a")
        a.price = Decimal("1")
        try:
            a.save()
        except ValueError as exc:
            error = caught(exc)
        c = get(model, "c")
        c.price = Decimal("2")
        c.save()
        return error, a, c, model.objects.filter(name="e").update(price=3)


@case()
def pre_save_receiver_raises_out_of_atomic(model: Any) -> Any:
    with refusing_saves(model, "f"), transaction.atomic():
        model.objects.filter(name="e").update(price=3)
        return model.objects.create(name="f")


@case()
def save_with_change_reason(model: Any) -> Any:
    a = get(model, "a")
    a._change_reason = "why"
    a.price = Decimal("2")
    a.save()
    return a


CORPUS = list(CASES)

# Variants: (model, what the operation runs inside). The reference is always
# PlainPart in plain Django (history_core's receivers and wrapper disconnected).
VARIANTS: dict[str, tuple[Any, str | None]] = {
    "tracked": (Part, None),
    "tracked-in-context": (Part, "reason"),
    "untracked": (PlainPart, None),
    "untracked-in-context": (PlainPart, "reason"),
    "untracked-in-request": (PlainPart, "request"),
    "untracked-with-record-noop-saves": (PlainPart, "noop-setting"),
}
# Where the execute wrapper has something to send with each write statement.
IN_CONTEXT = set(VARIANTS) - {"tracked", "untracked"}

# -- differences found: strict xfails, so a fix shows up as XPASS -----------------------

_RESULT_REPLACED = (
    "PostgreSQL, the wrapper has a context to send, SQL without params or "
    "executemany(): history_core/database.py (_execute_postgresql) runs set_config() "
    "before the statement and _reset_session_context() after it on the same cursor, "
    "so the caller reads the reset's result: rowcount 1, description of two "
    "set_config columns, fetchall() [('', '')]"
)
_NAMED_PARAMS = (
    "PostgreSQL, the wrapper has a context to send: it prepends a statement with "
    "positional %s placeholders and builds [encoded, *params]; with %(name)s "
    "params (a dict) psycopg raises ProgrammingError 'positional and named "
    "placeholders cannot be mixed'"
)
KNOWN: dict[str, tuple[set[str], str]] = {}
# By design, not a difference in effect: on PostgreSQL the instance's reason travels
# with its UPDATE, as a set_config() prefix in the same message.
KNOWN_SQL: dict[str, tuple[set[str], str]] = (
    {
        "save_with_change_reason": (
            {"tracked"},
            "PostgreSQL: _change_reason travels as a set_config() prefix of the UPDATE",
        )
    }
    if VENDOR == "postgresql"
    else {}
)


def _params(variants: Any, known: dict[str, tuple[set[str], str]]) -> list[Any]:
    params = []
    for name in CORPUS:
        for variant in variants:
            affected, reason = known.get(name, (set(), ""))
            marks = [pytest.mark.xfail(strict=True, reason=reason)]
            params.append(
                pytest.param(
                    name,
                    variant,
                    id=f"{name}-{variant}",
                    marks=marks if variant in affected else [],
                )
            )
    return params


_outcomes: dict[tuple[str, str], Outcome] = {}


def outcome_of(name: str, variant: str) -> Outcome:
    """The outcome of an operation in a variant (computed once per session)."""
    if (name, variant) not in _outcomes:
        model, context = VARIANTS[variant]
        _outcomes[name, variant] = run(CASES[name].op, model, context=context)
    return _outcomes[name, variant]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "variant"), _params(VARIANTS, KNOWN))
def test_operation_behaves_as_in_plain_django(name: str, variant: str) -> None:
    """Same result, exception, rows and transaction state as plain Django."""
    expected = reference(CASES[name].op)

    outcome = outcome_of(name, variant)

    assert outcome.observable() == expected.observable()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "variant"), _params(["tracked", "untracked"], KNOWN_SQL)
)
def test_operation_sends_the_sql_of_plain_django(name: str, variant: str) -> None:
    """Without a context, history_core changes no statement Django sends."""
    expected = reference(CASES[name].op)

    outcome = outcome_of(name, variant)

    assert outcome.sql == expected.sql


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "variant"), _params(["tracked", "tracked-in-context"], {})
)
def test_tracked_operation_records_one_version_per_row_change(
    name: str, variant: str
) -> None:
    """Each created, changed or deleted row gets its version; other rows none."""
    outcome = outcome_of(name, variant)

    assert outcome.versions == outcome.expected
    assert outcome.reasons <= {REASON if variant in IN_CONTEXT else None, "why"}


@pytest.mark.django_db
@pytest.mark.parametrize("name", CORPUS)
def test_untracked_operation_records_nothing(name: str) -> None:
    """An untracked model's operations add no history row."""
    since = last_version()

    run(CASES[name].op, PlainPart, context="reason")

    assert last_version() == since


# -- primary/replica router: writes and their history land on default -----------------


class PrimaryReplicaRouter:
    """Reads go to ``replica``, writes to ``default``."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return "replica"

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return True


DATABASES = ("default", "replica")


def routed_bulk_update(model: Any) -> Any:
    rows = list(model.objects.order_by("name"))  # read from the replica
    rows[0].price, rows[4].price = Decimal("1.00"), Decimal("2.00")
    return model.objects.bulk_update(rows, ["price"])


def routed_save(model: Any) -> Any:
    a = model.objects.get(name="a")  # read from the replica
    a.price = Decimal("3.00")
    a.save()
    return a


ROUTED: dict[str, Callable[[Any], Any]] = {
    "queryset_update": lambda m: m.objects.filter(price__lt=10).update(
        price=F("price") + 1
    ),
    "custom_manager_update": lambda m: m.objects.cheap().update(price=0),
    "bulk_update": routed_bulk_update,
    "bulk_create": lambda m: m.objects.bulk_create([m(name="f"), m(name="g")]),
    "save": routed_save,
    "create": lambda m: m.objects.create(name="f", price=1),
    "update_or_create": lambda m: m.objects.update_or_create(
        name="a", defaults={"price": 3}
    ),
    "instance_delete": lambda m: m.objects.get(name="e").delete(),
    "related_manager_update": lambda m: m.objects.get(name="a").children.update(
        price=1
    ),
}


def copy_to_replica(model: Any) -> None:
    """The replica holds a copy of default's rows, with the same pks."""
    rows = [
        model(pk=pk, name=name, price=price, parent_id=parent)
        for pk, (name, price, parent) in sorted(snapshot(model).items())
    ]
    model._base_manager.db_manager("replica").bulk_create(rows)


def routed(op: Callable[[Any], Any], model: Any) -> dict[str, Any]:
    """Run ``op`` with the router on; what changed on each database."""
    router = override_settings(DATABASE_ROUTERS=[PrimaryReplicaRouter()])
    with rolled_back(*DATABASES), router:
        seed(model)
        copy_to_replica(model)
        before = {db: snapshot(model, db) for db in DATABASES}
        since = {db: last_version(db) for db in DATABASES}
        try:
            with transaction.atomic():
                result, error = op(model), None
        except Exception as exc:  # noqa: BLE001 - compared, not handled
            result, error = None, exc
        after = {db: snapshot(model, db) for db in DATABASES}
        names = {pk: r[0] for db in DATABASES for t in (before[db], after[db]) for pk, r in t.items()}  # fmt: skip
        versions: dict[str, dict[str, list[str]]] = {db: {} for db in DATABASES}
        for db in DATABASES:
            found = Part.history.using(db).filter(history_id__gt=since[db])
            for pk, kind in found.order_by("history_id").values_list(
                "id", "history_type"
            ):
                versions[db].setdefault(names.get(pk, "?"), []).append(kind)
        return {
            "result": normalise(result, model, names),
            "error": normalise(error, model, names) if error is not None else None,
            "default": rows_of(after["default"]),
            "replica unchanged": after["replica"] == before["replica"],
            "versions": versions,
            "expected": expected_versions(
                before["default"], after["default"], names, None
            ),
        }


@pytest.mark.django_db(databases=list(DATABASES))
@pytest.mark.parametrize("name", ROUTED)
def test_routed_write_lands_on_default_like_the_untracked_twin(name: str) -> None:
    """With reads on a replica, a tracked write and its history go to default only."""
    tracked, untracked = routed(ROUTED[name], Part), routed(ROUTED[name], PlainPart)

    observable = ("result", "error", "default", "replica unchanged")
    assert {k: tracked[k] for k in observable} == {k: untracked[k] for k in observable}
    assert tracked["error"] is None
    assert tracked["replica unchanged"]
    assert tracked["versions"] == {"default": tracked["expected"], "replica": {}}
    assert tracked["expected"]  # the operation did change rows


# -- hypothesis: manager and queryset shapes x bulk operations ------------------------

SHAPES: dict[str, Callable[[Any], Any]] = {
    "objects": lambda m: m.objects,
    "base_manager": lambda m: m._base_manager,
    "custom_queryset_method": lambda m: m.objects.cheap(),
    "all_then_filter": lambda m: m.objects.all().filter(name__gte="p2"),
    "db_manager": lambda m: m.objects.db_manager("default"),
    "related_manager": lambda m: m.objects.get(name="p0").children,
}
PRICES = st.sampled_from(
    [Decimal("0.00"), Decimal("5.00"), Decimal("9.99"), Decimal("10.00")]
)


def apply(shape: str, operation: str, model: Any, price: Decimal) -> Any:
    target = SHAPES[shape](model)
    if operation == "update":
        return target.update(price=price)
    if operation == "bulk_update":
        rows = list(model._base_manager.order_by("name"))
        for row in rows:
            row.price = price
        return target.bulk_update(rows, ["price"])
    if operation == "delete":
        return target.all().delete()
    new = [model(name="new1", price=price), model(name="new2", price=price)]
    return target.bulk_create(new)


def shaped(
    model: Any, prices: list[Decimal], shape: str, operation: str, price: Decimal
) -> tuple[Any, int, int]:
    """(observable outcome, rows changed, versions recorded) of one operation."""
    with rolled_back():
        made: list[Any] = []
        for i, p in enumerate(prices):  # odd rows are children of p0
            parent = made[0] if i % 2 else None
            made.append(model.objects.create(name=f"p{i}", price=p, parent=parent))
        before, since = snapshot(model), last_version()
        try:
            with transaction.atomic():
                result, error = apply(shape, operation, model, price), None
        except Exception as exc:  # noqa: BLE001 - compared, not handled
            result, error = None, exc
        after = snapshot(model)
        names = {pk: row[0] for t in (before, after) for pk, row in t.items()}
        changed = len(expected_versions(before, after, names, None))
        recorded = last_version() - since
        observable = (
            normalise(result, model, names),
            normalise(error, model, names) if error is not None else None,
            rows_of(after),
        )
        return observable, changed, recorded


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    prices=st.lists(PRICES, min_size=2, max_size=6),
    shape=st.sampled_from(sorted(SHAPES)),
    operation=st.sampled_from(["update", "bulk_update", "delete", "bulk_create"]),
    price=PRICES,
)
def test_any_manager_shape_behaves_like_the_untracked_twin(
    prices: list[Decimal], shape: str, operation: str, price: Decimal
) -> None:
    """Same outcome as the twin; one version per row actually changed."""
    tracked, changed, recorded = shaped(Part, prices, shape, operation, price)
    untracked, _, nothing = shaped(PlainPart, prices, shape, operation, price)

    assert tracked == untracked
    assert recorded == changed
    assert nothing == 0


# -- smallest reproductions of differences found ---------------------------------------


@pytest.mark.django_db
def test_tracked_queryset_delete_sends_the_statements_of_plain_django() -> None:
    """A model with no relations is deleted with one DELETE in plain Django."""

    def statements() -> list[str]:
        with rolled_back():
            Measure.objects.bulk_create([Measure(), Measure(width=2)])
            with CaptureQueriesContext(connection) as captured:
                Measure.objects.filter(height=1).delete()
        return [sql_shape(q["sql"], Measure) for q in captured.captured_queries]

    with plain_django():
        expected = statements()

    assert statements() == expected


@pytest.mark.django_db
def test_protected_objects_are_loaded_as_in_plain_django() -> None:
    """ProtectedError.protected_objects: deferred instances in plain Django."""

    def deferred() -> list[list[str]]:
        with rolled_back():
            seed(Part)
            with pytest.raises(ProtectedError) as raised:
                get(Part, "a").delete()
        return [sorted(o.get_deferred_fields()) for o in raised.value.protected_objects]

    with plain_django():
        expected = deferred()  # [['created', 'name', 'parent_id', 'price']]

    assert deferred() == expected


@pytest.mark.django_db
def test_refused_save_lends_its_reason_to_no_later_write() -> None:
    """The reason of a save refused by a pre_save receiver is not reused."""
    seed(Part)
    a = get(Part, "a")
    a._change_reason = "refused change"
    with refusing_saves(Part, "a"), pytest.raises(ValueError):
        a.save()

    Part.objects.filter(name="e").update(price=1)

    latest = Part.history.filter(name="e").latest("history_id")
    assert latest.history_change_reason is None


@pytest.mark.django_db
def test_save_inside_a_pre_save_receiver_keeps_the_outer_reason() -> None:
    """A receiver saving another row does not take the outer save's reason away."""
    seed(Part)

    def touch(sender: Any, instance: Any, **kwargs: Any) -> None:
        if instance.name == "a":
            c = get(Part, "c")
            c.price += 1
            c.save()

    pre_save.connect(touch, sender=Part, weak=False, dispatch_uid="equivalence.touch")
    try:
        a = get(Part, "a")
        a._change_reason, a.price = "outer", Decimal("1")
        a.save()
    finally:
        pre_save.disconnect(sender=Part, dispatch_uid="equivalence.touch")

    assert (
        Part.history.filter(name="a").latest("history_id").history_change_reason
        == "outer"
    )
    assert (
        Part.history.filter(name="c").latest("history_id").history_change_reason is None
    )


@pytest.mark.django_db(transaction=True)
def test_raw_write_in_autocommit_records_the_context() -> None:
    """Outside a transaction, a raw write without params still carries the context."""
    seed(Part)
    with history_core.context(reason=REASON):
        raw(Part, "UPDATE {table} SET price = 1 WHERE name = 'a'")

    assert (
        Part.history.filter(name="a").latest("history_id").history_change_reason
        == REASON
    )


@pytest.mark.django_db
def test_untracked_instance_keeps_its_attributes() -> None:
    """history_core takes nothing from an untracked instance."""

    def saved() -> list[str]:
        with rolled_back():
            part = PlainPart(name="f")
            part._change_reason = "the host's own attribute"
            part.save()
        return sorted(part.__dict__)

    with plain_django():
        expected = saved()

    assert saved() == expected


@pytest.mark.django_db
def test_unserialisable_context_breaks_no_untracked_write() -> None:
    """A context value history_core cannot store leaves untracked writes alone."""
    with history_core.context(reason=REASON, thing=object()):
        PlainPart.objects.create(name="f")

    assert PlainPart.objects.filter(name="f").exists()
