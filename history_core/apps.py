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
        _capture_on_delete_updates()
        _connect_multi_table_children()


def _capture_on_delete_updates() -> None:
    """Route Django's on_delete field updates of tracked rows through update().

    ``SET_NULL`` hands the collector a lazy queryset, which it updates with
    ``QuerySet.update()`` (captured). ``SET_DEFAULT`` and ``SET(...)`` hand it rows
    already fetched, which it would update with a raw ``UPDATE``; for tracked models
    those rows are turned back into a queryset of their keys, so the update is
    captured too.
    """
    from django.db.models import QuerySet
    from django.db.models.deletion import Collector

    from .options import live_options

    original = Collector.add_field_update
    if getattr(original, "_history_core", False):
        return

    @functools.wraps(original)
    def add_field_update(self: Collector, field: Any, value: Any, objs: Any) -> Any:
        model = field.model
        fetched = not isinstance(objs, QuerySet) or objs._result_cache is not None
        if fetched and live_options(model) is not None and objs:
            manager = model._base_manager.db_manager(self.using)
            objs = manager.filter(pk__in=[obj.pk for obj in objs])
        return original(self, field, value, objs)

    add_field_update._history_core = True  # type: ignore[attr-defined]
    Collector.add_field_update = add_field_update  # type: ignore[method-assign]


def _connect_multi_table_children() -> None:
    """Children of tracked models record their parents' rows (see tracking)."""
    from django.apps import apps
    from django.db.models.signals import class_prepared

    from .tracking import connect_children

    for model in apps.get_models():
        connect_children(model)
    class_prepared.connect(_on_class_prepared, weak=False)


def _on_class_prepared(sender: Any, **kwargs: Any) -> None:
    from .tracking import connect_children

    connect_children(sender)


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
