"""Field-level differences between two historical records.

A diff compares tracked fields only; history metadata (``history_*``) is never part
of it. Changes are sorted by field name, so a diff is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ModelChange:
    """One field that differs: its name, the older value and the newer value."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class ModelDelta:
    """Every change between ``old_record`` and ``new_record``, sorted by field."""

    changes: tuple[ModelChange, ...]
    changed_fields: tuple[str, ...]
    old_record: Any
    new_record: Any


def diff_values(
    pairs: tuple[tuple[str, str], ...], old: dict[str, Any], new: dict[str, Any]
) -> tuple[ModelChange, ...]:
    """Compare two attribute dictionaries over ``(field name, attname)`` pairs.

    ``pairs`` must be sorted by field name; the result keeps that order.
    """
    return tuple(
        ModelChange(name, old.get(attname), new.get(attname))
        for name, attname in pairs
        if old.get(attname) != new.get(attname)
    )


def diff_records(
    old: Any,
    new: Any,
    *,
    included_fields: Iterable[str] | None = None,
    excluded_fields: Iterable[str] | None = None,
) -> ModelDelta:
    """Return the delta that turns ``old`` into ``new`` (two historical records).

    Args:
        old: the older historical record (may be ``None`` for "nothing before").
        new: the newer historical record.
        included_fields: restrict the comparison to these field names.
        excluded_fields: leave these field names out.
    """
    pairs = type(new)._history_options.diff_pairs
    if included_fields is not None or excluded_fields is not None:
        keep = set(included_fields) if included_fields is not None else None
        drop = set(excluded_fields or ())
        pairs = tuple(
            (n, a) for n, a in pairs if (keep is None or n in keep) and n not in drop
        )
    old_values = old.__dict__ if old is not None else {}
    changes = diff_values(pairs, old_values, new.__dict__)
    return ModelDelta(
        changes=changes,
        changed_fields=tuple(c.field for c in changes),
        old_record=old,
        new_record=new,
    )
