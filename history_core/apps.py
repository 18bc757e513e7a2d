"""App configuration: capture wiring, system checks and management-command context."""

from __future__ import annotations

import contextlib
import os
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


def _between_migrations(command: Any, using: str | None) -> None:
    """Around each migration of the plan: its tables' triggers go before it, and
    every tracked model whose tables fit the code's model gets them back after it,
    so that later data migrations are recorded."""
    from . import compat
    from .tracking import migration_applied, migration_starts

    alias = using or DEFAULT_DB_ALIAS

    def after(action: str, migration: Any, fake: bool) -> None:
        if fake or migration is None:
            return
        if action in ("apply_start", "unapply_start"):
            migration_starts(alias, migration)
        elif action in ("apply_success", "unapply_success"):
            migration_applied(alias)

    compat.wrap_migration_progress(command, after)


def _warn_at_start_up(command: Any, options: dict[str, Any]) -> None:
    """``runserver``: say, once, if the database's triggers are not the expected ones.

    With the autoreloader, the serving child process says it (not the watcher).
    """
    from django.utils import autoreload

    from . import checks

    if options.get("use_reloader", True) and (
        os.environ.get(autoreload.DJANGO_AUTORELOAD_ENV) != "true"
    ):
        return
    for warning in checks.trigger_warnings([DEFAULT_DB_ALIAS]):
        command.stderr.write(f"{warning}\n\tHINT: {warning.hint}")


def _record_command_names() -> None:
    """Make every management command's changes record the command's name."""
    from . import checks, compat
    from .context import context

    def make_wrapper(original: Any) -> Any:
        # The command comes positionally only: ``shell`` has an option named
        # ``command`` (``shell -c``), passed as a keyword.
        def execute(*args: Any, **options: Any) -> Any:
            name = type(args[0]).__module__.rsplit(".", 1)[-1]
            with context(command=name), ExitStack() as stack:
                if name == "flush":  # emptying every table includes history tables
                    stack.enter_context(_without_triggers(options.get("database")))
                if name == "migrate":  # a failed migration sends no post_migrate
                    stack.enter_context(
                        _triggers_back_on_error(options.get("database"))
                    )
                    # migrate puts the triggers right: no warning that they are not.
                    stack.enter_context(checks.quiet_trigger_checks())
                    _between_migrations(args[0], options.get("database"))
                if name == "runserver":
                    _warn_at_start_up(args[0], options)
                return original(*args, **options)

        return execute

    compat.wrap_command_execute(make_wrapper)
