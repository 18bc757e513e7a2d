"""Show, check or (re)install the capture triggers of tracked models.

``migrate`` installs them; this command is for databases whose tables were made
another way, and for deployment checks: ``--check`` installs nothing and exits 1
when a trigger is missing, stale (its definition differs from what the code would
install today) or orphaned (left by a model no longer tracked).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import router

from ... import triggers
from ...tracking import install_triggers
from ..selection import add_selection_arguments, selected_options


class Command(BaseCommand):
    help = (
        "Install (default) or --check the triggers that record tracked models' history."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_selection_arguments(parser)
        parser.add_argument(
            "--check",
            action="store_true",
            help=(
                "Install nothing; exit with status 1 if a trigger is missing, stale "
                "or orphaned."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        using: str = options["database"]
        if not triggers.supported(using):
            raise CommandError(
                f"Database '{using}' is not PostgreSQL or SQLite: history_core cannot "
                "install triggers there."
            )
        chosen = selected_options(options["models"])
        if not options["check"]:
            if options["models"]:
                count = triggers.install(chosen, using)
            else:  # every model: orphaned triggers go too
                count = install_triggers(using)
            self.stdout.write(f"Installed the triggers of {count} tracked model(s).")
            return
        everything = not options["models"]
        report = triggers.check(chosen, using, everything=everything)
        for label, name in report.missing:
            self.stdout.write(f"{label}: trigger {name} missing (changes not recorded)")
        for label, name in report.stale:
            self.stdout.write(
                f"{label}: trigger {name} stale (not the definition this code installs)"
            )
        for table, name in report.orphaned:
            self.stdout.write(
                f"{table}: trigger {name} orphaned (no tracked model needs it)"
            )
        by_label = {o.label: o for o in chosen}
        unmigrated = []
        for label in report.unready:
            model = by_label[label].model
            if model._meta.can_migrate(using) and router.allow_migrate_model(
                using, model
            ):
                unmigrated.append(label)
                self.stdout.write(
                    f"{label}: tables missing (not migrated on '{using}')"
                )
            else:  # unmanaged, or routed to another database
                self.stdout.write(f"{label}: no table on '{using}' (not migrated here)")
        problems = len(report.missing) + len(report.stale) + len(report.orphaned)
        if problems or unmigrated:
            raise CommandError(
                f"{problems} trigger problem(s) and {len(unmigrated)} unmigrated tracked "
                f"model(s) on '{using}': run `manage.py migrate` or "
                "`manage.py history_triggers`."
            )
        self.stdout.write(
            f"Every selected tracked model has its triggers on '{using}', as this code "
            "installs them."
        )
