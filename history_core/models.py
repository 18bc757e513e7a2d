"""The historical models: one concrete model per tracked model, built at import time.

``HistoricalProduct`` holds every tracked field of ``Product`` as a plain typed column
(uniqueness dropped; foreign keys kept as ids without database constraints, so history
survives deletes) plus the ``history_*`` metadata. Rows are immutable: the model refuses
updates and per-row deletes.

Ordering is ``(-history_date, -history_id)``: equal timestamps are ordered by
``history_id``, the insertion order. An index on ``(object id, history_date,
history_id)`` serves "the versions of object X by date" and every as-of lookup.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from typing import Any, ClassVar

from django.apps import apps
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from . import compat
from .diff import ModelDelta, diff_records
from .exceptions import ImmutableHistoryError
from .options import TrackingOptions
from .queries import HistoryManager, newer_than, older_than

CREATED, UPDATED, DELETED = "+", "~", "-"
HISTORY_TYPES = [(CREATED, "Created"), (UPDATED, "Changed"), (DELETED, "Deleted")]

_INTEGER_PKS: dict[str, type[models.Field[Any, Any]]] = {
    "AutoField": models.IntegerField,
    "BigAutoField": models.BigIntegerField,
    "SmallAutoField": models.SmallIntegerField,
}


# MetadataJSONField: decoded flat documents by their text, shared by every read.
_DECODED: dict[str, list[Any] | dict[str, Any]] = {}
_DECODED_ENTRIES = 1024  # emptied when full: a cache of the documents seen lately
_DECODED_TEXT = 256  # longer documents are decoded each time
_SCALARS = (str, int, float, bool, type(None))


def _is_flat(value: Any) -> bool:
    """Whether ``value`` is a list or dict of scalars: a shallow copy is a copy."""
    if isinstance(value, list):
        return all(type(v) in _SCALARS for v in value)
    if isinstance(value, dict):
        return all(type(v) in _SCALARS for v in value.values())
    return False


class MetadataJSONField(models.JSONField):  # type: ignore[type-arg]
    """A ``JSONField`` that decodes each distinct short document once.

    Most versions carry ``[]``, ``{}`` or one of a few lists of changed fields, and
    a timeline of a thousand versions reads two of these per row. A flat document
    (a list or dict of scalars) is decoded once and every read gets its own copy,
    so changing one record's value never changes another's. Stored and migrated
    exactly as a ``JSONField``.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value == "[]":
            return []
        if value == "{}":
            return {}
        if type(value) is not str or self.decoder is not None:
            return super().from_db_value(value, expression, connection)
        known = _DECODED.get(value)
        if known is not None:
            return known.copy()
        decoded = super().from_db_value(value, expression, connection)
        if len(value) <= _DECODED_TEXT and _is_flat(decoded):
            if len(_DECODED) >= _DECODED_ENTRIES:
                _DECODED.clear()
            _DECODED[value] = decoded.copy()
        return decoded

    def deconstruct(self) -> Any:
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs


class HistoricalRecordBase(models.Model):
    """Behaviour shared by every historical record (one version of one object)."""

    history_id = models.BigAutoField(primary_key=True)
    history_date = models.DateTimeField(
        help_text="When the change happened (timezone-aware, microseconds)."
    )
    history_type = models.CharField(max_length=1, choices=HISTORY_TYPES)
    history_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the (history_user, history_date, history_id) index serves it
        related_name="+",
        help_text="Who made the change; the id survives the user's deletion.",
    )
    history_change_reason = models.TextField(null=True, blank=True)
    history_context = MetadataJSONField(
        default=dict, blank=True, encoder=DjangoJSONEncoder
    )
    history_changed_fields = MetadataJSONField(default=list, blank=True)

    objects = HistoryManager()

    _history_options: ClassVar[TrackingOptions]
    _stored_attnames: ClassVar[tuple[str, ...]]

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._history_options.label} {self.object_id} at {self.history_date}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableHistoryError(
                f"{type(self).__name__} rows are immutable: record a new version by "
                "saving the tracked object instead."
            )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableHistoryError(
            f"{type(self).__name__} rows are not deleted one by one: use the "
            "prune_history command to drop old history."
        )

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Any, values: Any, *, fetch_mode: Any = None
    ) -> Any:
        """Build a record read from ``db`` (Django's documented loading hook).

        A full row is stored straight into the new record's ``__dict__``, with the
        ``_state`` Django's own ``from_db`` leaves: a generated historical model
        has no ``__init__`` logic of its own, so that is all ``Model.__init__``
        would do with it, field by field. Django's path runs instead for a partial
        row (``only()``, ``defer()``), while ``pre_init`` or ``post_init``
        receivers listen to this model, and for a field whose attribute does more
        than store a value (see :func:`compat.stores_as_given`). ``fetch_mode``
        is passed by Django 6.1 and later only.
        """
        attnames = cls.__dict__.get("_stored_attnames")
        if attnames is None:
            attnames = cls._plan_loading()
        if len(values) != len(attnames) or compat.has_init_receivers(cls):
            extra = {} if fetch_mode is None else {"fetch_mode": fetch_mode}
            return super().from_db(db, field_names, values, **extra)
        record = cls.__new__(cls)
        stored = record.__dict__
        stored["_state"] = compat.loaded_state(db, fetch_mode)
        stored.update(zip(attnames, values, strict=True))
        return record

    @classmethod
    def _plan_loading(cls) -> tuple[str, ...]:
        """The attnames ``from_db`` stores a full row under (empty: never directly)."""
        fields = cls._meta.concrete_fields
        direct = all(
            compat.stores_as_given(inspect.getattr_static(cls, f.attname, None))
            for f in fields
        )
        attnames = tuple(f.attname for f in fields) if direct else ()
        cls._stored_attnames = attnames
        return attnames

    @property
    def object_id(self) -> Any:
        """The primary key of the tracked object this record is a version of."""
        return getattr(self, self._history_options.pk_attname)

    @property
    def instance(self) -> models.Model:
        """The tracked object as it was in this version (an unsaved instance).

        Excluded fields take the model's defaults.
        """
        options = self._history_options
        values = self.__dict__
        return options.build_instance(
            [values[a] for a in options.attnames], self._state.db
        )

    def _siblings(self) -> Any:
        manager = type(self)._default_manager.db_manager(self._state.db)
        return manager.filter(**{self._history_options.pk_attname: self.object_id})

    @property
    def prev_record(self) -> HistoricalRecordBase | None:
        """The version just before this one, or ``None`` (ties broken by id)."""
        return (
            self._siblings()
            .filter(older_than(self.history_date, self.history_id))
            .order_by("-history_date", "-history_id")
            .first()
        )

    @property
    def next_record(self) -> HistoricalRecordBase | None:
        """The version just after this one, or ``None`` (ties broken by id)."""
        return (
            self._siblings()
            .filter(newer_than(self.history_date, self.history_id))
            .order_by("history_date", "history_id")
            .first()
        )

    def diff_against(
        self,
        old_record: HistoricalRecordBase | None,
        included_fields: list[str] | None = None,
        excluded_fields: list[str] | None = None,
    ) -> ModelDelta:
        """Return the changes from ``old_record`` to this record, sorted by field."""
        if old_record is not None and type(old_record) is not type(self):
            raise TypeError(
                f"Cannot diff a {type(self).__name__} against a {type(old_record).__name__}."
            )
        return diff_records(
            old_record,
            self,
            included_fields=included_fields,
            excluded_fields=excluded_fields,
        )

    def revert(self, **kwargs: Any) -> Any:
        """Restore the object to this version; see :func:`history_core.revert.revert`."""
        from .revert import revert

        return revert(self, **kwargs)


def _index_name(table: str, suffix: str) -> str:
    digest = hashlib.sha1(table.encode(), usedforsecurity=False).hexdigest()[:6]
    return f"{table[:18]}_{digest}_{suffix}"[:30]


def _live_target(model: Any, target: Any) -> Any:
    """The model a live foreign key points at, as a reference that cannot be read
    relative to the historical model ("self" or an unqualified name would be)."""
    if not isinstance(target, str):
        return target
    if target == "self":
        return model
    return target if "." in target else f"{model._meta.app_label}.{target}"


def copy_field(
    field: models.Field[Any, Any], model: Any = None
) -> models.Field[Any, Any]:
    """Return a plain, constraint-free copy of ``field`` for the historical model.

    ``model`` is the live model declaring ``field`` (it resolves ``"self"`` and
    unqualified names of models declared further down). Defaults are kept, so
    adding a field with a default never makes ``makemigrations`` ask for one.
    """
    if field.is_relation and (field.many_to_one or field.one_to_one):
        remote: Any = field.remote_field
        target = _live_target(model or field.model, remote.model)
        to_field = remote.field_name
        target_pk = target._meta.pk if not isinstance(target, str) else None
        if target_pk is not None and to_field in (None, target_pk.name):
            to_field = None
        return models.ForeignKey(
            target,
            on_delete=models.DO_NOTHING,
            db_constraint=False,
            related_name="+",
            related_query_name="+",
            null=field.null,
            blank=True,
            to_field=to_field,
            db_column=field.db_column,
            db_index=False,
            verbose_name=field.verbose_name,
        )
    if isinstance(field, models.GeneratedField):
        return copy_field(field.output_field)  # type: ignore[arg-type]
    _, _, args, kwargs = field.deconstruct()
    for key in ("primary_key", "unique", "db_index", "db_tablespace"):
        kwargs.pop(key, None)
    kwargs.pop("validators", None)
    cls = _INTEGER_PKS.get(field.get_internal_type(), type(field))
    if cls is not type(field):
        return cls(
            db_column=kwargs.get("db_column"), verbose_name=kwargs.get("verbose_name")
        )
    kwargs.pop("auto_now", None)
    kwargs.pop("auto_now_add", None)
    if field.primary_key and "editable" in kwargs:
        kwargs.pop("editable")
    return cls(*args, **kwargs)


def build_historical_model(options: TrackingOptions) -> type[HistoricalRecordBase]:
    """Create ``Historical<Model>`` for ``options.model`` and return it."""
    model = options.model
    opts = model._meta
    table = options.table_name or f"{options.app_label}_historical{opts.model_name}"
    pk_name = opts.pk.name  # type: ignore[union-attr]
    meta = type(
        "Meta",
        (),
        {
            "app_label": options.app_label,
            "db_table": table,
            "ordering": ("-history_date", "-history_id"),
            "get_latest_by": ("history_date", "history_id"),
            "verbose_name": f"historical {opts.verbose_name}",
            "verbose_name_plural": f"historical {opts.verbose_name_plural}",
            "default_permissions": (),
            # _base_manager (related lookups, Django internals) refuses writes too.
            "base_manager_name": "objects",
            "indexes": [
                models.Index(
                    fields=[pk_name, "history_date", "history_id"],
                    name=_index_name(table, "obj"),
                ),
                models.Index(
                    fields=["history_date", "history_id"],
                    name=_index_name(table, "date"),
                ),
                # Deletions only (partial: creations and updates write no entry in
                # it): "recover deleted" and the change log's filter on deletions
                # find them without scanning every version.
                models.Index(
                    fields=["history_date", "history_id"],
                    name=_index_name(table, "del"),
                    condition=models.Q(history_type="-"),
                ),
                # Creations only, likewise: the feed's and change log's filter on
                # creations pages through them newest first without reading updates.
                models.Index(
                    fields=["history_date", "history_id"],
                    name=_index_name(table, "new"),
                    condition=models.Q(history_type="+"),
                ),
                # One user's changes newest first (the feed's userId, the change
                # log's user filter): a page reads its own rows, not every version.
                models.Index(
                    fields=["history_user", "history_date", "history_id"],
                    name=_index_name(table, "user"),
                ),
            ],
        },
    )
    module_name = model.__module__
    if options.app_label != opts.app_label:  # e.g. auth.User tracked in your app
        module_name = f"{apps.get_app_config(str(options.app_label)).name}.models"
    attrs: dict[str, Any] = {"__module__": module_name, "Meta": meta}
    for field in options.fields:
        attrs[field.name] = copy_field(field, model)
    name = f"Historical{model.__name__}"
    historical: Any = type(name, (HistoricalRecordBase,), attrs)
    historical._history_options = options
    module = sys.modules.get(module_name)
    if module is not None and not hasattr(module, name):
        setattr(module, name, historical)  # importable like a declared model
    return historical


class ChangeLog(models.Model):
    """The admin's change log across every tracked model.

    No table and no rows: it only gives the change log an entry in the admin index
    (``history_core.admin.ChangeLogAdmin`` renders the page from the historical
    tables). ``managed = False``: migrations never create or alter a table for it.
    """

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = "change log"
        verbose_name_plural = "change log"

    def __str__(self) -> str:
        return "change log"
