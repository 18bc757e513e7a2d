"""Bulk ORM paths that bypass model signals, captured set-based.

``bulk_create``, ``bulk_update``, ``QuerySet.update()`` and ``QuerySet.delete()`` on a
tracked model's managers (related managers included) record one version per affected
row, written in batches, inside the operation's transaction. Raw SQL is the one path
that is not captured.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connections, models, transaction

from . import statement
from .capture import insert_from_table, insert_records, loaded_values, remember
from .exceptions import UncapturableOperation
from .options import live_options, tracked_parents
from .receivers import delete_buffer, records_noop

# Set while an operation that records its own history runs Django's implementation,
# which may call update() internally (bulk_update does): that inner call is not
# captured a second time.
_capturing: ContextVar[bool] = ContextVar("history_core_capturing", default=False)


def _options(queryset: models.QuerySet[Any]) -> Any:
    if _capturing.get():
        return None
    return live_options(queryset.model)


class HistoryQuerySetMixin:
    """Mixed into every queryset class of a tracked model."""

    model: type[models.Model]
    db: str

    def update(self, **kwargs: Any) -> int:
        """Update the matched rows and record each one's new state."""
        targets = _targets(self.model, kwargs)
        if not targets:  # untracked, or only excluded fields change
            return super().update(**kwargs)  # type: ignore[misc]
        if self.query.is_sliced:  # type: ignore[attr-defined]
            raise TypeError("Cannot update a query once a slice has been taken.")
        own = live_options(self.model)
        if own is not None and len(targets) == 1 and targets[0][0] is own:
            # The model's own history only: one statement on PostgreSQL.
            single = statement.update_queryset(own, self, kwargs, targets[0][1])
            if single is not None:
                return single
        with transaction.atomic(using=self.db, savepoint=False):
            pks = self._locked_pks()
            if not pks:
                return 0
            count = 0
            for chunk in _chunks(pks, self.db):
                count += models.QuerySet.update(self.filter(pk__in=chunk), **kwargs)  # type: ignore[attr-defined]
            for target, names in targets:
                insert_from_table(target, pks, "~", names, self.db)
            return count

    update.alters_data = True  # type: ignore[attr-defined]

    def _locked_pks(self) -> list[Any]:
        queryset: Any = self
        features = connections[self.db].features
        if features.has_select_for_update:
            query = queryset.query
            if query.distinct or query.group_by is not None:
                # FOR UPDATE is not allowed with DISTINCT or GROUP BY: lock the rows
                # through a plain "pk IN (subquery)" instead.
                manager = self.model._base_manager.db_manager(self.db)
                queryset = manager.filter(pk__in=queryset.order_by().values("pk"))
            of = ("self",) if features.has_select_for_update_of else ()
            queryset = queryset.select_for_update(of=of)
        return list(queryset.order_by().values_list("pk", flat=True))

    def bulk_create(
        self, objs: Iterable[models.Model], *args: Any, **kwargs: Any
    ) -> Any:
        """Insert ``objs`` and record a ``+`` version of each, in one transaction."""
        options = _options(self)  # type: ignore[arg-type]
        if options is None:
            return super().bulk_create(objs, *args, **kwargs)  # type: ignore[misc]
        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            raise UncapturableOperation(
                f"bulk_create(ignore_conflicts/update_conflicts) on {options.label} cannot "
                "be captured exactly: which rows were written is unknown. Save the rows "
                "one by one, or use update_or_create()."
            )
        with transaction.atomic(using=self.db, savepoint=False):
            objs = super().bulk_create(objs, *args, **kwargs)  # type: ignore[misc]
            if any(obj.pk is None for obj in objs):
                raise UncapturableOperation(
                    f"{options.label}: the database did not return primary keys "
                    "from bulk_create, so history cannot be recorded."
                )
            # Copy the stored rows (defaults and conversions applied) in one statement.
            insert_from_table(options, [obj.pk for obj in objs], "+", [], self.db)
            for obj in objs:
                remember(obj, {a: obj.__dict__[a] for a in options.attnames})
        return objs

    bulk_create.alters_data = True  # type: ignore[attr-defined]

    def bulk_update(
        self,
        objs: Iterable[models.Model],
        fields: Sequence[str],
        *args: Any,
        **kwargs: Any,
    ) -> int:
        """Update ``fields`` of ``objs`` and record each row's new state."""
        targets = _targets(self.model, fields)
        if not targets:
            return super().bulk_update(objs, fields, *args, **kwargs)  # type: ignore[misc]
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            token = _capturing.set(True)
            try:
                count = super().bulk_update(objs, fields, *args, **kwargs)  # type: ignore[misc]
            finally:
                _capturing.reset(token)
            for target, names in targets:
                insert_from_table(target, [o.pk for o in objs], "~", names, self.db)
        # The saved fields now hold what later saves compare against; other fields
        # of the objects may carry unsaved edits and keep their loaded values.
        opts: Any = self.model._meta
        saved = {opts.get_field(f).attname for f in fields}
        for obj in objs:
            state = obj.__dict__
            stored = {a: state[a] for a in saved if a in state}
            remember(obj, {**(loaded_values(obj) or {}), **stored})
        return count

    bulk_update.alters_data = True  # type: ignore[attr-defined]

    def delete(self) -> tuple[int, dict[str, int]]:
        """Delete the matched rows; their final snapshots are inserted in batches."""
        with batched_deletes(self.db):
            return super().delete()  # type: ignore[misc,no-any-return]

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]


@contextmanager
def batched_deletes(using: str) -> Iterator[None]:
    """Collect the deleted snapshots of the block and insert them in batches.

    Used by ``QuerySet.delete()`` and by ``Model.delete()`` of tracked models, so a
    delete that cascades to many tracked rows costs one INSERT per model, not one per
    row. Nested blocks join the outermost one.
    """
    if delete_buffer.get() is not None:
        yield
        return
    buffer: list[Any] = []
    token = delete_buffer.set(buffer)
    try:
        with transaction.atomic(using=using, savepoint=False):
            yield
            _flush(buffer)
    finally:
        delete_buffer.reset(token)


def _targets(model: Any, names: Iterable[str]) -> list[tuple[Any, list[str]]]:
    """Return the tracked models an update of ``names`` on ``model`` writes.

    Each item is ``(options, changed field names)``: the model itself, if tracked,
    then its tracked multi-table parents whose columns are assigned (Django updates
    a parent's table for a child's update of inherited fields).
    """
    if _capturing.get():
        return []
    resolved = {model._meta.get_field(name).name for name in names}
    options = live_options(model)
    candidates = ([options] if options is not None else []) + tracked_parents(model)
    targets = []
    for target in candidates:
        changed = sorted(resolved & {f.name for f in target.fields})
        if changed or (target is options and records_noop(target)):
            targets.append((target, changed))
    return targets


def _flush(buffer: list[tuple[Any, Any, str]]) -> None:
    groups: dict[tuple[int, str], tuple[Any, list[Any]]] = {}
    for options, record, using in buffer:
        groups.setdefault((id(options), using), (options, []))[1].append(record)
    for (_, using), (options, records) in groups.items():
        insert_records(options, records, using)


def _chunks(pks: list[Any], using: str) -> Iterable[list[Any]]:
    limit = connections[using].features.max_query_params or 30000
    size = max(1, min(limit - 100, 30000))
    for start in range(0, len(pks), size):
        yield pks[start : start + size]
