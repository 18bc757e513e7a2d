"""Record a first ``+`` version of every live row that has no history yet.

Useful once after adding tracking to a model that already has rows. Rows without
history are found with one ``NOT EXISTS`` query per batch and copied with one
``INSERT ... SELECT`` per batch: no query per row. Rows that already have a version
are left alone, so the command can be run again safely.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction

from ...capture import insert_from_table
from ...models import CREATED
from ...options import TrackingOptions
from ..selection import add_selection_arguments, selected_options

BAR_WIDTH = 30


def rows_without_history(options: TrackingOptions, using: str) -> Any:
    """Return the live rows of ``options.model`` that have no historical record."""
    historical = options.historical_model._base_manager.db_manager(using)
    has_history = historical.filter(**{options.pk_attname: models.OuterRef("pk")})
    live = options.model._base_manager.db_manager(using)
    return live.filter(~models.Exists(has_history))


def progress_bar(done: int, total: int) -> str:
    """Return ``[#####-----]  50% (5/10)`` for ``done`` of ``total``."""
    fraction = done / total if total else 1.0
    filled = round(BAR_WIDTH * fraction)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    return f"[{bar}] {fraction:4.0%} ({done}/{total})"


class Command(BaseCommand):
    help = (
        "Record a first version ('+') of every row of tracked models that has no "
        "history yet, in batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_selection_arguments(parser)
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="Rows per INSERT ... SELECT (default 500).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        if batch_size < 1:
            raise CommandError(f"--batch-size must be at least 1, got {batch_size}.")
        using: str = options["database"]
        total = 0
        for tracking in selected_options(options["models"]):
            total += self.populate(tracking, batch_size, using)
        self.stdout.write(f"Populated {total} historical record(s).")

    def populate(self, tracking: TrackingOptions, batch_size: int, using: str) -> int:
        """Record a first version of each row of one model; return how many."""
        pending = rows_without_history(tracking, using).order_by("pk")
        total = pending.count()
        label = tracking.label
        if not total:
            self.stdout.write(f"{label}: every row already has history.")
            return 0
        done, last_pk = 0, None
        while done < total:
            batch = pending if last_pk is None else pending.filter(pk__gt=last_pk)
            pks = list(batch.values_list("pk", flat=True)[:batch_size])
            if not pks:  # rows deleted while the command runs
                break
            with transaction.atomic(using=using):
                insert_from_table(tracking, pks, CREATED, [], using)
            done, last_pk = done + len(pks), pks[-1]
            self._report(label, min(done, total), total)
        if self.stdout.isatty():
            self.stdout.write("")  # end the redrawn line
        return done

    def _report(self, label: str, done: int, total: int) -> None:
        # On a terminal the bar redraws in place; in a log each batch is a line.
        ending = "\r" if self.stdout.isatty() else "\n"
        self.stdout.write(f"{label}: {progress_bar(done, total)}", ending=ending)
