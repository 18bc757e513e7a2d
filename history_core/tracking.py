"""Wiring a tracked model into Django, and history_core into every connection.

Capture itself happens in the database (:mod:`history_core.triggers`); the Python
side of a tracked model is small and touches no Django internals:

* the model gets its ``history`` descriptor and the marker :func:`live_options`
  reads (the options live in the class's own namespace, so a multi-table child
  does not inherit its parent's tracking);
* once per process, every connection gets the context transport of
  :mod:`history_core.database`, model signals carry each instance's own who and
  why (:mod:`history_core.receivers`), and ``migrate`` drops the triggers before
  it runs and installs them for every tracked model afterwards.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models.signals import (
    post_delete,
    post_migrate,
    post_save,
    pre_delete,
    pre_migrate,
    pre_save,
)

from . import database, receivers, triggers
from .options import LIVE_ATTR, TrackingOptions
from .queries import HistoryDescriptor

_UID = "history_core"


def install(options: TrackingOptions) -> None:
    """Start tracking ``options.model`` on the Python side."""
    model: Any = options.model
    setattr(model, LIVE_ATTR, options)
    setattr(model, options.manager_name, HistoryDescriptor(options.historical_model))


def uninstall(options: TrackingOptions) -> None:
    """Undo :func:`install`. Triggers already in a database stay until ``migrate``."""
    model: Any = options.model
    delattr(model, options.manager_name)
    delattr(model, LIVE_ATTR)


def drop_triggers(using: str = "default", **kwargs: Any) -> None:
    """``pre_migrate`` receiver: migrations alter tables without our triggers."""
    triggers.drop(using)


def install_triggers(using: str = "default", **kwargs: Any) -> int:
    """``post_migrate`` receiver: (re)install every tracked model's triggers.

    Returns how many models got triggers (those whose tables exist on ``using``).
    """
    from .registry import _registry

    triggers.drop(using)
    return triggers.install(list(_registry.values()), using)


def connect(app_config: Any) -> None:
    """Connect history_core's receivers once per process (``AppConfig.ready``)."""
    connection_created.connect(database.connect, dispatch_uid=_UID)
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            database.connect(connection=connection)
    for signal in (pre_save, pre_delete):
        signal.connect(receivers.before_write, dispatch_uid=_UID)
    for signal in (post_save, post_delete):
        signal.connect(receivers.after_write, dispatch_uid=_UID)
    pre_migrate.connect(drop_triggers, sender=app_config, dispatch_uid=_UID)
    post_migrate.connect(install_triggers, sender=app_config, dispatch_uid=_UID)
