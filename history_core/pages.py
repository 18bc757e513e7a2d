"""Keyset pagination over history: timelines, as-of snapshots and the change feed.

Keyset (not offset) pages stay right while new versions arrive: a cursor names the
last row seen by its sort key, and the next page starts strictly after it.

* Timelines and the feed are ordered newest first by ``(history_date, history_id)``
  (the feed adds the model label between them, to order models deterministically).
* As-of snapshots are ordered by the tracked object's primary key.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models

from .queries import newer_than, older_than

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    """One page of rows, and whether rows exist beyond it in each direction."""

    items: list[Any]
    has_next: bool
    has_previous: bool


@dataclass(frozen=True)
class Window:
    """A Relay-style window: ``first`` rows after ``after``, or ``last`` before ``before``."""

    first: int | None = None
    after: Any = None
    last: int | None = None
    before: Any = None

    def size(self, default: int) -> int:
        """Return the number of rows asked for, checked against ``MAX_PAGE_SIZE``."""
        if self.first is not None and self.last is not None:
            raise ValueError("Pass either first or last, not both.")
        size = self.first if self.first is not None else self.last
        size = default if size is None else size
        if not 0 <= size <= MAX_PAGE_SIZE:
            raise ValueError(
                f"Page size must be between 0 and {MAX_PAGE_SIZE}; got {size}."
            )
        return size


def _older_than(key: tuple[datetime, int]) -> models.Q:
    return older_than(*key)


def _newer_than(key: tuple[datetime, int]) -> models.Q:
    return newer_than(*key)


def _slice(
    queryset: models.QuerySet[Any],
    window: Window,
    size: int,
    forward: Sequence[str],
    backward: Sequence[str],
) -> Page:
    if window.last is not None:
        rows = list(queryset.order_by(*backward)[: size + 1])
        has_more = len(rows) > size
        items = rows[:size][::-1]
        return Page(items, has_next=window.before is not None, has_previous=has_more)
    rows = list(queryset.order_by(*forward)[: size + 1])
    return Page(
        rows[:size], has_next=len(rows) > size, has_previous=window.after is not None
    )


def timeline(queryset: models.QuerySet[Any], window: Window, default: int = 20) -> Page:
    """Page through historical records, newest first; cursors are ``(date, id)``."""
    size = window.size(default)
    if window.after is not None:
        queryset = queryset.filter(_older_than(window.after))
    if window.before is not None:
        queryset = queryset.filter(_newer_than(window.before))
    newest = ("-history_date", "-history_id")
    return _slice(queryset, window, size, newest, ("history_date", "history_id"))


def by_object(
    queryset: models.QuerySet[Any], pk_attname: str, window: Window, default: int = 20
) -> Page:
    """Page through records one per object (an as-of snapshot), by object key."""
    size = window.size(default)
    if window.after is not None:
        queryset = queryset.filter(**{f"{pk_attname}__gt": window.after})
    if window.before is not None:
        queryset = queryset.filter(**{f"{pk_attname}__lt": window.before})
    return _slice(queryset, window, size, (pk_attname,), (f"-{pk_attname}",))


FeedKey = tuple[datetime, str, int]


def feed(
    querysets: Iterable[tuple[str, models.QuerySet[Any]]],
    window: Window,
    default: int = 20,
) -> Page:
    """Merge several models' records into one page, newest first.

    Each model costs one query whatever the page size. Cursors are
    ``(history_date, model label, history_id)``.
    """
    if window.last is not None or window.before is not None:
        raise ValueError("The feed pages forward only: use first and after.")
    size = window.size(default)
    streams = []
    for label, queryset in querysets:
        if window.after is not None:
            queryset = queryset.filter(_feed_condition(label, window.after))
        newest = queryset.order_by("-history_date", "-history_id")[: size + 1]
        streams.append([(r.history_date, label, r.history_id, r) for r in newest])
    merged = heapq.merge(*streams, key=_feed_sort_key, reverse=True)
    rows = [item[3] for _, item in zip(range(size + 1), merged, strict=False)]
    return Page(
        rows[:size], has_next=len(rows) > size, has_previous=window.after is not None
    )


def _feed_sort_key(item: tuple[datetime, str, int, Any]) -> FeedKey:
    return item[0], item[1], item[2]


def _feed_condition(label: str, after: FeedKey) -> models.Q:
    date, after_label, hid = after
    if label < after_label:
        return models.Q(history_date__lte=date)
    if label > after_label:
        return models.Q(history_date__lt=date)
    return _older_than((date, hid))
