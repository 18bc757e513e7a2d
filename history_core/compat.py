"""Every Django (and driver) detail history_core relies on that is not public API.

Each name here has a contract test (``tests/history_core/test_django_contract.py``)
that fails by name when a Django or psycopg release changes it.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.dispatch.dispatcher import NO_RECEIVERS as _NO_RECEIVERS


def add_execute_wrapper(connection: Any, wrapper: Any) -> None:
    """Install ``wrapper`` for the connection's lifetime.

    ``connection.execute_wrapper()`` (public) installs a wrapper for a ``with``
    block; it keeps them in the list ``connection.execute_wrappers``, which we
    append to once per connection object.
    """
    wrappers = connection.execute_wrappers
    if wrapper not in wrappers:
        wrappers.append(wrapper)


def raw_connection(connection: Any) -> Any:
    """The DB-API connection under Django's wrapper (``connection.connection``)."""
    return connection.connection


def accepts_several_statements(cursor: Any) -> bool:
    """Whether ``cursor`` (Django's ``CursorWrapper``) may run ``"a; b"`` with params.

    Django's psycopg 3 backend uses client-side binding (``ClientCursor``) unless
    ``OPTIONS["server_side_binding"]`` is set; psycopg2 always binds client-side.
    """
    raw = cursor.cursor
    try:
        import psycopg
    except ImportError:  # psycopg2
        return True
    if not isinstance(raw, psycopg.Cursor):
        return True
    return isinstance(raw, psycopg.ClientCursor)


def transaction_status(connection: Any) -> str:
    """The driver's view of the session: ``IDLE``, ``INTRANS``, ``INERROR``, ...

    Read from psycopg 3's ``connection.info.transaction_status`` (psycopg2:
    ``get_transaction_status()``) with no round trip.
    """
    raw = connection.connection
    info = getattr(raw, "info", None)
    status = getattr(info, "transaction_status", None)
    if status is not None and hasattr(status, "name"):
        return str(status.name)
    import psycopg2.extensions as ext  # type: ignore[import-not-found]

    names = {
        ext.TRANSACTION_STATUS_IDLE: "IDLE",
        ext.TRANSACTION_STATUS_ACTIVE: "ACTIVE",
        ext.TRANSACTION_STATUS_INTRANS: "INTRANS",
        ext.TRANSACTION_STATUS_INERROR: "INERROR",
    }
    return names.get(raw.get_transaction_status(), "UNKNOWN")


def wrap_command_execute(make_wrapper: Any) -> None:
    """Run every management command inside ``make_wrapper(original_execute)``.

    Django has no hook around a command's ``execute()``; we replace
    ``BaseCommand.execute`` once per process with the wrapper, which must call
    the original with the same arguments. Idempotent.
    """
    from django.core.management.base import BaseCommand

    original = BaseCommand.execute
    if getattr(original, "_history_core", False):
        return
    wrapper: Any = functools.wraps(original)(make_wrapper(original))
    wrapper._history_core = True
    BaseCommand.execute = wrapper  # type: ignore[method-assign]


class KeepOnClone:
    """Queryset mixin: the attributes named in ``keep_on_clone`` survive chaining.

    Every queryset method returns ``self._clone()`` (private); the override
    copies our attributes to the clone.
    """

    keep_on_clone: tuple[str, ...] = ()

    def _clone(self) -> Any:
        clone = super()._clone()  # type: ignore[misc]
        for name in self.keep_on_clone:
            setattr(clone, name, getattr(self, name))
        return clone


def iterate_with(queryset: Any, iterable_class: type) -> Any:
    """Make ``queryset`` yield through ``iterable_class`` (``QuerySet._iterable_class``)."""
    queryset._iterable_class = iterable_class
    return queryset


def filters_rows(queryset: Any) -> bool:
    """Whether ``queryset`` has a WHERE clause at all (``QuerySet.query.where``)."""
    return bool(queryset.query.where)


def insert_rows(manager: Any, objs: list[Any], fields: list[Any], using: str) -> None:
    """One ``INSERT`` of ``objs``'s ``fields``, no RETURNING (``Manager._insert``)."""
    manager._insert(objs, fields=fields, using=using)


def db_converters(connection: Any, field: Any) -> tuple[Any, list[Any]]:
    """``(column, converters)`` the ORM applies to values of ``field`` read raw.

    ``Field.get_col()``, ``ops.get_db_converters()`` and
    ``Field.get_db_converters()`` are what the SQL compiler calls; none is
    documented.
    """
    col = field.get_col(field.model._meta.db_table)
    return col, [
        *connection.ops.get_db_converters(col),
        *field.get_db_converters(connection),
    ]


def is_auto_created(model: Any) -> bool:
    """Whether ``model`` is a many-to-many table Django created (``Options.auto_created``)."""
    return bool(model._meta.auto_created)


def raw_delete(queryset: Any, using: str) -> int:
    """``DELETE`` the rows of ``queryset`` with no collector (``QuerySet._raw_delete``)."""
    return int(queryset._raw_delete(using))


def save_depth() -> int:
    """How many calls of Django's ``Model.save_base`` are running in this thread.

    Read from the interpreter's frames (``sys._getframe``): a save's own statements
    run inside its ``save_base``, and nothing else does.
    """
    from django.db.models import Model

    code = Model.save_base.__code__
    frame: Any = sys._getframe(1)
    depth = 0
    while frame is not None:
        if frame.f_code is code:
            depth += 1
        frame = frame.f_back
    return depth


def loaded_state(db: str | None, fetch_mode: Any = None) -> Any:
    """The ``_state`` of an instance read from ``db``, as ``Model.from_db`` leaves it.

    ``ModelState`` (``django.db.models.base``) is what ``Model.__init__`` creates;
    ``adding`` and ``db`` are its documented attributes. Django 6.1 passes
    ``from_db`` the queryset's ``fetch_mode``, kept on the state when given.
    """
    state = ModelState()
    state.adding = False
    state.db = db
    if fetch_mode is not None:
        state.fetch_mode = fetch_mode
    return state


def has_init_receivers(model: Any) -> bool:
    """Whether ``pre_init`` or ``post_init`` has receivers for ``model``.

    ``has_listeners()`` (public) answered from the signals' own cache first, as
    ``Signal.send()`` does: ``sender_receivers_cache`` holds ``NO_RECEIVERS`` for
    a sender known to have none, and every ``connect()`` / ``disconnect()``
    clears it. Cheap enough to ask for every row read.
    """
    return any(
        signal.sender_receivers_cache.get(model) is not _NO_RECEIVERS
        and signal.has_listeners(model)
        for signal in (pre_init, post_init)
    )


def stores_as_given(descriptor: Any) -> bool:
    """Whether assigning through the class attribute ``descriptor`` on an instance
    just made only stores the value in its ``__dict__`` under the field's attname.

    True for Django's plain field attributes (``DeferredAttribute``: no ``__set__``),
    foreign key ids (``ForeignKeyDeferredAttribute``: clears a cache a new instance
    has not got) and files (``FileDescriptor``: wraps on read, not on write).
    """
    from django.db.models.fields.files import FileDescriptor
    from django.db.models.fields.related_descriptors import (
        ForeignKeyDeferredAttribute,
    )
    from django.db.models.query_utils import DeferredAttribute

    kind = type(descriptor)
    if kind in (ForeignKeyDeferredAttribute, FileDescriptor):
        return True
    # Any other __set__ (images' dimensions, third-party fields) may do more.
    return isinstance(descriptor, DeferredAttribute) and not hasattr(kind, "__set__")


def has_composite_pk(model: Any) -> bool:
    """Whether ``model``'s primary key spans several columns (Django 5.2+)."""
    pk = model._meta.pk
    return pk is not None and type(pk).__name__ == "CompositePrimaryKey"


def wrap_migration_progress(command: Any, after: Any) -> None:
    """Call ``after(action, migration, fake)`` after each progress report of a
    ``migrate`` command instance.

    ``migrate``'s ``handle()`` hands its method ``migration_progress_callback`` to
    the ``MigrationExecutor``, which reports ``apply_start`` / ``apply_success``
    (and ``unapply_…``) around each migration; we shadow it on the instance.
    """
    original = command.migration_progress_callback

    def progress(action: str, migration: Any = None, fake: bool = False) -> None:
        original(action, migration, fake)
        after(action, migration, fake)

    command.migration_progress_callback = progress
