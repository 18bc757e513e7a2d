"""``manage.py export_schema``: print the GraphQL schema (SDL)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from graphql_api.schema import get_schema


class Command(BaseCommand):
    help = "Print the GraphQL schema in SDL, or write it to --output."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--output", help="File to write instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        sdl = get_schema().as_str() + "\n"
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as handle:
                handle.write(sdl)
            self.stdout.write(f"Wrote {options['output']}.")
        else:
            self.stdout.write(sdl, ending="")
