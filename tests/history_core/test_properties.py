"""Property: history always agrees with a plain record of what the program wrote.

Hypothesis draws random programs of creates, updates, no-op saves, deletes, reverts
and bulk operations over a few products. The program runs against the database and,
alongside, against :class:`Truth`, a few dictionaries. After every step we note the
newest ``history_date`` and the expected state of every object; at the end, for every
noted instant, ``obj.history.as_of(t)`` and ``Product.history.as_of(t)`` must equal
the expected state, and each object's timeline must be complete and in order.

The clock is frozen and moved only when a step says so, so several steps often share
one instant: ``as_of`` must then give the state after the last of them (ties are
broken by ``history_id``).

Semantics the model encodes: ``save()`` without a change records nothing;
``QuerySet.update()`` and ``bulk_update()`` record a version for every row they
change (a row written with the values it had records nothing); a revert to the current state records nothing; a revert of a
deleted object records ``+``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.models import Product

from .helpers import Clock

State = tuple[str, Decimal]

NAMES = st.sampled_from(["a", "b", "c"])
PRICES = st.sampled_from([Decimal("1.00"), Decimal("2.50")])
PICK = st.integers(min_value=0, max_value=7)
PICKS = st.lists(PICK, min_size=1, max_size=3)

STEPS = st.one_of(
    st.tuples(st.just("create"), NAMES, PRICES),
    st.tuples(st.just("save"), PICK, NAMES, PRICES),
    st.tuples(st.just("noop_save"), PICK),
    st.tuples(st.just("delete"), PICK),
    st.tuples(st.just("revert"), PICK, st.integers(min_value=0, max_value=20)),
    st.tuples(
        st.just("bulk_create"),
        st.lists(st.tuples(NAMES, PRICES), min_size=1, max_size=3),
    ),
    st.tuples(st.just("update"), PICKS, PRICES),
    st.tuples(st.just("bulk_update"), PICKS, NAMES),
    st.tuples(st.just("queryset_delete"), PICKS),
)
# Each step comes with a flag: move the clock forward before it runs.
PROGRAMS = st.lists(st.tuples(STEPS, st.booleans()), min_size=1, max_size=14)


@dataclass
class Truth:
    """What the program wrote, kept in plain dictionaries."""

    live: dict[int, State] = field(default_factory=dict)
    timelines: dict[int, list[tuple[str, str, Decimal]]] = field(default_factory=dict)
    states_at: dict[datetime, dict[int, State]] = field(default_factory=dict)

    def version(self, pk: int, history_type: str, state: State) -> None:
        """Note a version of ``pk``; ``-`` removes it from the live objects."""
        self.timelines.setdefault(pk, []).append((history_type, *state))
        if history_type == "-":
            del self.live[pk]
        else:
            self.live[pk] = state

    def pick(self, index: int) -> int | None:
        """Return one of the objects ever created, or ``None`` if there is none."""
        known = list(self.timelines)
        return known[index % len(known)] if known else None

    def pick_live(self, indexes: list[int]) -> list[int]:
        """Return the distinct live objects among the picks."""
        picked = (self.pick(i) for i in indexes)
        return sorted({pk for pk in picked if pk in self.live})


def _state(product: Any) -> State:
    return (product.name, Decimal(product.price))


class Program:
    """Runs steps against the database and the truth side by side."""

    def __init__(self, truth: Truth) -> None:
        self.truth = truth

    def run(self, step: tuple[Any, ...]) -> None:
        getattr(self, step[0])(*step[1:])

    def create(self, name: str, price: Decimal) -> None:
        product = Product.objects.create(name=name, price=price)
        self.truth.version(product.pk, "+", (name, price))

    def save(self, index: int, name: str, price: Decimal) -> None:
        pk = self.truth.pick(index)
        if pk not in self.truth.live:
            return
        product = Product.objects.get(pk=pk)
        product.name, product.price = name, price
        product.save()
        if (name, price) != self.truth.live[pk]:
            self.truth.version(pk, "~", (name, price))

    def noop_save(self, index: int) -> None:
        pk = self.truth.pick(index)
        if pk in self.truth.live:
            Product.objects.get(pk=pk).save()

    def delete(self, index: int) -> None:
        pk = self.truth.pick(index)
        if pk in self.truth.live:
            Product.objects.get(pk=pk).delete()
            self.truth.version(pk, "-", self.truth.live[pk])

    def revert(self, index: int, version: int) -> None:
        pk = self.truth.pick(index)
        if pk is None:
            return
        candidates = list(
            Product(pk=pk).history.exclude(history_type="-").order_by("history_id")
        )
        record = candidates[version % len(candidates)]
        target = _state(record)
        record.revert()
        if pk not in self.truth.live:
            self.truth.version(pk, "+", target)
        elif target != self.truth.live[pk]:
            self.truth.version(pk, "~", target)

    def bulk_create(self, rows: list[State]) -> None:
        made = Product.objects.bulk_create(
            [Product(name=name, price=price) for name, price in rows]
        )
        for product, state in zip(made, rows, strict=True):
            self.truth.version(product.pk, "+", state)

    def update(self, indexes: list[int], price: Decimal) -> None:
        pks = self.truth.pick_live(indexes)
        Product.objects.filter(pk__in=pks).update(price=price)
        for pk in pks:
            if self.truth.live[pk][1] != price:
                self.truth.version(pk, "~", (self.truth.live[pk][0], price))

    def bulk_update(self, indexes: list[int], name: str) -> None:
        pks = self.truth.pick_live(indexes)
        products = list(Product.objects.filter(pk__in=pks))
        for product in products:
            product.name = name
        Product.objects.bulk_update(products, ["name"])
        for pk in pks:
            if self.truth.live[pk][0] != name:
                self.truth.version(pk, "~", (name, self.truth.live[pk][1]))

    def queryset_delete(self, indexes: list[int]) -> None:
        pks = self.truth.pick_live(indexes)
        Product.objects.filter(pk__in=pks).delete()
        for pk in pks:
            self.truth.version(pk, "-", self.truth.live[pk])


def _note_instant(truth: Truth) -> None:
    newest = Product.history.order_by("-history_date", "-history_id").first()
    if newest is not None:  # a later step at the same instant overwrites: it wins
        truth.states_at[newest.history_date] = dict(truth.live)


def _check_as_of(truth: Truth, instant: datetime, expected: dict[int, State]) -> None:
    everyone = list(Product.history.as_of(instant))
    assert len(everyone) == len({p.pk for p in everyone}), "an object appears twice"
    assert {p.pk: _state(p) for p in everyone} == expected
    for pk in truth.timelines:
        if pk in expected:
            assert _state(Product(pk=pk).history.as_of(instant)) == expected[pk]
        else:
            with pytest.raises(Product.DoesNotExist):
                Product(pk=pk).history.as_of(instant)


def _check_timelines(truth: Truth) -> None:
    for pk, expected in truth.timelines.items():
        records = list(Product(pk=pk).history.order_by("history_date", "history_id"))
        assert [(r.history_type, r.name, r.price) for r in records] == expected
        ids = [r.history_id for r in records]
        assert ids == sorted(ids), "timeline order disagrees with insertion order"


def _run_and_check(program: list[tuple[tuple[Any, ...], bool]], clock: Clock) -> None:
    truth = Truth()
    runner = Program(truth)
    start = clock.now
    for step, tick in program:
        if tick:
            clock.tick()
        runner.run(step)
        _note_instant(truth)
    _check_as_of(truth, start - timedelta(microseconds=1), {})
    for instant, expected in truth.states_at.items():
        _check_as_of(truth, instant, expected)
    _check_timelines(truth)
    assert dict(truth.live) == {p.pk: _state(p) for p in Product.objects.all()}


@pytest.mark.django_db
@settings(max_examples=40, deadline=None)
@given(program=PROGRAMS)
def test_history_agrees_with_the_program(
    program: list[tuple[tuple[Any, ...], bool]],
) -> None:
    clock = Clock()
    python_clock = {"HISTORY_CORE": {"CLOCK": "python"}}
    with (
        mock.patch("django.utils.timezone.now", clock),
        override_settings(**python_clock),
        transaction.atomic(),
    ):
        _run_and_check(program, clock)
        transaction.set_rollback(True)  # each example starts from an empty table
