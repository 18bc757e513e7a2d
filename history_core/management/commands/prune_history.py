"""Delete old historical records: the one sanctioned way to drop history.

``--before`` selects versions recorded strictly before an instant; ``--keep-last N``
selects every version of an object except its newest N (ties on ``history_date``
broken by ``history_id``, as everywhere). Given both, only versions matching both are
deleted. Each object's newest version is always kept, so ``as_of`` still answers
for objects not changed since the cut-off. Without any criterion nothing is deleted. Records are removed with one
set-based ``DELETE`` per model: historical rows refuse per-instance ``delete()``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models.functions import RowNumber
from django.utils import timezone

from ...compat import raw_delete
from ...database import pruning
from ...options import TrackingOptions
from ..selection import add_selection_arguments, selected_options

EXAMPLE = "2024-01-31T00:00:00+00:00"


def parse_before(value: str) -> datetime:
    """Parse ``--before``: an ISO-8601 timestamp with a time zone.

    Raises:
        CommandError: the value is not ISO-8601, or has no time zone.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise CommandError(
            f"--before {value!r} is not an ISO-8601 timestamp; use e.g. {EXAMPLE}."
        ) from error
    if timezone.is_naive(parsed):
        raise CommandError(
            f"--before {value!r} has no time zone, so the instant is ambiguous; add "
            f"one, e.g. {EXAMPLE} or a trailing Z for UTC."
        )
    return parsed


def prunable(
    tracking: TrackingOptions,
    using: str,
    before: datetime | None,
    keep_last: int | None,
) -> Any:
    """Return the historical records of one model that the criteria select."""
    records = tracking.historical_model._base_manager.db_manager(using).all()
    if before is not None:
        records = records.filter(history_date__lt=before)
    # The newest version of each object is the state in force now: never pruned.
    older = _older_than_newest(tracking, using, keep_last or 1)
    return records.filter(history_id__in=older)


def _older_than_newest(tracking: TrackingOptions, using: str, keep: int) -> Any:
    """Return the ids of every version but each object's newest ``keep``."""
    rank = models.Window(
        RowNumber(),
        partition_by=[models.F(tracking.pk_attname)],
        order_by=[models.F("history_date").desc(), models.F("history_id").desc()],
    )
    every_version = tracking.historical_model._base_manager.db_manager(using).all()
    ranked = every_version.annotate(_rank=rank).filter(_rank__gt=keep)
    return ranked.values("history_id")


class Command(BaseCommand):
    help = (
        "Delete historical records recorded before --before and/or older than each "
        "object's newest --keep-last versions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_selection_arguments(parser)
        parser.add_argument(
            "--before",
            metavar="TIMESTAMP",
            help=f"Delete versions recorded before this instant (ISO-8601 with a time zone, e.g. {EXAMPLE}).",
        )
        parser.add_argument(
            "--keep-last",
            type=int,
            metavar="N",
            help="Keep the newest N versions of every object; delete older ones.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print what would be deleted; delete nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        before, keep_last = self._criteria(options)
        dry_run: bool = options["dry_run"]
        using: str = options["database"]
        total = 0
        for tracking in selected_options(options["models"]):
            records = prunable(tracking, using, before, keep_last)
            total += self._prune(tracking.label, records, using, dry_run)
        if dry_run:
            self.stdout.write(f"Dry run: would delete {total} historical record(s).")
        else:
            self.stdout.write(f"Deleted {total} historical record(s).")

    def _criteria(self, options: dict[str, Any]) -> tuple[datetime | None, int | None]:
        raw_before, keep_last = options["before"], options["keep_last"]
        if raw_before is None and keep_last is None:
            raise CommandError(
                "Nothing to prune: give --before TIMESTAMP and/or --keep-last N "
                "(add --dry-run to preview)."
            )
        if keep_last is not None and keep_last < 1:
            raise CommandError(
                f"--keep-last must be at least 1, got {keep_last}; to drop every "
                "version older than an instant use --before alone."
            )
        before = parse_before(raw_before) if raw_before is not None else None
        return before, keep_last

    def _prune(self, label: str, records: Any, using: str, dry_run: bool) -> int:
        if dry_run:
            count: int = records.count()
            self.stdout.write(f"{label}: would delete {count} historical record(s).")
            return count
        with transaction.atomic(using=using), pruning(using):
            # A set-based DELETE: per-instance delete() is refused by design, and
            # the database refuses it too unless pruning() says it comes from here.
            count = raw_delete(records, using)
        self.stdout.write(f"{label}: deleted {count} historical record(s).")
        return count
