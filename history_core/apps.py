"""App configuration: capture wiring, system checks and management-command context."""

from __future__ import annotations

import functools
from contextlib import ExitStack
from typing import Any

from django.apps import AppConfig


class HistoryCoreConfig(AppConfig):
    name = "history_core"
    verbose_name = "History"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .tracking import connect

        _record_command_names()
        connect(self)


def _record_command_names() -> None:
    """Make every management command's changes record the command's name."""
    from django.core.management.base import BaseCommand

    from .context import context
    from .database import pruning

    original = BaseCommand.execute
    if getattr(original, "_history_core", False):
        return

    @functools.wraps(original)
    def execute(self: BaseCommand, *args: Any, **options: Any) -> Any:
        name = type(self).__module__.rsplit(".", 1)[-1]
        with context(command=name), ExitStack() as stack:
            if name == "flush":  # emptying every table includes history tables
                stack.enter_context(pruning(options.get("database") or "default"))
            return original(self, *args, **options)

    execute._history_core = True  # type: ignore[attr-defined]
    BaseCommand.execute = execute  # type: ignore[method-assign]
