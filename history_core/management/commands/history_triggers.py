"""Show, check or (re)install the capture triggers of tracked models.

``migrate`` installs them; this command is for databases whose tables were made
another way, and for deployment checks (``--check`` exits 1 if any is missing).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import triggers
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
            help="Install nothing; exit with status 1 if a tracked model lacks triggers.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        using: str = options["database"]
        chosen = selected_options(options["models"])
        if not options["check"]:
            count = triggers.install(chosen, using)
            self.stdout.write(f"Installed the triggers of {count} tracked model(s).")
            return
        present = {name for _, name in triggers.installed(using)}
        missing = [o.label for o in chosen if triggers.expected(o, using) - present]
        for label in missing:
            self.stdout.write(
                f"{label}: triggers missing (changes may not be recorded)"
            )
        if missing:
            raise CommandError(
                f"{len(missing)} tracked model(s) without triggers on '{using}': run "
                "`manage.py migrate` or `manage.py history_triggers`."
            )
        self.stdout.write(
            f"Every selected tracked model has its triggers on '{using}'."
        )
