"""Wiring a tracked model: signals, atomic saves, loaded-state capture, bulk paths.

``install`` is called once per tracked model by :func:`history_core.register`:

* ``post_save`` / ``post_delete`` receivers write the snapshot (see ``receivers``);
* ``save_base`` is wrapped in ``transaction.atomic(savepoint=False)``. Django sends
  ``post_save`` after ``save_base``'s own work, which in autocommit mode has already
  committed; wrapping makes the change and its snapshot commit together, once. Inside
  an existing transaction the wrapper costs nothing (no savepoint);
* ``from_db`` and ``refresh_from_db`` remember the loaded values, so a save computes
  its changed fields without a SELECT;
* every manager's queryset class gains :class:`history_core.bulk.HistoryQuerySetMixin`,
  so ``bulk_create``, ``bulk_update``, ``update()`` and ``delete()`` record history.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import models, router, transaction
from django.db.models.signals import post_delete, post_save, pre_delete

from .bulk import HistoryQuerySetMixin
from .capture import LOADED_ATTR, remember
from .options import TrackingOptions
from .queries import HistoryDescriptor
from .receivers import fetch_before_delete, record_delete, record_save

_ORIGINALS = "_history_originals"


def _atomic_save_base(original: Any) -> Any:
    @functools.wraps(original)
    def save_base(self: models.Model, *args: Any, **kwargs: Any) -> Any:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            return original(self, *args, **kwargs)

    return save_base


def _remembering_from_db(original: Any) -> Any:
    def from_db(cls: Any, db: str, field_names: Any, values: Any) -> Any:
        instance = original.__func__(cls, db, field_names, values)
        instance.__dict__[LOADED_ATTR] = (field_names, values)
        return instance

    return classmethod(from_db)


def _remembering_refresh(original: Any) -> Any:
    @functools.wraps(original)
    def refresh_from_db(self: models.Model, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        attnames = self._history_options_live.attnames  # type: ignore[attr-defined]
        state = self.__dict__
        remember(self, {a: state[a] for a in attnames if a in state})
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


def _patch_managers(model: type[models.Model]) -> None:
    managers = [*model._meta.local_managers, *model._meta.managers]
    for manager in managers:
        cls = type(manager)
        if getattr(cls, "_history_patched", False):
            continue
        attrs = {
            "__module__": cls.__module__,  # migrations see the original manager
            "__eq__": _manager_eq(cls),
            "__hash__": cls.__hash__,
            "_queryset_class": _history_queryset_class(manager._queryset_class),  # type: ignore[attr-defined]
            "_history_patched": True,
            "_history_original_class": cls,
        }
        manager.__class__ = type(cls.__name__, (cls,), attrs)


def _unpatch_managers(model: type[models.Model]) -> None:
    for manager in [*model._meta.local_managers, *model._meta.managers]:
        original = getattr(type(manager), "_history_original_class", None)
        if original is not None:
            manager.__class__ = original


def install(options: TrackingOptions) -> None:
    """Start capturing changes of ``options.model``."""
    model: Any = options.model
    uid = f"history_core:{options.label}"
    setattr(
        model,
        _ORIGINALS,
        {
            "save_base": model.__dict__.get("save_base"),
            "from_db": model.__dict__.get("from_db"),
            "refresh_from_db": model.__dict__.get("refresh_from_db"),
        },
    )
    model._history_options_live = options
    model.save_base = _atomic_save_base(model.save_base)
    model.from_db = _remembering_from_db(model.from_db)
    model.refresh_from_db = _remembering_refresh(model.refresh_from_db)
    _patch_managers(model)
    setattr(model, options.manager_name, HistoryDescriptor(options.historical_model))
    post_save.connect(record_save, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(record_delete, sender=model, weak=False, dispatch_uid=uid)
    pre_delete.connect(fetch_before_delete, sender=model, weak=False, dispatch_uid=uid)


def uninstall(options: TrackingOptions) -> None:
    """Undo :func:`install`: the model's changes are no longer captured."""
    model: Any = options.model
    uid = f"history_core:{options.label}"
    post_save.disconnect(sender=model, dispatch_uid=uid)
    post_delete.disconnect(sender=model, dispatch_uid=uid)
    pre_delete.disconnect(sender=model, dispatch_uid=uid)
    for name, original in getattr(model, _ORIGINALS).items():
        if original is None:
            delattr(model, name)
        else:
            setattr(model, name, original)
    _unpatch_managers(model)
    delattr(model, options.manager_name)
    del model._history_options_live
