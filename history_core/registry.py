"""The registry of tracked models: ``HistoricalRecords``, ``register`` and friends.

A model is tracked either by declaring ``history = HistoricalRecords()`` in its body or
by calling ``register(Model, app="myapp")`` for a model you don't own. Both build the
historical model (``HistoricalProduct``) at import time, so the app's migrations create
its table, and connect the capture machinery of :mod:`history_core.tracking`.
"""

from __future__ import annotations

import inspect
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.signals import class_prepared

from . import compat
from .exceptions import AlreadyRegistered, NotRegistered
from .options import TrackingOptions

_registry: dict[type[models.Model], TrackingOptions] = {}
_changes = [0]  # bumped by register() / unregister(): caches keyed on it expire


def registry_version() -> int:
    """A number that changes whenever a model is registered or unregistered."""
    return _changes[0]


def _caller_location(depth: int = 2) -> str:
    frame = inspect.stack()[depth]
    return f"{frame.filename}:{frame.lineno}"


def register(
    model: type[models.Model],
    *,
    excluded_fields: list[str] | tuple[str, ...] = (),
    app: str | None = None,
    table_name: str | None = None,
    manager_name: str = "history",
    record_noop_saves: bool | None = None,
    _registered_at: str | None = None,
) -> TrackingOptions:
    """Track ``model``: build its historical model and capture every change.

    Call it from a ``models.py`` that Django imports (the historical model must exist
    when migrations are made). For a model you don't own, pass ``app`` so the
    historical model lands in one of your apps, e.g. ``register(User, app="catalog")``.

    Raises:
        AlreadyRegistered: when ``model`` is tracked already; the message says where.
    """
    from . import tracking
    from .models import build_historical_model

    if compat.is_auto_created(model):
        raise ImproperlyConfigured(
            f"{model._meta.label} is the table Django creates for a many-to-many "
            "field; history_core does not track many-to-many changes yet. Track the "
            "models on both sides, or declare the relation with an explicit "
            "through= model and track that model."
        )
    if compat.has_composite_pk(model):
        raise ImproperlyConfigured(
            f"{model._meta.label} has a composite primary key; history_core tracks "
            "models with a single-column primary key only."
        )
    if model in _registry:
        first = _registry[model].registered_at
        raise AlreadyRegistered(
            f"{model._meta.label} is already tracked (registered at {first}); "
            "register each model once, either with HistoricalRecords() or register()."
        )
    options = TrackingOptions(
        model=model,
        excluded_fields=tuple(excluded_fields),
        app_label=app or model._meta.app_label,
        table_name=table_name,
        manager_name=manager_name,
        registered_at=_registered_at or _caller_location(),
        record_noop_saves=record_noop_saves,
    )
    options.historical_model = build_historical_model(options)
    tracking.install(options)
    _registry[model] = options
    _changes[0] += 1
    return options


def unregister(model: type[models.Model]) -> None:
    """Stop tracking ``model``: disconnect everything ``register`` connected.

    The historical model and its rows stay (history is never deleted).
    """
    from . import tracking

    options = _registry.pop(model, None)
    if options is None:
        raise NotRegistered(
            f"{model._meta.label} is not tracked; nothing to unregister."
        )
    tracking.uninstall(options)
    _changes[0] += 1


def is_registered(model: type[models.Model]) -> bool:
    """Return whether ``model`` is tracked."""
    return model in _registry


def get_options(model: type[models.Model]) -> TrackingOptions:
    """Return the tracking options of ``model`` (a tracked or historical model)."""
    options = _registry.get(model) or getattr(model, "_history_options", None)
    if options is None:
        raise NotRegistered(
            f"{model._meta.label} is not tracked: add `history = HistoricalRecords()` to "
            "it or call history_core.register() for it."
        )
    return options


def get_registered_models() -> list[type[models.Model]]:
    """Return every tracked model, in registration order."""
    return list(_registry)


def get_history_for_model(model: type[models.Model]) -> Any:
    """Return a queryset of every historical record of ``model``."""
    return get_options(model).historical_model._default_manager.all()


class HistoricalRecords:
    """Declare history on a model: ``history = HistoricalRecords()``.

    Args:
        excluded_fields: field names that are never stored.
        app: app label that owns the historical model (default: the model's app).
        table_name: database table of the historical model.
        record_noop_saves: record saves that change nothing (default: setting).
    """

    def __init__(
        self,
        excluded_fields: list[str] | tuple[str, ...] = (),
        app: str | None = None,
        table_name: str | None = None,
        record_noop_saves: bool | None = None,
    ) -> None:
        self.kwargs: dict[str, Any] = {
            "excluded_fields": tuple(excluded_fields),
            "app": app,
            "table_name": table_name,
            "record_noop_saves": record_noop_saves,
        }
        self.registered_at = _caller_location()

    def contribute_to_class(self, cls: type[models.Model], name: str) -> None:
        """Called by Django's model metaclass; registers once the class is ready."""
        self.kwargs["manager_name"] = name
        self.cls = cls

        def finalize(sender: type[models.Model], **kwargs: Any) -> None:
            if sender is not cls or cls._meta.abstract:
                return
            class_prepared.disconnect(finalize)
            register(cls, _registered_at=self.registered_at, **self.kwargs)

        self._finalize = finalize  # keep a strong reference for the weak receiver
        class_prepared.connect(finalize, weak=False)
