"""Delete old historical records without changing what ``as_of`` answers afterwards.

``--before T`` deletes the versions recorded strictly before ``T`` that no ``as_of`` at
``T`` or later can return: each object's versions older than the one in force at
``T``. That version (the object's newest with ``(history_date, history_id)`` at or
before ``T``: ``as_of`` is inclusive) is kept, and so is everything after it, so
``obj.history.as_of(t)`` and ``Model.history.as_of(t)`` (filters included: they apply
to the versions in force) answer as before the prune for every ``t >= T``. A deletion in force at ``T`` is kept
too: ``as_of`` still says "had been deleted at ...", not "did not exist yet", and the
admin's "recover deleted" still lists the object; only the versions before it go.

``--keep-last N`` deletes every version of an object except its newest ``N`` (ties on
``history_date`` broken by ``history_id``, as everywhere). It promises a count, not an
instant: an object's own ``as_of`` is unchanged from the date of its oldest kept
version on; before that date the object "did not exist yet". A whole-model ``as_of``
at an instant is unchanged only if that holds for every object there; give
``--before`` for a promise about every object from one instant on.

Given both, a version is deleted only if both criteria select it: both promises hold.
Without any criterion nothing is deleted. ``--dry-run`` counts the very queryset the
real run deletes. Records are removed with one set-based ``DELETE`` per model:
historical rows refuse per-instance ``delete()``.
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
from ...queries import ensure_aware
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
    """Return the historical records of one model that the criteria let go.

    The ids come from uncorrelated subqueries, which both databases evaluate once,
    before the ``DELETE`` removes a row: the real run deletes exactly the records
    the dry run counts.
    """
    records = tracking.historical_model._base_manager.db_manager(using).all()
    if before is not None:
        before = ensure_aware(before)
        superseded = _superseded_at(tracking, using, before)
        records = records.filter(history_date__lt=before, history_id__in=superseded)
    if keep_last is not None:
        older = _older_than_newest(tracking, using, keep_last)
        records = records.filter(history_id__in=older)
    return records


def _newest_first(tracking: TrackingOptions) -> models.Window:
    """Number each object's versions from its newest (1), ties by ``history_id``."""
    return models.Window(
        RowNumber(),
        partition_by=[models.F(tracking.pk_attname)],
        order_by=[models.F("history_date").desc(), models.F("history_id").desc()],
    )


def _superseded_at(tracking: TrackingOptions, using: str, ts: datetime) -> Any:
    """Return the ids of the versions at or before ``ts`` but not in force at ``ts``.

    The version in force is each object's newest at or before ``ts`` (``as_of`` is
    inclusive), whatever its type: every ``as_of`` at ``ts`` or later reads it or a
    later version, never an older one.
    """
    every_version = tracking.historical_model._base_manager.db_manager(using).all()
    # The filter runs before the window: rank 1 is the newest version at ts.
    at_or_before = every_version.filter(history_date__lte=ts)
    ranked = at_or_before.annotate(_rank=_newest_first(tracking))
    return ranked.filter(_rank__gt=1).values("history_id")


def _older_than_newest(tracking: TrackingOptions, using: str, keep: int) -> Any:
    """Return the ids of every version but each object's newest ``keep``."""
    every_version = tracking.historical_model._base_manager.db_manager(using).all()
    ranked = every_version.annotate(_rank=_newest_first(tracking))
    return ranked.filter(_rank__gt=keep).values("history_id")


class Command(BaseCommand):
    help = (
        "Delete historical records that no as_of at or after --before can return, "
        "and/or all but each object's newest --keep-last versions (both: only "
        "records both select). as_of answers at --before and later never change."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_selection_arguments(parser)
        parser.add_argument(
            "--before",
            metavar="TIMESTAMP",
            help=(
                "Delete versions recorded before this instant (ISO-8601 with a time "
                f"zone, e.g. {EXAMPLE}), except each object's version in force at "
                "it (a deletion included): as_of answers from then on stay the same."
            ),
        )
        parser.add_argument(
            "--keep-last",
            type=int,
            metavar="N",
            help=(
                "Keep the newest N versions of every object; delete older ones. An "
                "object's as_of stays the same from its oldest kept version on."
            ),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print how many records the run would delete; delete nothing.",
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
