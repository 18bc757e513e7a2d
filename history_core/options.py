"""What history_core knows about one tracked model, computed once at registration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models

LIVE_ATTR = "_history_options_live"


def live_options(model: Any) -> TrackingOptions | None:
    """Return the tracking options of exactly ``model``, or None.

    Looked up in the class's own namespace: a multi-table child of a tracked model
    inherits its methods and attributes, not its tracking. A proxy shares its
    concrete model's rows, and so its tracking.
    """
    if model._meta.proxy:
        model = model._meta.concrete_model
    return model.__dict__.get(LIVE_ATTR)  # type: ignore[no-any-return]


def tracked_parents(model: Any) -> list[TrackingOptions]:
    """Return the tracking options of ``model``'s tracked multi-table parents."""
    concrete = model._meta.concrete_model  # a proxy's parents are its model's
    parents = (live_options(parent) for parent in concrete._meta.get_parent_list())
    return [options for options in parents if options is not None]


@dataclass
class TrackingOptions:
    """The configuration and derived facts of one tracked model.

    Attributes:
        model: the tracked (live) model.
        excluded_fields: field names never stored.
        app_label: the app whose migrations create the historical model.
        manager_name: the attribute giving access to history (``history``).
        registered_at: ``file:line`` of the registration, for error messages.
        record_noop_saves: overrides the ``RECORD_NOOP_SAVES`` setting when set.
    """

    model: type[models.Model]
    excluded_fields: tuple[str, ...] = ()
    app_label: str | None = None
    table_name: str | None = None
    manager_name: str = "history"
    registered_at: str = "?"
    record_noop_saves: bool | None = None
    historical_model: Any = None
    fields: tuple[models.Field[Any, Any], ...] = field(default_factory=tuple)
    attnames: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    diff_pairs: tuple[tuple[str, str], ...] = ()
    ignored_for_noop: frozenset[str] = frozenset()
    positional: bool = False
    sql_cache: dict[Any, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        excluded = set(self.excluded_fields)
        self.fields = tuple(
            f for f in self.model._meta.concrete_fields if f.name not in excluded
        )
        self.attnames = tuple(f.attname for f in self.fields)
        self.columns = tuple(str(f.column) for f in self.fields)
        self.positional = self.fields == tuple(self.model._meta.concrete_fields)
        self.diff_pairs = tuple(sorted((f.name, f.attname) for f in self.fields))
        self.ignored_for_noop = frozenset(
            f.attname for f in self.fields if getattr(f, "auto_now", False)
        )

    def build_instance(self, values: Sequence[Any], db: str | None) -> Any:
        """Return an unsaved tracked-model instance from values in ``attnames`` order.

        Not marked as loaded from the database: saving it (a revert by hand) compares
        against the latest version, as for any instance built by hand.
        """
        if self.positional:
            instance = self.model(*values)
        else:  # excluded fields take the model's defaults
            instance = self.model(**dict(zip(self.attnames, values, strict=True)))
        instance._state.adding = False
        instance._state.db = db
        return instance

    @property
    def label(self) -> str:
        """The tracked model's label, e.g. ``catalog.Product``."""
        return self.model._meta.label

    @property
    def pk_attname(self) -> str:
        """The attribute holding the tracked object's primary key."""
        return self.model._meta.pk.attname  # type: ignore[union-attr]
