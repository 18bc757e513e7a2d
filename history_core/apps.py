"""App configuration: system checks and management-command context."""

from __future__ import annotations

import functools
from typing import Any

from django.apps import AppConfig


class HistoryCoreConfig(AppConfig):
    name = "history_core"
    verbose_name = "History"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks

        _record_command_names()


def _record_command_names() -> None:
    """Make every management command's changes record the command's name."""
    from django.core.management.base import BaseCommand

    from .context import context

    original = BaseCommand.execute
    if getattr(original, "_history_core", False):
        return

    @functools.wraps(original)
    def execute(self: BaseCommand, *args: Any, **options: Any) -> Any:
        name = type(self).__module__.rsplit(".", 1)[-1]
        with context(command=name):
            return original(self, *args, **options)

    execute._history_core = True  # type: ignore[attr-defined]
    BaseCommand.execute = execute  # type: ignore[method-assign]
