"""App configuration: capture wiring, system checks and management-command context."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS


class HistoryCoreConfig(AppConfig):
    name = "history_core"
    verbose_name = "History"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .tracking import connect

        _record_command_names()
        connect(self)


@contextmanager
def _without_triggers(using: str | None) -> Iterator[None]:
    """``flush`` empties every table: no version of the rows it deletes, no refusal
    of the history tables' own emptying. The triggers come back afterwards."""
    from . import triggers
    from .tracking import install_triggers

    alias = using or DEFAULT_DB_ALIAS
    triggers.drop(alias)  # the history tables' append-only triggers too
    try:
        yield
    finally:
        install_triggers(alias)


@contextmanager
def _triggers_back_on_error(using: str | None) -> Iterator[None]:
    from .tracking import install_triggers

    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # the migration's error is the news
            install_triggers(using or DEFAULT_DB_ALIAS)
        raise


def _record_command_names() -> None:
    """Make every management command's changes record the command's name."""
    from . import compat
    from .context import context

    def make_wrapper(original: Any) -> Any:
        def execute(command: Any, *args: Any, **options: Any) -> Any:
            name = type(command).__module__.rsplit(".", 1)[-1]
            with context(command=name), ExitStack() as stack:
                if name == "flush":  # emptying every table includes history tables
                    stack.enter_context(_without_triggers(options.get("database")))
                if name == "migrate":  # a failed migration sends no post_migrate
                    stack.enter_context(
                        _triggers_back_on_error(options.get("database"))
                    )
                return original(command, *args, **options)

        return execute

    compat.wrap_command_execute(make_wrapper)
