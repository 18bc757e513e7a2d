"""prune_history never changes an ``as_of`` answer it promises to keep.

The oracle: Hypothesis draws programs of creates, updates, deletes and recreates (the
same primary key again) over a few products, on a frozen clock that moves only when a
step says so (several versions often share one instant). Before pruning we note every
``as_of`` answer (one object through both paths, its record, the whole model, filtered
or not) at every instant where history changed, half a second after each, and at the
cut-off; after pruning, every answer the command promises to keep must be identical:

* ``--before T``: every answer at ``T`` and later;
* ``--keep-last N``: an object's own answers from the date of its oldest kept version
  on, and the whole model's from the latest of those dates on;
* both: the union of the two.

A prune that deleted nothing would pass that, so the records left must also be
exactly those the promises need, and ``--dry-run`` must count what the run deletes.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import example, given, settings
from hypothesis import strategies as st

from catalog.models import Product

from .helpers import START, Clock

HALF_SECOND = timedelta(milliseconds=500)
SLOTS = st.integers(min_value=1, max_value=3)  # primary keys: recreated as they were
NAMES = st.sampled_from(["a", "b"])
PRICES = st.sampled_from([Decimal("1.00"), Decimal("2.50"), Decimal("4.00")])
STEPS = st.one_of(
    st.tuples(st.just("write"), SLOTS, NAMES, PRICES),
    st.tuples(st.just("delete"), SLOTS),
    st.tuples(st.just("update_many"), st.lists(SLOTS, min_size=1, max_size=3), PRICES),
)
# Each step comes with a flag: move the clock one second forward before it runs.
PROGRAMS = st.lists(st.tuples(STEPS, st.booleans()), min_size=1, max_size=20)
KEEP = st.integers(min_value=1, max_value=3)
# Issue 13: the version in force at the cut-off was deleted when a later one existed.
CHANGED_AFTER_THE_CUT = [
    (("write", 1, "a", Decimal("1.00")), False),
    (("write", 1, "b", Decimal("1.00")), True),
    (("delete", 1), True),
]


@st.composite
def programs_and_cuts(draw: Any) -> tuple[list[tuple[tuple[Any, ...], bool]], datetime]:
    """A program, and a --before instant within its span: on a change or between."""
    program = draw(PROGRAMS)
    ticks = sum(tick for _, tick in program)
    half_seconds = draw(st.integers(min_value=0, max_value=2 * ticks + 1))
    return program, START + half_seconds * HALF_SECOND


# --before written with another offset must mean the same instant.
OFFSETS = st.sampled_from([0, -5, 9])


@dataclass(frozen=True)
class Row:
    """What the oracle needs of one historical record."""

    history_id: int
    pk: int
    date: datetime
    kind: str


def write(pk: int, name: str, price: Decimal) -> None:
    """Create (or recreate, with the same key) or update product ``pk``."""
    product = Product.objects.filter(pk=pk).first()
    if product is None:
        Product.objects.create(id=pk, name=name, price=price)
    else:
        product.name, product.price = name, price
        product.save()


def run_program(program: list[tuple[tuple[Any, ...], bool]], clock: Clock) -> None:
    for step, tick in program:
        if tick:
            clock.tick()
        if step[0] == "write":
            write(*step[1:])
        elif step[0] == "delete":
            Product.objects.filter(pk=step[1]).delete()
        else:  # one statement: versions of several objects at one instant
            Product.objects.filter(pk__in=step[1]).update(price=step[2])


def every_row() -> list[Row]:
    return [
        Row(*values)
        for values in Product.history.order_by(
            "history_date", "history_id"
        ).values_list("history_id", "id", "history_date", "history_type")
    ]


def _state(product: Any) -> tuple[Any, ...]:
    return (product.pk, product.name, Decimal(product.price))


def _attempt(read: Any) -> Any:
    """The answer of ``read()``: its value, or the DoesNotExist message."""
    try:
        return read()
    except Product.DoesNotExist as error:
        return ("DoesNotExist", str(error))


def object_answers(pk: int, ts: datetime) -> tuple[Any, ...]:
    """Every per-object as_of answer for ``pk`` at ``ts``."""
    bound = Product(pk=pk).history

    def record() -> tuple[int, str]:
        found = bound.record_as_of(ts)
        return (found.history_id, found.history_type)

    return (
        _attempt(lambda: _state(bound.as_of(ts))),  # one cached SQL statement
        _attempt(lambda: _state(bound.all().as_of(ts))),  # the queryset's
        _attempt(lambda: _state(Product.history.for_object(pk).as_of(ts))),
        _attempt(record),
    )


def model_answers(ts: datetime) -> tuple[Any, ...]:
    """Every whole-model as_of answer at ``ts``, with and without filters."""

    def states(queryset: Any) -> list[tuple[Any, ...]]:
        return sorted(_state(product) for product in queryset)

    history = Product.history
    return (
        states(history.as_of(ts)),
        states(history.filter(price__gt=Decimal("2")).as_of(ts)),
        states(history.filter(name="a").as_of(ts)),
        states(history.filter(history_type="~").as_of(ts)),
        sorted(history.records_as_of(ts).values_list("history_id", "history_type")),
    )


def by_object(rows: list[Row]) -> dict[int, list[Row]]:
    """Each object's versions, oldest first (ties by history_id)."""
    grouped: dict[int, list[Row]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.date, r.history_id)):
        grouped[row.pk].append(row)
    return grouped


def needed(rows: list[Row], before: datetime | None, keep: int | None) -> set[int]:
    """The ids the promises keep: at ``before`` and later, and the newest ``keep``."""
    kept: set[int] = set()
    for versions in by_object(rows).values():
        if before is not None:
            in_force = [v for v in versions if v.date <= before][-1:]
            kept |= {v.history_id for v in versions if v.date >= before}
            kept |= {v.history_id for v in in_force}
        if keep is not None:
            kept |= {v.history_id for v in versions[-keep:]}
    return kept


def kept_from(rows: list[Row], before: datetime | None, keep: int | None) -> Any:
    """The instant from which each object's answers are promised unchanged."""
    starts = {}
    for pk, versions in by_object(rows).items():
        candidates = []
        if before is not None:
            candidates.append(before)
        if keep is not None:  # the date of the oldest version --keep-last leaves
            candidates.append(versions[-keep:][0].date)
        starts[pk] = min(candidates)
    return starts


def instants(rows: list[Row], before: datetime | None) -> list[datetime]:
    """Every change instant, the instant half a second after each, and the cut-off."""
    dates = {row.date for row in rows}
    found = dates | {date + HALF_SECOND for date in dates}
    if before is not None:
        found.add(before)
    return sorted(found)


def prune(*args: str) -> str:
    out = io.StringIO()
    call_command("prune_history", "--model", "catalog.Product", *args, stdout=out)
    return out.getvalue()


def _count(pattern: str, output: str) -> int:
    match = re.search(pattern, output)
    assert match, output
    return int(match.group(1))


def check_prune(
    program: list[tuple[tuple[Any, ...], bool]],
    clock: Clock,
    before: datetime | None,
    keep: int | None,
    offset_hours: int,
) -> None:
    run_program(program, clock)
    rows = every_row()
    starts = kept_from(rows, before, keep)
    moments = instants(rows, before)
    model_from = max(starts.values(), default=START)
    objects = {
        (pk, ts): object_answers(pk, ts)
        for pk, start in starts.items()
        for ts in moments
        if ts >= start
    }
    whole = {ts: model_answers(ts) for ts in moments if ts >= model_from}
    args = []
    if before is not None:
        zone = dt_timezone(timedelta(hours=offset_hours))
        args += ["--before", before.astimezone(zone).isoformat()]
    if keep is not None:
        args += ["--keep-last", str(keep)]
    expected_kept = needed(rows, before, keep)

    dry = _count(r"would delete (\d+) historical record", prune(*args, "--dry-run"))
    assert every_row() == rows, "the dry run deleted something"
    with CaptureQueriesContext(connection) as captured:
        output = prune(*args)

    for (pk, ts), answer in objects.items():
        assert object_answers(pk, ts) == answer, (pk, ts)
    for ts, answer in whole.items():
        assert model_answers(ts) == answer, ts
    # ...and whatever no promise needs is gone, as many as the dry run said.
    assert {row.history_id for row in every_row()} == expected_kept
    assert dry == _count(r"Deleted (\d+) historical record", output)
    assert dry == len(rows) - len(expected_kept)
    deletes = [q for q in captured.captured_queries if "DELETE FROM" in q["sql"]]
    assert len(deletes) == 1, "one set-based DELETE per model"
    if keep is not None and before is None:  # what --keep-last alone promises
        for pk, start in starts.items():
            gone = object_answers(pk, start - HALF_SECOND)[0]
            assert gone[0] == "DoesNotExist" and "did not exist yet" in gone[1]


def in_an_example(test: Any) -> None:
    """Run ``test(clock)`` on a frozen clock, rolled back afterwards."""
    clock = Clock()
    with (
        mock.patch("django.utils.timezone.now", clock),
        override_settings(HISTORY_CORE={"CLOCK": "python"}),
        transaction.atomic(),
    ):
        test(clock)
        transaction.set_rollback(True)  # each example starts from empty tables


@pytest.mark.django_db
@settings(max_examples=50, deadline=None)
@given(drawn=programs_and_cuts(), offset=OFFSETS)
@example(drawn=(CHANGED_AFTER_THE_CUT, START + HALF_SECOND), offset=0)
def test_prune_before_keeps_every_answer_from_the_cut_off_on(
    drawn: tuple[list[tuple[tuple[Any, ...], bool]], datetime], offset: int
) -> None:
    program, before = drawn
    in_an_example(lambda clock: check_prune(program, clock, before, None, offset))


@pytest.mark.django_db
@settings(max_examples=30, deadline=None)
@given(program=PROGRAMS, keep=KEEP)
def test_prune_keep_last_keeps_each_objects_answers_from_its_oldest_kept_version(
    program: list[tuple[tuple[Any, ...], bool]], keep: int
) -> None:
    in_an_example(lambda clock: check_prune(program, clock, None, keep, 0))


@pytest.mark.django_db
@settings(max_examples=50, deadline=None)
@given(drawn=programs_and_cuts(), keep=KEEP, offset=OFFSETS)
@example(drawn=(CHANGED_AFTER_THE_CUT, START + HALF_SECOND), keep=1, offset=0)
def test_prune_with_both_criteria_keeps_what_either_promises(
    drawn: tuple[list[tuple[tuple[Any, ...], bool]], datetime], keep: int, offset: int
) -> None:
    program, before = drawn
    in_an_example(lambda clock: check_prune(program, clock, before, keep, offset))
