"""Capture under real concurrency (PostgreSQL): threads and processes, each with its
own connection, race writes of the same rows.

Interleavings are forced with events and row/table locks; a thread that must be
blocked is confirmed to wait on a lock through ``pg_stat_activity`` before the test
goes on. The invariants checked everywhere:

* the versions of one object, ordered by ``(history_date, history_id)``, follow the
  order in which the writes committed, and ``history_id`` grows in that order too;
* the latest version is the live row (or ``-`` when the row is gone);
* every version records a change that really happened (no ``~`` equal to its
  predecessor, ``-`` holds the row as it was deleted);
* a change and its version commit or vanish together.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from decimal import Decimal
from typing import Any

import pytest
from django.db import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.models import F
from django.db.models.signals import post_delete, pre_delete

from catalog.models import Product
from history_core import RevertConflict, RevertError, RevertRetry, context

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks, lock waits and backends are PostgreSQL's",
    ),
    pytest.mark.django_db(transaction=True),
]

TIMEOUT = 10.0  # seconds any single wait may take before the test fails
TRACKED = ("id", "name", "price", "description", "category_id")
VALUES = TRACKED[1:]  # the fields a version's change is made of
META = ("history_id", "history_date", "history_type", "history_changed_fields")
HISTORY: Any = Product.history  # every version of every product
HISTORY_TABLE = HISTORY.model._meta.db_table
LIVE_TABLE = Product._meta.db_table


# -- threads, each on its own connection -------------------------------------------


class Worker(threading.Thread):
    """Runs ``fn`` on the thread's own connection; keeps its backend pid and outcome."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.fn = fn
        self.pid: int | None = None
        self.ready = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.ready.set()
            self.result = self.fn()
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            self.error = error
        finally:
            self.ready.set()
            connection.close()

    def outcome(self) -> Any:
        """Wait for the thread; return its result or raise its exception."""
        self.join(TIMEOUT)
        assert not self.is_alive(), "the thread did not finish in time"
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture
def spawn() -> Iterator[Callable[[Callable[[], Any]], Worker]]:
    """Start workers; at teardown none may be left holding a lock or a connection."""
    started: list[Worker] = []

    def start(fn: Callable[[], Any]) -> Worker:
        worker = Worker(fn)
        started.append(worker)
        worker.start()
        assert worker.ready.wait(TIMEOUT)
        return worker

    yield start
    for worker in started:
        worker.join(TIMEOUT / 2)
        if worker.is_alive() and worker.pid is not None:  # a failed test: unblock it
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [worker.pid])
            worker.join(TIMEOUT / 2)


def wait_until_blocked(worker: Worker) -> str:
    """Poll ``pg_stat_activity`` until ``worker``'s statement waits on a lock.

    Returns the ``wait_event`` (``transactionid``, ``tuple``, ``relation``...).
    """
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if not worker.is_alive():
            pytest.fail(
                f"expected a blocked statement; the thread ended: {worker.error!r}"
            )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT wait_event FROM pg_stat_activity "
                "WHERE pid = %s AND wait_event_type = 'Lock'",
                [worker.pid],
            )
            row = cursor.fetchone()
        if row is not None:
            return str(row[0])
        time.sleep(0.002)
    pytest.fail("the statement never waited on a lock")


def locks_held(pid: int, table: str) -> list[tuple[str, bool]]:
    """``(mode, granted)`` of the relation locks ``pid`` has or wants on ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT mode, granted FROM pg_locks WHERE pid = %s AND locktype = 'relation' "
            "AND relation = %s::regclass ORDER BY mode",
            [pid, table],
        )
        return list(cursor.fetchall())


def gate() -> tuple[threading.Event, threading.Event]:
    """``(reached, release)``: a thread sets ``reached`` and waits for ``release``."""
    return threading.Event(), threading.Event()


def pause(reached: threading.Event, release: threading.Event) -> None:
    reached.set()
    assert release.wait(TIMEOUT), "the test never released this thread"


# -- reading what was recorded -----------------------------------------------------


def history(pk: int) -> list[dict[str, Any]]:
    """Every version of ``pk``, oldest first by ``(history_date, history_id)``."""
    return list(
        HISTORY.filter(id=pk)
        .order_by("history_date", "history_id")
        .values(*META, *TRACKED, "history_context")
    )


def kinds(pk: int, *fields: str) -> list[tuple[Any, ...]]:
    return [(v["history_type"], *(v[f] for f in fields)) for v in history(pk)]


def live(pk: int) -> dict[str, Any] | None:
    """The tracked values of the live row, or ``None`` when it is gone."""
    return Product.objects.filter(pk=pk).values(*TRACKED).first()


def row(pk: int) -> dict[str, Any]:
    """The tracked values of the live row, which must exist."""
    found = live(pk)
    assert found is not None, f"product {pk} is gone"
    return found


def problems(pk: int) -> list[str]:
    """Every invariant the versions of ``pk`` break (empty when all hold).

    Ordered by ``(history_date, history_id)``: ids grow; ``+`` only while the row is
    absent, ``~``/``-`` only while it exists; a ``~`` changes something and names
    exactly the fields that differ from its predecessor; a ``-`` holds the row as
    its predecessor left it; a revert's version holds its source's values; the
    latest version is the live row.
    """
    found: list[str] = []
    versions = history(pk)
    by_id = {v["history_id"]: v for v in versions}
    ids = [v["history_id"] for v in versions]
    if ids != sorted(ids):
        found.append(f"history_id order differs from date order: {ids}")
    previous: dict[str, Any] | None = None
    exists = False
    for v in versions:
        values = {f: v[f] for f in VALUES}
        label = f"version {v['history_id']} ({v['history_type']})"
        if v["history_type"] == "+":
            if exists:
                found.append(f"{label}: created while the row existed")
            exists = True
        elif not exists:
            found.append(f"{label}: recorded while the row did not exist")
        elif previous is not None:
            before = {f: previous[f] for f in VALUES}
            differ = sorted(f for f in VALUES if before[f] != values[f])
            if v["history_type"] == "~":
                if not differ:
                    found.append(f"{label}: equal to its predecessor")
                if sorted(v["history_changed_fields"]) != differ:
                    found.append(
                        f"{label}: changed fields {v['history_changed_fields']}, "
                        f"predecessor differs in {differ}"
                    )
            elif differ:
                found.append(f"{label}: deleted row differs in {differ}")
        if v["history_type"] == "-":
            exists = False
        source = by_id.get((v["history_context"] or {}).get("reverted_from"))
        if source is not None and {f: source[f] for f in VALUES} != values:
            found.append(f"{label}: a revert whose values differ from its source")
        previous = v
    current = live(pk)
    latest = versions[-1] if versions else None
    if current is None:
        if latest is not None and latest["history_type"] != "-":
            found.append("the row is gone but its latest version is not '-'")
    elif latest is None or latest["history_type"] == "-":
        found.append("the row exists but its latest version is missing or '-'")
    elif {f: latest[f] for f in TRACKED} != current:
        found.append(f"the latest version {latest['history_id']} differs from the row")
    return found


def create(name: str = "Lamp", price: str = "10.00") -> Product:
    return Product.objects.create(name=name, price=Decimal(price))


# -- 1, 2: blocked writers are versioned in commit order ---------------------------


def test_writer_blocked_on_a_row_lock_is_versioned_after_the_lock_holder(
    spawn: Any,
) -> None:
    """B's UPDATE is sent before A's, but waits on A's lock: B's version comes last.

    A: BEGIN; SELECT ... FOR UPDATE; (B's UPDATE now waits) UPDATE; COMMIT.
    The date is read by the trigger once B holds the row, not when B's statement
    started, so the order is A's version, then B's.
    """
    product = create()
    reached, release = gate()

    def holder() -> None:
        with transaction.atomic():
            mine = Product.objects.select_for_update().get(pk=product.pk)
            pause(reached, release)
            mine.name = "Desk lamp"
            mine.price = Decimal("11.00")
            mine.save()

    stale = Product.objects.get(pk=product.pk)

    def blocked() -> None:
        stale.price = Decimal("20.00")
        stale.description = "from B"
        stale.save()  # writes B's stale name "Lamp" back over A's

    a = spawn(holder)
    assert reached.wait(TIMEOUT)
    b = spawn(blocked)
    assert wait_until_blocked(b) == "transactionid"
    release.set()
    a.outcome()
    b.outcome()

    versions = history(product.pk)
    assert [(v["history_type"], v["name"], v["price"]) for v in versions] == [
        ("+", "Lamp", Decimal("10.00")),
        ("~", "Desk lamp", Decimal("11.00")),
        ("~", "Lamp", Decimal("20.00")),
    ]
    # B's change is measured against what A committed, not against B's stale view.
    assert versions[-1]["history_changed_fields"] == ["description", "name", "price"]
    assert problems(product.pk) == []


def test_two_saves_in_the_lock_holders_transaction_come_before_the_waiter(
    spawn: Any,
) -> None:
    """A saves twice in one transaction while B waits: A's two versions, then B's."""
    product = create()
    reached, release = gate()

    def holder() -> None:
        with transaction.atomic():
            mine = Product.objects.select_for_update().get(pk=product.pk)
            pause(reached, release)
            mine.price = Decimal("11.00")
            mine.save()
            mine.price = Decimal("12.00")
            mine.save()

    def blocked() -> None:
        Product.objects.filter(pk=product.pk).update(price=F("price") + 100)

    a = spawn(holder)
    assert reached.wait(TIMEOUT)
    b = spawn(blocked)
    wait_until_blocked(b)
    release.set()
    a.outcome()
    b.outcome()

    assert kinds(product.pk, "price") == [
        ("+", Decimal("10.00")),
        ("~", Decimal("11.00")),
        ("~", Decimal("12.00")),
        ("~", Decimal("112.00")),  # F() was evaluated on A's committed row
    ]
    assert problems(product.pk) == []


# -- 3, 4: deletes ------------------------------------------------------------------


def _race_two_deletes(spawn: Any) -> tuple[Product, Any, Any]:
    """A deletes and holds its transaction open; B's delete waits, then finds nothing."""
    product = create()
    first = Product.objects.get(pk=product.pk)
    second = Product.objects.get(pk=product.pk)
    reached, release = gate()

    def winner() -> Any:
        with transaction.atomic():
            result = first.delete()
            pause(reached, release)
        return result

    a = spawn(winner)
    assert reached.wait(TIMEOUT)
    b = spawn(second.delete)
    wait_until_blocked(b)
    release.set()
    return product, a.outcome(), b.outcome()


def test_concurrent_deletes_record_exactly_one_deleted_version(spawn: Any) -> None:
    """The delete that waited deletes no row and records nothing."""
    product, won, lost = _race_two_deletes(spawn)

    assert won[0] == 1
    assert lost[0] == 0
    assert kinds(product.pk) == [("+",), ("-",)]
    assert problems(product.pk) == []


def test_losing_delete_returns_what_plain_django_returns(spawn: Any) -> None:
    """The losing delete returns plain Django's answer for a lone instance.

    history_core connects no delete receiver, so Django keeps its fast delete
    (which reports a zero count per model) for tracked models too.
    """
    _, _, tracked = _race_two_deletes(spawn)

    assert not pre_delete.has_listeners(Product)
    assert not post_delete.has_listeners(Product)
    assert tracked == (0, {"catalog.Product": 0})


def test_delete_of_a_stale_instance_records_the_row_as_committed(spawn: Any) -> None:
    """A loaded the row, B saved and committed, then A deleted: ``-`` holds B's values."""
    product = create()
    stale = Product.objects.get(pk=product.pk)

    def other() -> None:
        fresh = Product.objects.get(pk=product.pk)
        fresh.price = Decimal("30.00")
        fresh.description = "B's"
        fresh.save()

    spawn(other).outcome()
    stale.delete()

    assert kinds(product.pk, "price", "description") == [
        ("+", Decimal("10.00"), ""),
        ("~", Decimal("30.00"), "B's"),
        ("-", Decimal("30.00"), "B's"),
    ]
    assert problems(product.pk) == []


def test_delete_waiting_on_an_uncommitted_save_records_the_saved_row(
    spawn: Any,
) -> None:
    """A's DELETE waits on B's saved, uncommitted row; ``-`` holds what B committed."""
    product = create()
    stale = Product.objects.get(pk=product.pk)
    reached, release = gate()

    def saver() -> None:
        with transaction.atomic():
            fresh = Product.objects.select_for_update().get(pk=product.pk)
            fresh.price = Decimal("30.00")
            fresh.save()
            pause(reached, release)

    b = spawn(saver)
    assert reached.wait(TIMEOUT)
    a = spawn(stale.delete)
    wait_until_blocked(a)
    release.set()
    b.outcome()

    assert a.outcome()[0] == 1
    assert kinds(product.pk, "price") == [
        ("+", Decimal("10.00")),
        ("~", Decimal("30.00")),
        ("-", Decimal("30.00")),
    ]
    assert problems(product.pk) == []


# -- 5: bulk_update racing deletes and re-creations --------------------------------


def _recreate(pk: int, name: str, price: str) -> None:
    Product.objects.filter(pk=pk).delete()
    Product.objects.create(pk=pk, name=name, price=Decimal(price))


def test_bulk_update_after_committed_delete_and_recreate_versions_real_changes(
    spawn: Any,
) -> None:
    """Row 1 was deleted and re-created, row 2 deleted, by another connection.

    ``UPDATE ... WHERE id IN (1, 2)`` finds row 1 again and changes it (a ``~``
    against the re-created values); row 2 is gone: no row, no version.
    """
    one, two = create("One"), create("Two")
    loaded = list(Product.objects.filter(pk__in=[one.pk, two.pk]).order_by("pk"))

    def other() -> None:
        _recreate(one.pk, "One again", "50.00")
        Product.objects.filter(pk=two.pk).delete()

    spawn(other).outcome()
    for product in loaded:
        product.price = Decimal("99.00")
    updated = Product.objects.bulk_update(loaded, ["price"])

    assert updated == 1
    assert kinds(one.pk, "name", "price") == [
        ("+", "One", Decimal("10.00")),
        ("-", "One", Decimal("10.00")),
        ("+", "One again", Decimal("50.00")),
        ("~", "One again", Decimal("99.00")),
    ]
    assert kinds(two.pk) == [("+",), ("-",)]
    assert problems(one.pk) == problems(two.pk) == []


def test_bulk_update_waiting_on_a_delete_and_recreate_updates_nothing(
    spawn: Any,
) -> None:
    """B deletes and re-creates row 1 in one transaction while A's bulk_update waits.

    When B commits, A's UPDATE skips the deleted tuple and cannot see the new one
    (its snapshot predates B's commit): row 1 keeps B's values and gets no ``~``.
    """
    one, two = create("One"), create("Two")
    loaded = list(Product.objects.filter(pk__in=[one.pk, two.pk]).order_by("pk"))
    reached, release = gate()

    def recreator() -> None:
        with transaction.atomic():
            _recreate(one.pk, "One again", "50.00")
            pause(reached, release)

    b = spawn(recreator)
    assert reached.wait(TIMEOUT)
    for product in loaded:
        product.price = Decimal("99.00")
    a = spawn(lambda: Product.objects.bulk_update(loaded, ["price"]))
    wait_until_blocked(a)
    release.set()
    b.outcome()

    assert a.outcome() == 1  # Django counts only row 2
    assert (row(one.pk)["name"], row(one.pk)["price"]) == ("One again", Decimal("50"))
    assert kinds(one.pk, "name", "price") == [
        ("+", "One", Decimal("10.00")),
        ("-", "One", Decimal("10.00")),
        ("+", "One again", Decimal("50.00")),
    ]
    assert kinds(two.pk, "price") == [("+", Decimal("10.00")), ("~", Decimal("99.00"))]
    assert problems(one.pk) == problems(two.pk) == []


def test_bulk_update_waiting_on_a_rolled_back_delete_updates_the_row(
    spawn: Any,
) -> None:
    """A's bulk_update waits on B's uncommitted delete, which rolls back: one ``~``."""
    one = create("One")
    loaded = list(Product.objects.filter(pk=one.pk))
    reached, release = gate()

    class Abort(Exception):
        pass

    def deleter() -> None:
        with pytest.raises(Abort), transaction.atomic():
            Product.objects.filter(pk=one.pk).delete()
            pause(reached, release)
            raise Abort

    b = spawn(deleter)
    assert reached.wait(TIMEOUT)
    loaded[0].price = Decimal("99.00")
    a = spawn(lambda: Product.objects.bulk_update(loaded, ["price"]))
    wait_until_blocked(a)
    release.set()
    b.outcome()

    assert a.outcome() == 1
    assert kinds(one.pk, "price") == [("+", Decimal("10.00")), ("~", Decimal("99.00"))]
    assert problems(one.pk) == []


# -- 6: revert with expected_latest racing a save ----------------------------------


def _edit(pk: int, price: str) -> None:
    product = Product.objects.get(pk=pk)
    product.price = Decimal(price)
    product.save()


def test_revert_waiting_on_an_uncommitted_save_raises_conflict(spawn: Any) -> None:
    """The revert's row lock waits for the save; once it commits, the check fails."""
    product = create()
    _edit(product.pk, "11.00")
    first, seen = HISTORY.filter(id=product.pk).order_by("history_date", "history_id")
    reached, release = gate()

    def saver() -> None:
        with transaction.atomic():
            _edit(product.pk, "12.00")
            pause(reached, release)

    s = spawn(saver)
    assert reached.wait(TIMEOUT)
    r = spawn(lambda: first.revert(expected_latest=seen.history_id))
    wait_until_blocked(r)
    release.set()
    s.outcome()

    with pytest.raises(RevertConflict):
        r.outcome()
    assert row(product.pk)["price"] == Decimal("12.00")
    assert kinds(product.pk, "price")[-1] == ("~", Decimal("12.00"))
    assert problems(product.pk) == []


def test_revert_after_a_committed_save_raises_conflict(spawn: Any) -> None:
    """The save committed between the caller's read and its revert: a conflict."""
    product = create()
    _edit(product.pk, "11.00")
    first, seen = HISTORY.filter(id=product.pk).order_by("history_date", "history_id")
    spawn(lambda: _edit(product.pk, "12.00")).outcome()

    with pytest.raises(RevertConflict):
        first.revert(expected_latest=seen.history_id)
    assert row(product.pk)["price"] == Decimal("12.00")
    assert problems(product.pk) == []


def test_save_waiting_on_a_revert_lands_after_it(spawn: Any) -> None:
    """The revert holds the row until its transaction commits; the save comes after."""
    product = create()
    _edit(product.pk, "11.00")
    first, seen = HISTORY.filter(id=product.pk).order_by("history_date", "history_id")
    reached, release = gate()

    def reverter() -> None:
        with transaction.atomic():
            first.revert(expected_latest=seen.history_id)
            pause(reached, release)

    r = spawn(reverter)
    assert reached.wait(TIMEOUT)
    s = spawn(lambda: _edit(product.pk, "12.00"))
    wait_until_blocked(s)
    release.set()
    r.outcome()
    s.outcome()

    versions = history(product.pk)
    assert [(v["history_type"], v["price"]) for v in versions] == [
        ("+", Decimal("10.00")),
        ("~", Decimal("11.00")),
        ("~", Decimal("10.00")),
        ("~", Decimal("12.00")),
    ]
    assert versions[2]["history_context"] == {"reverted_from": first.history_id}
    assert row(product.pk)["price"] == Decimal("12.00")
    assert problems(product.pk) == []


def test_a_dry_run_never_waits_on_a_writer(spawn: Any) -> None:
    """A writer holds the row: the dry run answers RevertRetry at once (NOWAIT),
    where the revert would wait for the writer."""
    product = create()
    _edit(product.pk, "11.00")
    first = HISTORY.filter(id=product.pk).order_by("history_date", "history_id")[0]
    reached, release = gate()

    def saver() -> None:
        with transaction.atomic():
            _edit(product.pk, "12.00")
            pause(reached, release)

    s = spawn(saver)
    assert reached.wait(TIMEOUT)
    try:
        with pytest.raises(RevertRetry, match="try again"):
            first.revert(dry_run=True)
    finally:
        release.set()
    s.outcome()
    assert row(product.pk)["price"] == Decimal("12.00")
    assert problems(product.pk) == []


def test_a_dry_run_holds_no_lock_once_it_has_answered(spawn: Any) -> None:
    """Inside the caller's transaction, the rehearsal's row lock goes with its
    savepoint: a writer is not kept waiting for the caller's commit."""
    product = create()
    _edit(product.pk, "11.00")
    first = HISTORY.filter(id=product.pk).order_by("history_date", "history_id")[0]

    with transaction.atomic():
        result = first.revert(dry_run=True)
        spawn(lambda: _edit(product.pk, "12.00")).outcome()

    assert [(c.field, c.new) for c in result.changes] == [("price", Decimal("10.00"))]
    assert row(product.pk)["price"] == Decimal("12.00")
    assert kinds(product.pk, "price") == [
        ("+", Decimal("10.00")),
        ("~", Decimal("11.00")),
        ("~", Decimal("12.00")),
    ]


def _race_restore_with_recreate(spawn: Any) -> tuple[Product, Worker]:
    """B re-creates a deleted row (uncommitted); A restores it with expected_latest.

    A's ``SELECT ... FOR UPDATE`` finds no row (B's is invisible) so it locks
    nothing, its check sees ``-`` as latest and passes, and its INSERT waits on B's
    uncommitted key; B commits.
    """
    product = create()
    _edit(product.pk, "11.00")
    pk = product.pk
    product.delete()
    first, _, deleted = HISTORY.filter(id=pk).order_by("history_date", "history_id")
    reached, release = gate()

    def recreator() -> None:
        with transaction.atomic():
            Product.objects.create(pk=first.id, name="Back", price=Decimal("77.00"))
            pause(reached, release)

    b = spawn(recreator)
    assert reached.wait(TIMEOUT)
    a = spawn(lambda: first.revert(expected_latest=deleted.history_id))
    assert wait_until_blocked(a) == "transactionid"
    release.set()
    b.outcome()
    return first, a


def test_restore_racing_a_recreate_never_overwrites_it(spawn: Any) -> None:
    """The restore fails and writes nothing; the re-created row and version stand."""
    first, restore = _race_restore_with_recreate(spawn)

    with pytest.raises(RevertError):
        restore.outcome()
    assert (row(first.id)["name"], row(first.id)["price"]) == ("Back", Decimal("77"))
    assert kinds(first.id, "name")[-1] == ("+", "Back")
    assert problems(first.id) == []


def test_restore_racing_a_recreate_raises_conflict(spawn: Any) -> None:
    """The object changed after expected_latest: that is a RevertConflict."""
    _, restore = _race_restore_with_recreate(spawn)

    with pytest.raises(RevertConflict):
        restore.outcome()


# -- 7: timeouts and killed backends never split a change from its version ----------


def _hold_history_table(reached: threading.Event, release: threading.Event) -> None:
    """Block every INSERT into history (and so every trigger) until released."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{HISTORY_TABLE}" IN SHARE MODE')
        pause(reached, release)


def _set_lock_timeout(autocommit: bool) -> None:
    scope = "" if autocommit else "LOCAL "
    with connection.cursor() as cursor:
        cursor.execute(f"SET {scope}lock_timeout = '50ms'")


@pytest.mark.parametrize("autocommit", [True, False], ids=["autocommit", "atomic"])
def test_lock_timeout_before_the_write_leaves_no_change_and_no_version(
    spawn: Any, autocommit: bool
) -> None:
    """B's UPDATE gives up waiting for A's row lock: nothing of B's is stored."""
    product = create()
    reached, release = gate()

    def holder() -> None:
        with transaction.atomic():
            Product.objects.select_for_update().get(pk=product.pk)
            pause(reached, release)

    def impatient() -> None:
        with transaction.atomic() if not autocommit else nullcontext():
            _set_lock_timeout(autocommit)
            _edit_loaded(product, "20.00")

    a = spawn(holder)
    assert reached.wait(TIMEOUT)
    with pytest.raises(OperationalError, match="lock timeout"):
        spawn(impatient).outcome()
    release.set()
    a.outcome()

    assert row(product.pk)["price"] == Decimal("10.00")
    assert kinds(product.pk) == [("+",)]


def _edit_loaded(product: Product, price: str) -> None:
    product.price = Decimal(price)
    product.save()


@pytest.mark.parametrize("with_context", [False, True], ids=["plain", "context"])
@pytest.mark.parametrize("autocommit", [True, False], ids=["autocommit", "atomic"])
def test_lock_timeout_inside_the_trigger_undoes_the_written_row(
    spawn: Any, autocommit: bool, with_context: bool
) -> None:
    """B's UPDATE has written the row; its trigger times out waiting to insert the
    version: the row change is undone with it (the statement fails as a whole).

    ``with_context`` sends the write with its ``set_config`` prefix in the same
    message (``SELECT set_config(...); UPDATE ...``).
    """
    product = create()
    reached, release = gate()

    def writer() -> None:
        scope = context(reason="timed out") if with_context else nullcontext()
        with scope, transaction.atomic() if not autocommit else nullcontext():
            _set_lock_timeout(autocommit)
            _edit_loaded(product, "20.00")

    holder = spawn(lambda: _hold_history_table(reached, release))
    assert reached.wait(TIMEOUT)
    with pytest.raises(OperationalError, match="lock timeout"):
        spawn(writer).outcome()
    release.set()
    holder.outcome()

    assert row(product.pk)["price"] == Decimal("10.00")
    assert kinds(product.pk) == [("+",)]
    _edit_loaded(product, "21.00")  # and the table records again afterwards
    assert kinds(product.pk, "price")[-1] == ("~", Decimal("21.00"))


@pytest.mark.parametrize("autocommit", [True, False], ids=["autocommit", "atomic"])
def test_backend_terminated_inside_the_trigger_keeps_neither_row_nor_version(
    spawn: Any, autocommit: bool
) -> None:
    """B is killed while its trigger waits, after its UPDATE wrote the row."""
    product = create()
    reached, release = gate()

    def writer() -> None:
        with transaction.atomic() if not autocommit else nullcontext():
            _edit_loaded(product, "20.00")

    holder = spawn(lambda: _hold_history_table(reached, release))
    assert reached.wait(TIMEOUT)
    b = spawn(writer)
    assert wait_until_blocked(b) == "relation"
    assert b.pid is not None
    # B has written the live row and waits to insert into history: mid-save.
    assert locks_held(b.pid, LIVE_TABLE) == [("RowExclusiveLock", True)]
    assert locks_held(b.pid, HISTORY_TABLE) == [("RowExclusiveLock", False)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [b.pid])
    with pytest.raises(DatabaseError):
        b.outcome()
    release.set()
    holder.outcome()

    assert row(product.pk)["price"] == Decimal("10.00")
    assert kinds(product.pk) == [("+",)]


def test_terminated_lock_holder_loses_its_change_and_version_together(
    spawn: Any,
) -> None:
    """A saved (row and version written, uncommitted) and is killed; B's save wins."""
    product = create()
    reached, release = gate()

    def holder() -> None:
        with transaction.atomic():
            _edit(product.pk, "11.00")
            pause(reached, release)
            _edit(product.pk, "12.00")  # never reached: the backend is gone

    a = spawn(holder)
    assert reached.wait(TIMEOUT)
    b = spawn(lambda: _edit_loaded(Product.objects.get(pk=product.pk), "20.00"))
    wait_until_blocked(b)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [a.pid])
    release.set()
    with pytest.raises(DatabaseError):
        a.outcome()
    b.outcome()

    assert kinds(product.pk, "price") == [
        ("+", Decimal("10.00")),
        ("~", Decimal("20.00")),
    ]
    assert problems(product.pk) == []


# -- 8: a bounded stress run with processes ----------------------------------------

STRESS_PROCESSES = 4
STRESS_ITERATIONS = 250
STRESS_SECONDS = 20  # the whole run, processes included, must end within this


def _stress_save(rng: random.Random, pk: int, pks: list[int]) -> None:
    product = Product.objects.filter(pk=pk).first()
    if product is None:
        return
    product.price = Decimal(rng.randint(1, 9))
    product.save()  # re-creates the row if it was deleted meanwhile


def _stress_locked_saves(rng: random.Random, pk: int, pks: list[int]) -> None:
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=pk).first()
        if product is None:
            return
        product.name = rng.choice(["Hot", "Warm", "Cold"])
        product.save()
        product.description = rng.choice(["", "a", "b"])
        product.save()


def _stress_update(rng: random.Random, pk: int, pks: list[int]) -> None:
    if rng.random() < 0.5:
        Product.objects.filter(pk=pk).update(price=F("price") + 1)
    else:  # often a no-op: the same description again
        Product.objects.filter(pk__in=pks).update(description=rng.choice(["", "a"]))


def _stress_bulk_update(rng: random.Random, pk: int, pks: list[int]) -> None:
    loaded = list(Product.objects.filter(pk__in=pks))
    for product in loaded:
        product.price = Decimal(rng.randint(1, 9))
    Product.objects.bulk_update(loaded, ["price"])


def _stress_delete_recreate(rng: random.Random, pk: int, pks: list[int]) -> None:
    Product.objects.filter(pk=pk).delete()
    if rng.random() < 0.7:
        Product.objects.create(pk=pk, name="Hot", price=Decimal(rng.randint(1, 9)))


def _stress_revert(rng: random.Random, pk: int, pks: list[int]) -> None:
    recent = list(HISTORY.filter(id=pk).order_by("-history_date", "-history_id")[:6])
    sources = [r for r in recent[1:] if r.history_type != "-"]
    if sources:
        rng.choice(sources).revert(expected_latest=recent[0].history_id)


STRESS_OPS = [
    _stress_save,
    _stress_locked_saves,
    _stress_update,
    _stress_bulk_update,
    _stress_delete_recreate,
    _stress_revert,
]


def _stress_process(seed: int, pks: list[int], queue: Any) -> None:
    """One forked process: its own connection, ``STRESS_ITERATIONS`` random writes."""
    connections.close_all()  # nothing inherited: the parent closed before forking
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    outcomes: Counter[str] = Counter()
    unexpected: list[str] = []
    try:
        with connection.cursor() as cursor:  # deadlocks (bulk vs bulk) resolve fast
            cursor.execute("SET deadlock_timeout = '20ms'")
        for _ in range(STRESS_ITERATIONS):
            op = rng.choice(STRESS_OPS)
            try:
                op(rng, rng.choice(pks), pks)
                outcomes[op.__name__] += 1
            except (IntegrityError, RevertError) as error:  # expected losers of races
                outcomes[type(error).__name__] += 1
            except OperationalError as error:
                if "deadlock" not in str(error):
                    raise
                outcomes["deadlock"] += 1
    except Exception:  # noqa: BLE001 - reported to the test process
        unexpected.append(traceback.format_exc())
    finally:
        connections.close_all()
        queue.put((seed, dict(outcomes), unexpected))


def test_stress_of_racing_processes_keeps_every_invariant() -> None:
    """4 processes race saves, updates, bulk updates, deletes/re-creates and reverts
    on 3 hot rows; afterwards every object's versions satisfy ``problems()``."""
    pks = [create(f"Hot {i}").pk for i in range(3)]
    connections.close_all()  # a forked child must not share the parent's socket
    fork = multiprocessing.get_context("fork")
    queue = fork.Queue()
    processes = [
        fork.Process(target=_stress_process, args=(seed, pks, queue))
        for seed in range(STRESS_PROCESSES)
    ]
    deadline = time.monotonic() + STRESS_SECONDS
    for process in processes:
        process.start()
    try:
        reports = [
            queue.get(timeout=max(0.1, deadline - time.monotonic())) for _ in processes
        ]
    finally:
        for process in processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():  # over the time bound: stop it, the test fails
                process.kill()
                process.join()
    assert [p.exitcode for p in processes] == [0] * STRESS_PROCESSES

    assert [r[2] for r in reports] == [[]] * STRESS_PROCESSES, reports
    done = sum(sum(r[1].values()) for r in reports)
    assert done == STRESS_PROCESSES * STRESS_ITERATIONS
    for pk in pks:
        assert problems(pk) == [], (pk, history(pk))
    assert HISTORY.filter(id__in=pks).count() > STRESS_ITERATIONS
