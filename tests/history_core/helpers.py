"""Helpers shared by the history_core tests: a controllable clock and SQL probes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A stand-in for ``timezone.now``: returns ``now`` until told to move."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1) -> datetime:
        """Move the clock forward and return the new instant."""
        self.now += timedelta(seconds=seconds)
        return self.now


def statements(captured: Any) -> list[str]:
    """Return the first SQL keyword of each captured query, upper-cased."""
    return [q["sql"].split(None, 1)[0].upper() for q in captured.captured_queries]


def inserts_into(captured: Any, table: str) -> int:
    """Return how many captured queries insert into ``table``."""
    head = f'INSERT INTO "{table}"'
    return sum(q["sql"].startswith(head) for q in captured.captured_queries)


def selects(captured: Any) -> list[str]:
    """Return the captured SELECT statements."""
    return [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")
    ]


def versions(obj: Any, *fields: str) -> list[tuple[Any, ...]]:
    """Return ``(history_type, *fields)`` of each version of ``obj``, oldest first."""
    return list(
        obj.history.order_by("history_date", "history_id").values_list(
            "history_type", *fields
        )
    )
