"""Wiring a tracked model: signals, atomic saves, loaded-state capture, bulk paths.

``install`` is called once per tracked model by :func:`history_core.register`:

* ``post_save`` / ``post_delete`` receivers write the snapshot (see ``receivers``);
* ``save_base`` is wrapped in ``transaction.atomic(savepoint=False)``. Django sends
  ``post_save`` after ``save_base``'s own work, which in autocommit mode has already
  committed; wrapping makes the change and its snapshot commit together, once. Inside
  an existing transaction the wrapper costs nothing (no savepoint);
* ``delete`` collects the deleted snapshots of the whole cascade and inserts them in
  batches (one INSERT per tracked model);
* ``from_db`` and ``refresh_from_db`` remember the loaded values, so a save computes
  its changed fields without a SELECT;
* every manager's queryset class gains :class:`history_core.bulk.HistoryQuerySetMixin`,
  so ``bulk_create``, ``bulk_update``, ``update()`` and ``delete()`` record history;
  inherited managers and ``_base_manager`` (used by related managers' ``add()``)
  included, also after Django rebuilds them.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import models, router, transaction
from django.db.models.signals import post_delete, post_save, pre_delete
from django.utils.functional import cached_property

from . import statement
from .bulk import HistoryQuerySetMixin, batched_deletes
from .capture import LOADED_ATTR, loaded_values, remember
from .options import LIVE_ATTR, TrackingOptions, live_options, tracked_parents
from .queries import HistoryDescriptor
from .receivers import (
    fetch_before_delete,
    parent_receiver,
    record_delete,
    record_save,
    records_noop,
)

_ORIGINALS = "_history_originals"


def _atomic_save_base(original: Any) -> Any:
    @functools.wraps(original)
    def save_base(self: models.Model, *args: Any, **kwargs: Any) -> Any:
        options = live_options(type(self))
        parents = tracked_parents(type(self))
        if options is None and not parents:  # an untracked subclass
            return original(self, *args, **kwargs)
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        if not parents and statement.active(options, using):  # type: ignore[arg-type]
            return original(self, *args, **kwargs)  # one statement: atomic by itself
        with transaction.atomic(using=using, savepoint=False):
            return original(self, *args, **kwargs)

    return save_base


def connect_children(model: Any) -> None:
    """Record the rows of tracked parents when ``model`` (a child) is saved.

    Called for every model class Django prepares, and for the existing subclasses of
    a model when it is registered.
    """
    for parent in tracked_parents(model):
        post_save.connect(
            parent_receiver(parent),
            sender=model,
            weak=False,
            dispatch_uid=f"history_core:{parent.label}:child:{model._meta.label}",
        )
    options = live_options(model)
    if model._meta.proxy and options is not None:
        # Django signals a proxy's saves and deletes with the proxy as sender.
        uid = f"history_core:{options.label}:proxy:{model._meta.label}"
        post_save.connect(record_save, sender=model, weak=False, dispatch_uid=uid)
        post_delete.connect(record_delete, sender=model, weak=False, dispatch_uid=uid)
        pre_delete.connect(
            fetch_before_delete, sender=model, weak=False, dispatch_uid=uid
        )


def _subclasses(model: Any) -> list[Any]:
    found = []
    for child in model.__subclasses__():
        found += [child, *_subclasses(child)]
    return found


def _single_statement_insert(original: Any) -> Any:
    @functools.wraps(original)
    def _do_insert(
        self: Any,
        manager: Any,
        using: str,
        fields: Any,
        returning_fields: Any,
        raw: bool,
    ) -> Any:
        options = live_options(type(self))
        if options is None or not statement.active(options, using):
            return original(self, manager, using, fields, returning_fields, raw)
        return statement.insert(options, self, using, fields, returning_fields, raw)

    return _do_insert


def _single_statement_update(original: Any) -> Any:
    @functools.wraps(original)
    def _do_update(
        self: Any, base_qs: Any, using: str, pk_val: Any, values: Any, *rest: Any
    ) -> Any:
        # rest: update_fields, forced_update and, from Django 6.1, returning_fields.
        options = live_options(type(self))
        if options is None or not values or not statement.active(options, using):
            return original(self, base_qs, using, pk_val, values, *rest)
        noop = records_noop(options)
        row = statement.update(options, self, base_qs, using, pk_val, values, noop)
        if len(rest) <= 2:  # Django 5.2 returns whether a row was updated
            return row is not None
        # Django 6.1 returns the rows of its returning_fields (rest[2]).
        return [] if row is None else [statement.returned(options, row, rest[2])]

    return _do_update


def _batched_delete(original: Any) -> Any:
    @functools.wraps(original)
    def delete(self: models.Model, using: Any = None, *args: Any, **kwargs: Any) -> Any:
        db = using or router.db_for_write(type(self), instance=self)
        with batched_deletes(db):
            return original(self, using, *args, **kwargs)

    return delete


def _remembering_from_db(original: Any) -> Any:
    def from_db(cls: Any, db: str, field_names: Any, values: Any, **kwargs: Any) -> Any:
        # **kwargs: Django 6.1 passes fetch_mode.
        instance = original.__func__(cls, db, field_names, values, **kwargs)
        if live_options(cls) is not None:
            instance.__dict__[LOADED_ATTR] = (field_names, values)
        return instance

    return classmethod(from_db)


def _remembering_refresh(original: Any) -> Any:
    @functools.wraps(original)
    def refresh_from_db(
        self: models.Model,
        using: Any = None,
        fields: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        result = original(self, using, fields, *args, **kwargs)
        options = live_options(type(self))
        if options is None:
            return result
        state = self.__dict__
        refreshed = set(options.attnames)
        if fields is not None:  # only these were read; other fields may hold edits
            opts: Any = self._meta
            refreshed &= {opts.get_field(name).attname for name in fields}
        values = {a: state[a] for a in refreshed if a in state}
        remember(self, {**(loaded_values(self) or {}), **values})
        return result

    return refresh_from_db


def _history_queryset_class(queryset_class: type[Any]) -> type[Any]:
    if issubclass(queryset_class, HistoryQuerySetMixin):
        return queryset_class
    attrs = {"__module__": queryset_class.__module__}  # deconstructs as the original
    return type(queryset_class.__name__, (HistoryQuerySetMixin, queryset_class), attrs)


def _manager_eq(original: type[Any]) -> Any:
    def __eq__(self: Any, other: object) -> bool:  # noqa: N807
        return isinstance(other, original) and (
            self._constructor_args == other._constructor_args  # type: ignore[attr-defined]
        )

    return __eq__


def _patch_manager(manager: Any) -> None:
    """Give ``manager`` a queryset class that captures bulk operations."""
    cls = type(manager)
    if getattr(cls, "_history_patched", False):
        return
    attrs = {
        "__module__": cls.__module__,  # migrations see the original manager
        "__eq__": _manager_eq(cls),
        "__hash__": cls.__hash__,
        "_queryset_class": _history_queryset_class(manager._queryset_class),
        "_history_patched": True,
        "_history_original_class": cls,
    }
    manager.__class__ = type(cls.__name__, (cls,), attrs)


def _patch_options(model: type[models.Model]) -> None:
    """Patch every manager Django builds for ``model``, now and later.

    ``Options.managers`` (copies of the declared managers, including those inherited
    from abstract bases such as ``AbstractUser``) and ``Options.base_manager`` (used
    by related managers' ``add()``) are cached properties that Django rebuilds each
    time the app registry's caches are cleared. The model's ``Options`` therefore get
    a subclass whose properties patch what they build.
    """
    opts: Any = model._meta
    original = type(opts)
    if getattr(original, "_history_original_class", None) is not None:
        return

    def managers(self: Any) -> Any:
        built = original.managers.func(self)
        for manager in built:
            _patch_manager(manager)
        return built

    def base_manager(self: Any) -> Any:
        manager = original.base_manager.func(self)
        _patch_manager(manager)
        return manager

    attrs = {
        "__module__": original.__module__,
        "managers": cached_property(managers),
        "base_manager": cached_property(base_manager),
        "_history_original_class": original,
    }
    opts.__class__ = type(original.__name__, (original,), attrs)
    _expire_managers(opts)


def _expire_managers(opts: Any) -> None:
    for name in ("managers", "managers_map", "base_manager", "default_manager"):
        opts.__dict__.pop(name, None)


def _patch_managers(model: type[models.Model]) -> None:
    for manager in model._meta.local_managers:
        _patch_manager(manager)
    _patch_options(model)


def _unpatch_managers(model: type[models.Model]) -> None:
    for manager in model._meta.local_managers:
        original = getattr(type(manager), "_history_original_class", None)
        if original is not None:
            manager.__class__ = original
    opts: Any = model._meta
    original_options = getattr(type(opts), "_history_original_class", None)
    if original_options is not None:
        opts.__class__ = original_options
        _expire_managers(opts)


def install(options: TrackingOptions) -> None:
    """Start capturing changes of ``options.model``."""
    model: Any = options.model
    uid = f"history_core:{options.label}"
    setattr(model, LIVE_ATTR, options)
    options.single_statement = statement.supported(options)
    wrappers = {
        "save_base": _atomic_save_base,
        "delete": _batched_delete,
        "from_db": _remembering_from_db,
        "refresh_from_db": _remembering_refresh,
    }
    if options.single_statement:
        wrappers["_do_insert"] = _single_statement_insert
        wrappers["_do_update"] = _single_statement_update
    # Remember what the class itself defined, so uninstall() restores exactly that.
    setattr(model, _ORIGINALS, {name: model.__dict__.get(name) for name in wrappers})
    for name, wrap in wrappers.items():
        setattr(model, name, wrap(getattr(model, name)))
    _patch_managers(model)
    setattr(model, options.manager_name, HistoryDescriptor(options.historical_model))
    post_save.connect(record_save, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(record_delete, sender=model, weak=False, dispatch_uid=uid)
    pre_delete.connect(fetch_before_delete, sender=model, weak=False, dispatch_uid=uid)
    for child in _subclasses(model):
        if not child._meta.abstract:
            connect_children(child)


def uninstall(options: TrackingOptions) -> None:
    """Undo :func:`install`: the model's changes are no longer captured."""
    model: Any = options.model
    uid = f"history_core:{options.label}"
    post_save.disconnect(sender=model, dispatch_uid=uid)
    for child in _subclasses(model):
        label = child._meta.label
        post_save.disconnect(sender=child, dispatch_uid=f"{uid}:child:{label}")
        for signal in (post_save, post_delete, pre_delete):
            signal.disconnect(sender=child, dispatch_uid=f"{uid}:proxy:{label}")
    post_delete.disconnect(sender=model, dispatch_uid=uid)
    pre_delete.disconnect(sender=model, dispatch_uid=uid)
    for name, original in getattr(model, _ORIGINALS).items():
        if original is None:
            delattr(model, name)
        else:
            setattr(model, name, original)
    _unpatch_managers(model)
    delattr(model, options.manager_name)
    delattr(model, LIVE_ATTR)
