"""Reading history: the ``history`` manager, its queryset, and as-of lookups.

Semantics of ``as_of(ts)``:

* the bound is inclusive: a change made exactly at ``ts`` is in force at ``ts``;
* changes with equal ``history_date`` are ordered by ``history_id``;
* ``obj.history.as_of(ts)`` returns the object as it was (an unsaved instance) and
  raises ``Model.DoesNotExist`` before its creation and after its deletion;
* ``Model.history.as_of(ts)`` returns every object as it was, each once, leaving out
  the ones not yet created or already deleted at ``ts``;
* ``ts`` must be timezone-aware: naive timestamps raise ``NaiveTimestampError``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import connections, models
from django.db.models.functions import RowNumber
from django.db.models.query import ValuesListIterable
from django.utils import timezone

from . import compat
from .capture import from_db_row
from .exceptions import ImmutableHistoryError, NaiveTimestampError

NEWEST_FIRST = ("-history_date", "-history_id")


def older_than(date: Any, history_id: Any) -> models.Q:
    """Versions strictly before ``(date, history_id)``: earlier, or as early with a
    smaller id. ``date`` and ``history_id`` may be values or ``OuterRef`` expressions.

    The redundant ``history_date <= date`` is what lets the database start its index
    scan at the key: an ``OR`` alone is a filter, and a scan newest first reads (and
    drops) every version after the key before it finds the first one before it.
    """
    return models.Q(history_date__lte=date) & (
        models.Q(history_date__lt=date)
        | models.Q(history_date=date, history_id__lt=history_id)
    )


def newer_than(date: Any, history_id: Any) -> models.Q:
    """Versions strictly after ``(date, history_id)`` (bounded like ``older_than``)."""
    return models.Q(history_date__gte=date) & (
        models.Q(history_date__gt=date)
        | models.Q(history_date=date, history_id__gt=history_id)
    )


def ensure_aware(ts: datetime) -> datetime:
    """Return ``ts`` if it is a timezone-aware datetime; raise otherwise."""
    if not isinstance(ts, datetime):
        raise TypeError(f"Expected a datetime, got {type(ts).__name__}: {ts!r}.")
    if timezone.is_naive(ts):
        raise NaiveTimestampError(
            f"{ts.isoformat()} has no time zone; pass an aware datetime "
            "(e.g. with tzinfo=datetime.timezone.utc) so the instant is unambiguous."
        )
    try:
        # Databases store UTC, and PostgreSQL refuses offsets of 16 hours or more
        # that Python accepts: pass the instant on in UTC.
        return ts.astimezone(UTC)
    except OverflowError:
        # An instant within hours of year 1 or 9999 has no UTC datetime: it lies
        # before (or after) every change, so the nearest representable one answers.
        return (datetime.min if ts.year == 1 else datetime.max).replace(tzinfo=UTC)


def check_in_force(options: Any, pk: Any, ts: datetime, found: Any) -> None:
    """Raise ``DoesNotExist`` unless ``found`` (type, date, ...) was in force at ts."""
    if found is None:
        raise options.model.DoesNotExist(
            f"{options.label} {pk} did not exist yet at {ts.isoformat()}."
        )
    if found[0] == "-":
        raise options.model.DoesNotExist(
            f"{options.label} {pk} had been deleted at {found[1].isoformat()}, "
            f"before {ts.isoformat()}."
        )


def object_as_of(options: Any, using: str, pk: Any, ts: datetime) -> Any:
    """``obj.history.as_of(ts)`` without a queryset: one cached SQL statement.

    Reads only the version type, date and tracked columns of the newest version at
    or before ``ts`` through the ``(object id, history_date, history_id)`` index.
    """
    ts = ensure_aware(ts)
    connection = connections[using]
    historical = options.historical_model._meta
    key = ("as_of", using)
    sql = options.sql_cache.get(key)
    if sql is None:
        qn = connection.ops.quote_name
        columns = ", ".join(
            qn(c) for c in ("history_type", "history_date", *options.columns)
        )
        # Identifiers come from model metadata and are quoted; values are parameters.
        table, column = qn(historical.db_table), qn(str(options.model._meta.pk.column))
        where = f"{column} = %s AND history_date <= %s"
        order = "ORDER BY history_date DESC, history_id DESC LIMIT 1"
        sql = f"SELECT {columns} FROM {table} WHERE {where} {order}"  # noqa: S608
        options.sql_cache[key] = sql
    date_field = historical.get_field("history_date")
    pk_field = historical.get_field(options.model._meta.pk.name)
    params = [
        pk_field.get_db_prep_value(pk, connection),
        date_field.get_db_prep_value(ts, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    fields = [historical.get_field("history_type"), date_field, *options.fields]
    found = from_db_row(connection, fields, row) if row is not None else None
    check_in_force(options, pk, ts, found)
    assert found is not None  # check_in_force raised otherwise
    return options.build_instance(found[2:], using)


def estimated_rows(historical_model: Any, using: str) -> int:
    """An upper bound on the rows of a history table: the span of its ``history_id``.

    Two probes of the primary key, whatever the table's size. Ids are never reused,
    so rows pruned from the middle of the span still count.
    """
    span = historical_model._default_manager.db_manager(using).aggregate(
        low=models.Min("history_id"), high=models.Max("history_id")
    )
    if span["low"] is None:
        return 0
    return int(span["high"] - span["low"] + 1)


class InstanceIterable(ValuesListIterable):
    """Yields the tracked object as it was in each record, instead of the record.

    Reads only the tracked columns and builds each instance once (no historical
    record, no decoding of the metadata columns).
    """

    def __iter__(self) -> Any:
        queryset = self.queryset
        options = queryset.model._history_options  # type: ignore[attr-defined]
        for row in super().__iter__():
            yield options.build_instance(row, queryset.db)


class HistoryQuerySet(compat.KeepOnClone, models.QuerySet[Any]):
    """A queryset of historical records with time-travel helpers."""

    _object_pk: Any = None
    keep_on_clone = ("_object_pk",)

    def _options(self) -> Any:
        return self.model._history_options

    def update(self, **kwargs: Any) -> int:
        """History is never rewritten: bulk updates of records are refused."""
        raise ImmutableHistoryError(
            f"{self.model.__name__} rows are immutable; record a new version by saving "
            "the tracked object instead."
        )

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        """History is never rewritten: bulk updates of records are refused."""
        return self.update()

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        """Insert new records only: ``update_conflicts`` would rewrite versions."""
        if kwargs.get("update_conflicts"):
            raise ImmutableHistoryError(
                f"{self.model.__name__}.bulk_create(update_conflicts=True) would "
                "overwrite stored versions; history rows are only ever inserted."
            )
        return super().bulk_create(objs, *args, **kwargs)

    def update_or_create(self, *args: Any, **kwargs: Any) -> Any:
        """History is never rewritten: refused like ``update()``."""
        return self.update()

    def delete(self) -> tuple[int, dict[str, int]]:
        """History is never deleted through the ORM; use ``prune_history``."""
        raise ImmutableHistoryError(
            f"{self.model.__name__} rows are not deleted through the ORM: use the "
            "prune_history command to drop old history."
        )

    def for_object(self, pk: Any) -> HistoryQuerySet:
        """Return the records of one tracked object (as ``obj.history`` does)."""
        clone = self.filter(**{self._options().pk_attname: pk})
        clone._object_pk = pk
        return clone

    def earlier(self) -> Any:
        """Return the version before the latest one.

        Raises:
            DoesNotExist: when there are fewer than two versions.
        """
        records = list(self.order_by(*NEWEST_FIRST)[:2])
        if len(records) < 2:
            raise self.model.DoesNotExist(
                f"{self._options().label} has fewer than two versions here; no earlier one."
            )
        return records[1]

    def as_of(self, ts: datetime) -> Any:
        """Return the state at ``ts``: an instance (bound) or a queryset of them."""
        ts = ensure_aware(ts)
        if self._object_pk is None:
            return self.records_as_of(ts).as_instances()
        options = self._options()
        row = (  # only what is needed: no historical record is built
            self.filter(history_date__lte=ts)
            .order_by(*NEWEST_FIRST)
            .values_list("history_type", "history_date", *options.attnames)
            .first()
        )
        check_in_force(options, self._object_pk, ts, row)
        assert row is not None  # check_in_force raised otherwise
        return options.build_instance(row[2:], self.db)

    def record_as_of(self, ts: datetime) -> Any:
        """Return the record in force at ``ts`` for the bound object.

        Raises:
            DoesNotExist: before the object's creation or after its deletion.
        """
        ts = ensure_aware(ts)
        record = self.filter(history_date__lte=ts).order_by(*NEWEST_FIRST).first()
        found = (record.history_type, record.history_date) if record else None
        check_in_force(self._options(), self._object_pk, ts, found)
        return record

    def records_as_of(self, ts: datetime) -> HistoryQuerySet:
        """Return the records in force at ``ts``, one per object, deleted ones dropped."""
        ts = ensure_aware(ts)
        pk = self._options().pk_attname
        # Rank every record (of the bound object, if any), then apply the caller's
        # filters to the records in force: history.filter(price__gt=9).as_of(ts) means
        # "objects whose state at ts had price > 9", not "latest record with price > 9".
        every = self.model._default_manager.db_manager(self.db).all()
        if self._object_pk is not None:
            every = every.filter(**{pk: self._object_pk})
        in_range = every.filter(history_date__lte=ts)
        if connections[self.db].vendor == "postgresql":
            # DISTINCT ON walks the (object, date, id) index backwards: the first row
            # of each object is its newest version at ts.
            newest = in_range.order_by(f"-{pk}", *NEWEST_FIRST).distinct(pk)
            latest = newest.values("history_id")
            return self.filter(history_id__in=latest).exclude(history_type="-")
        ranked = (
            in_range.annotate(
                _rank=models.Window(
                    RowNumber(),
                    partition_by=[models.F(pk)],
                    order_by=[
                        models.F("history_date").desc(),
                        models.F("history_id").desc(),
                    ],
                )
            )
            .filter(_rank=1)
            .values("history_id")
        )
        return self.filter(history_id__in=ranked).exclude(history_type="-")

    def as_instances(self) -> HistoryQuerySet:
        """Iterate over tracked-model instances (as they were) instead of records."""
        clone: Any = self.values_list(*self._options().attnames)
        return compat.iterate_with(clone, InstanceIterable)  # type: ignore[no-any-return]


class HistoryManager(models.Manager.from_queryset(HistoryQuerySet)):  # type: ignore[misc]
    """Manager of historical records; bound to one object through ``obj.history``."""

    object_pk: Any = None

    def as_of(self, ts: datetime) -> Any:
        """The object as it was at ``ts`` (bound), or every object (unbound)."""
        if self.object_pk is None:
            return self.get_queryset().as_of(ts)
        return object_as_of(self.model._history_options, self.db, self.object_pk, ts)

    def get_queryset(self) -> HistoryQuerySet:
        qs = super().get_queryset()
        if self.object_pk is not None:
            qs = qs.filter(**{self.model._history_options.pk_attname: self.object_pk})
            qs._object_pk = self.object_pk
        return qs


class HistoryDescriptor:
    """``Model.history`` (every record of the model) and ``obj.history`` (its own)."""

    def __init__(self, historical_model: Any) -> None:
        self.historical_model = historical_model

    def __get__(self, instance: models.Model | None, owner: type[models.Model]) -> Any:
        manager = HistoryManager()
        manager.model = self.historical_model
        manager.name = "history"
        if instance is not None:
            pk = instance.pk
            if pk is None:  # Django clears the pk of a deleted instance
                pk = instance.__dict__.get("_history_pk")
            if pk is None and not instance._state.adding:
                raise ValueError(
                    f"This {owner._meta.label} was deleted and Django cleared its "
                    "primary key before it was known here (it came from bulk_create); "
                    f"read its versions with {owner.__name__}.history.filter(...)."
                )
            if pk is None:
                raise ValueError(
                    f"{owner._meta.label} has no history before it is saved "
                    "(its primary key is None)."
                )
            manager.object_pk = pk
            return manager.db_manager(instance._state.db)
        return manager
