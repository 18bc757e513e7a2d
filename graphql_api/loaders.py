"""Per-page batching: versions shown together share their lookups.

A connection resolver wraps its page of records in a :class:`Batch`; the first time
any record of the page needs its previous version, its user or a related version,
the lookup runs once for the whole page (through :mod:`history_core.batch`) and is
cached. Versions returned by a lookup form a batch of their own, so nested fields
(``prevVersion { changes }``) stay batched too. Sync, request-scoped, no DataLoader.

A page of the feed mixes models, and ``history_id`` is unique only within one
model's history: lookups are keyed by ``(historical model, history_id)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from history_core import batch

BATCH_ATTR = "_graphql_batch"


class Batch:
    """Records shown together; each lookup runs once for all of them."""

    def __init__(self, records: Sequence[Any]) -> None:
        self.records = list(records)
        self._cache: dict[str, dict[Any, Any]] = {}

    def _lookup(
        self, key: str, compute: Callable[[list[Any]], dict[Any, Any]]
    ) -> dict[Any, Any]:
        if key not in self._cache:
            found = compute(self.records)
            if key != "users":
                attach([r for r in found.values() if r is not None])
            self._cache[key] = found
        return self._cache[key]

    def previous(self, record: Any) -> Any:
        """The version before ``record``, or None."""
        found = self._lookup("prev", _per_model(batch.neighbours))
        return found.get(_key(record))

    def following(self, record: Any) -> Any:
        """The version after ``record``, or None."""
        found = self._lookup(
            "next", _per_model(lambda rs: batch.neighbours(rs, newer=True))
        )
        return found.get(_key(record))

    def related(self, record: Any, field_name: str) -> Any:
        """The version of ``record``'s related object in force at its date, or None."""
        found = self._lookup(
            f"rel:{field_name}",
            _per_model(lambda rs: batch.related_versions(rs, field_name)),
        )
        return found.get(_key(record))

    def user(self, record: Any) -> Any:
        """The user who made ``record``, or None (unknown or deleted)."""
        return self._lookup("users", batch.users).get(record.history_user_id)


def _key(record: Any) -> tuple[type, int]:
    return type(record), record.history_id


def _per_model(
    lookup: Callable[[list[Any]], dict[int, Any]],
) -> Callable[[list[Any]], dict[Any, Any]]:
    """Run ``lookup`` (keyed by ``history_id``) once per model, keyed by ``_key``."""

    def compute(records: list[Any]) -> dict[Any, Any]:
        groups: dict[type, list[Any]] = {}
        for record in records:
            groups.setdefault(type(record), []).append(record)
        return {
            (model, history_id): found
            for model, group in groups.items()
            for history_id, found in lookup(group).items()
        }

    return compute


def attach(records: Sequence[Any]) -> list[Any]:
    """Put ``records`` in one batch and return them as a list."""
    group = Batch(records)
    for record in group.records:
        record.__dict__[BATCH_ATTR] = group
    return group.records


def batch_of(record: Any) -> Batch:
    """Return the batch ``record`` belongs to (a batch of one if none)."""
    group = record.__dict__.get(BATCH_ATTR)
    if group is None:
        group = Batch([record])
        record.__dict__[BATCH_ATTR] = group
    return group
