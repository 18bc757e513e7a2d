"""What root fields read: the history-table scans their SQL implies, and their cost.

A scan costs its table's size (:func:`table_rows`: the span of its ``history_id``,
two index probes, reused for a minute) over the rows one unit of the budget pays
for (``ROWS_PER_UNIT``); a field's scans cost at least ``SCAN_COST``. What each root
field reads, index-bounded unless said (``HistoryReads``, set on the field by the
schema builder):

* ``<model>History`` (a timeline): the page walks the ``(object id, history_date,
  history_id)`` index from its cursor (``since``/``until`` bound the walk too);
  ``types`` is a filter on rows, a scan of the object's versions, and
  ``totalCount`` counts them: both charged as a scan of the table, since one object
  may hold all of it (``"filter"``, or ``"count"`` without ``types``);
* ``<models>AsOf``: ranks every version up to the instant, object by object, then
  looks the newest up; the page and each ``totalCount`` are a scan each
  (``"as_of"``);
* ``historyFeed``: per model read, a walk of the ``(history_date, history_id)``
  index (``since``/``until``), of the partial creations or deletions index
  (``types: [CREATED]`` or ``[DELETED]``), or of ``(history_user, history_date,
  history_id)`` (``userId``); any other ``types``, or ``types`` with ``userId``,
  filters row after row: a ``"filter"`` scan of each model's table (of the models
  in ``models``, or of every tracked one);
* ``<model>AsOf``, ``<model>Diff``, ``node``, ``revert<Model>``, and the lookups
  below a page (``prevVersion``, ``nextVersion``, related versions, ``historyUser``,
  ``changes``): probes of one object's index or of primary keys.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import router

from history_core.queries import estimated_rows

# The least a field's scans cost, however small its tables (with its lookup: 9 fit).
SCAN_COST = 150
# Rows of a history table that one unit of the budget pays for, per kind of scan
# (one unit is about 0.125 ms: the default budget, 2,000, is 250 ms), from plans
# timed on PostgreSQL 15 over 1,000,000 rows (bench/RESULTS.md, issue 13).
ROWS_PER_UNIT = {
    "count": 1250,  # COUNT over an index, no row read: 0.09-0.11 us a row
    "filter": 150,  # an index walk reading each row to test a filter: 0.7 us a row
    "as_of": 40,  # every version up to T ranked, the newest looked up: 2.7 us a row
}
TABLE_SIZE_TTL = 60.0  # seconds a table's size estimate is reused
CREATED, DELETED = "CREATED", "DELETED"
# Kinds of change with an index of their own (partial indexes on history_date).
INDEXED_TYPES = frozenset({CREATED, DELETED})


READS = "history_reads"  # the key of HistoryReads in a root field's metadata


@dataclass(frozen=True)
class HistoryReads:
    """What a root field reads: set by the schema builder, read by the estimate.

    ``kind`` is ``"timeline"`` (one object's versions), ``"as_of"`` (every object
    at an instant) or ``"feed"`` (every model's versions); ``models`` are the
    historical models, ``labels`` their tracked models' labels, in the same order.
    """

    kind: str
    models: tuple[Any, ...]
    labels: tuple[str, ...]


_sizes: dict[tuple[str, str], tuple[float, int]] = {}


def table_rows(historical_model: Any) -> int:
    """A history table's size estimate, reused for ``TABLE_SIZE_TTL`` seconds."""
    using = router.db_for_read(historical_model)
    key = (using, historical_model._meta.db_table)
    now = time.monotonic()
    cached = _sizes.get(key)
    if cached is None or cached[0] < now:
        cached = (now + TABLE_SIZE_TTL, estimated_rows(historical_model, using))
        _sizes[key] = cached
    return cached[1]


def forget_table_sizes() -> None:
    """Drop the cached size estimates (the next estimate looks them up again)."""
    _sizes.clear()


def scan_cost(kind: str, rows: int) -> int:
    """What one scan of ``kind`` over ``rows`` rows costs."""
    return math.ceil(rows / ROWS_PER_UNIT[kind])


def reads_of(definition: Any) -> HistoryReads | None:
    """The ``HistoryReads`` the schema builder set on a GraphQL field, if any."""
    backref = (definition.extensions or {}).get("strawberry-definition")
    return getattr(backref, "metadata", {}).get(READS)  # type: ignore[no-any-return]


def _listed(value: Any) -> Any:
    """A list argument given as one value (GraphQL accepts it) as a list of it."""
    return [value] if isinstance(value, str) else value


Arguments = Callable[[str], Any]  # an argument's value by name (None if absent)


def models_read(reads: HistoryReads, argument: Arguments) -> list[Any]:
    """The historical models a field reads (the feed's ``models``, if given)."""
    wanted = _listed(argument("models"))
    return [
        model
        for model, label in zip(reads.models, reads.labels, strict=True)
        if not isinstance(wanted, list) or label in wanted
    ]


def scans_of(
    reads: HistoryReads, argument: Arguments, counts: int
) -> list[tuple[str, Any]]:
    """The scans of a field: (kind, historical model) pairs, one per scan.

    ``counts`` is how many ``totalCount`` fields its selection holds.
    """
    types = _listed(argument("types"))
    filtered = types is not None and types != []
    if reads.kind == "as_of":  # the page, and each totalCount again
        return [("as_of", m) for m in reads.models] * (1 + counts)
    if reads.kind == "timeline":  # an object may hold the whole table
        kinds = ["filter"] if filtered else []
        kinds += ["filter" if filtered else "count"] * counts
        return [(k, m) for k in kinds for m in reads.models]
    indexed = isinstance(types, list) and len(types) == 1 and types[0] in INDEXED_TYPES
    by_user = argument("userId") is not None
    if not filtered or (indexed and not by_user):
        return []
    return [("filter", model) for model in models_read(reads, argument)]
