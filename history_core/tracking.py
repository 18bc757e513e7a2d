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

from django.db import connections, transaction
from django.db.backends.signals import connection_created
from django.db.models.signals import (
    class_prepared,
    post_init,
    post_migrate,
    post_save,
    pre_migrate,
    pre_save,
)

from . import database, receivers, triggers
from .options import LIVE_ATTR, TrackingOptions
from .queries import HistoryDescriptor

_UID = "history_core"


def _subclasses(model: Any) -> list[Any]:
    found = []
    for child in model.__subclasses__():
        found += [child, *_subclasses(child)]
    return [c for c in found if not c._meta.abstract]


def _connect_instances(model: Any) -> None:
    # post_init, never pre_delete / post_delete: Django's collector takes its fast
    # path (one DELETE, no rows loaded) only for models without delete receivers,
    # and a tracked model must delete exactly as an untracked one does.
    uid = f"{_UID}:{model._meta.label}"
    post_init.connect(receivers.remember_pk, sender=model, dispatch_uid=uid)


def _disconnect_instances(model: Any) -> None:
    post_init.disconnect(sender=model, dispatch_uid=f"{_UID}:{model._meta.label}")


def install(options: TrackingOptions) -> None:
    """Start tracking ``options.model`` on the Python side."""
    model: Any = options.model
    setattr(model, LIVE_ATTR, options)
    setattr(model, options.manager_name, HistoryDescriptor(options.historical_model))
    for sender in [model, *_subclasses(model)]:
        _connect_instances(sender)


def uninstall(options: TrackingOptions) -> None:
    """Undo :func:`install`. Triggers already in a database stay until ``migrate``."""
    model: Any = options.model
    for sender in [model, *_subclasses(model)]:
        _disconnect_instances(sender)
    delattr(model, options.manager_name)
    delattr(model, LIVE_ATTR)


def _on_class_prepared(sender: Any, **kwargs: Any) -> None:
    """A proxy or multi-table child of a tracked model has tracked rows too."""
    if not sender._meta.abstract and receivers.tracked(sender) is not None:
        _connect_instances(sender)


def drop_triggers(
    using: str = "default", plan: Any = None, apps: Any = None, **kwargs: Any
) -> None:
    """``pre_migrate`` receiver: the triggers on, or writing to, the plan's tables go.

    They are found in the database, not in the registry: a trigger installed for a
    model since renamed, untracked or deleted is on the plan's tables too. The
    migrations alter those tables without triggers in the way (SQLite refuses to
    drop a column a trigger names; a renamed history table would break the
    inserts); every other tracked table keeps recording, data migrations
    (``RunPython``) included. ``post_migrate`` (or, if a migration fails, the
    ``migrate`` command's own exit) installs the current ones again.
    """
    tables = _plan_tables(plan or [], apps)
    if tables and triggers.supported(using):
        triggers.drop_touching(using, tables)


def _plan_tables(plan: Any, state_apps: Any) -> set[str]:
    """The tables a migration plan's operations may touch, by every name they had.

    A model named by an operation is looked up in the project state before the
    plan and in the code (after it); its default table name counts too, so a
    model created and renamed within the plan, or gone from both, is covered.
    """
    from django.apps import apps as live_apps

    tables: set[str] = set()
    for migration, _backwards in plan:
        for operation in migration.operations:
            # A field operation names its model in model_name (old_name and
            # new_name are the field's); a model operation in name / old_name /
            # new_name (RenameModel).
            attrs = (
                ("model_name",)
                if hasattr(operation, "model_name")
                else (
                    "name",
                    "old_name",
                    "new_name",
                )
            )
            names = {getattr(operation, attr, None) for attr in attrs}
            table = getattr(operation, "table", None)
            if isinstance(table, str):
                tables.add(table)
            for model_name in {n for n in names if isinstance(n, str)}:
                tables.add(f"{migration.app_label}_{model_name.lower()}")
                for registry in (live_apps, state_apps):
                    try:
                        model = registry.get_model(migration.app_label, model_name)
                    except (LookupError, AttributeError, ValueError):
                        continue
                    tables.add(model._meta.db_table)
    return tables


def migration_starts(using: str, migration: Any) -> None:
    """Before one migration of a plan runs: the triggers on its tables go."""
    drop_triggers(using, plan=[(migration, False)])


def migration_applied(using: str) -> list[str]:
    """After one migration of a plan: models whose tables fit get their triggers.

    A data migration later in the plan is then recorded whenever the schema already
    has the code's shape; models whose tables do not fit yet stay without.
    """
    from .registry import _registry

    if not triggers.supported(using):
        return []
    with transaction.atomic(using=using):
        return triggers.repair(list(_registry.values()), using)


def install_triggers(using: str = "default", **kwargs: Any) -> int:
    """``post_migrate`` receiver: (re)install every tracked model's triggers.

    One transaction: writers see the old triggers or the new ones, never none.
    Returns how many models got triggers (those whose tables exist on ``using``).
    """
    from .registry import _registry

    with transaction.atomic(using=using):
        triggers.drop(using)
        return triggers.install(list(_registry.values()), using)


def connect(app_config: Any) -> None:
    """Connect history_core's receivers once per process (``AppConfig.ready``)."""
    connection_created.connect(database.connect, dispatch_uid=_UID)
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            database.connect(connection=connection)
    # Saves: for every sender (a child's save writes its tracked parent's row);
    # Django's save path does not change with receivers.
    pre_save.connect(receivers.before_write, dispatch_uid=_UID)
    post_save.connect(receivers.after_write, dispatch_uid=_UID)
    class_prepared.connect(_on_class_prepared, dispatch_uid=_UID)
    from .registry import _registry  # models imported before ready() have children

    for options in _registry.values():
        for child in _subclasses(options.model):
            _connect_instances(child)
    pre_migrate.connect(drop_triggers, sender=app_config, dispatch_uid=_UID)
    post_migrate.connect(install_triggers, sender=app_config, dispatch_uid=_UID)
