"""The systems compared: plain Django, history_core and the peers.

Each system exposes the same operations, written the way its documentation tells a
user to write them. Where a peer has no API for an operation, the closest hand-written
query is used and the table's note says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from bench.benchapp.models import (
    PlainGroup,
    PlainItem,
    PlainMember,
    TrackedGroup,
    TrackedItem,
    TrackedMember,
)

FIELDS = ("name", "price", "description", "qty")


@dataclass
class System:
    """One way of storing the benchmark model (and perhaps its history)."""

    name: str
    model: Any
    history_model: Any = None
    workloads: frozenset[str] | None = None  # None: every workload
    # W8: a parent model whose deletion cascades to the member model.
    cascade: tuple[Any, Any] | None = None

    def tables(self) -> list[Any]:
        models = [self.model]
        if self.history_model is not None:
            models.append(self.history_model)
        return models

    def history_count(self) -> int:
        if self.history_model is None:
            return 0
        return int(self.history_model._base_manager.count())

    # Write paths (W4, W6): the system's own bulk API.
    def bulk_create(self, objs: list[Any]) -> Any:
        return self.model.objects.bulk_create(objs)

    def bulk_update(self, objs: list[Any], fields: list[str]) -> Any:
        return self.model.objects.bulk_update(objs, fields)

    # W5: the system's update of every row.
    def update_all(self) -> Any:
        return self.model.objects.update(qty=F("qty") + 1)

    # W8: delete one group, cascading to its members.
    def delete_group(self, group: Any) -> Any:
        return group.delete()

    # Read paths (R1-R4).
    def timeline(self, pk: int) -> list[Any]:
        return list(self.model(pk=pk).history.all())

    def as_of_one(self, pk: int, ts: datetime) -> Any:
        return self.model(pk=pk).history.as_of(ts)

    def as_of_all(self, ts: datetime) -> list[Any]:
        return list(self.model.history.as_of(ts))

    def two_versions(self, pk: int) -> tuple[Any, Any]:
        new, old = list(self.model(pk=pk).history.all()[:2])
        return old, new

    def diff(self, old: Any, new: Any) -> Any:
        return new.diff_against(old)


class Plain(System):
    """Plain Django: the baseline of every ratio."""

    def timeline(self, pk: int) -> list[Any]:  # same number of live rows
        raise NotImplementedError

    def as_of_one(self, pk: int, ts: datetime) -> Any:  # a primary-key lookup
        return self.model.objects.get(pk=pk)

    def as_of_all(self, ts: datetime) -> list[Any]:  # the same live rows
        return list(self.model.objects.all())

    def two_versions(self, pk: int) -> tuple[Any, Any]:
        rows = list(self.model.objects.order_by("pk")[:2])
        return rows[0], rows[1]

    def diff(self, old: Any, new: Any) -> Any:  # a hand-written comparison
        return [
            (name, a, b)
            for name in FIELDS
            if (a := getattr(old, name)) != (b := getattr(new, name))
        ]


class InsertFloor(System):
    """W5, W7 and W8: plain Django's statement, plus a bare ``INSERT ... SELECT`` of
    one history row per written row into history_core's history table (same
    indexes), with no trigger, no context and no change detection. No design that
    keeps a row per version in an indexed table can write for less: the floor.
    """

    def update_all(self) -> Any:
        count = self.model.objects.update(qty=F("qty") + 1)
        _copy_rows(self.model, self.history_model, ("id", *FIELDS), "~", '["qty"]')
        return count

    def delete_group(self, group: Any) -> Any:
        """W8's floor: the ``-`` versions of the members copied, then the delete."""
        member = self.cascade[1] if self.cascade else None
        history = TrackedMember.history.model
        _copy_rows(member, history, ("id", "group_id", "name", "qty"), "-", "[]")
        return group.delete()


def _copy_rows(
    model: Any, history: Any, columns: tuple[str, ...], kind: str, changed: str
) -> None:
    """One bare ``INSERT ... SELECT`` of every row of ``model`` into ``history``."""
    qn = connection.ops.quote_name
    listed = ", ".join(qn(c) for c in columns)
    meta = "history_date, history_type, history_context, history_changed_fields"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(history._meta.db_table)} ({listed}, {meta}) "
            f"SELECT {listed}, %s, %s, '{{}}', %s FROM {qn(model._meta.db_table)}",
            [timezone.now(), kind, changed],
        )


class SimpleHistory(System):
    """django-simple-history: its ``*_with_history`` helpers for bulk writes."""

    def bulk_create(self, objs: list[Any]) -> Any:
        from simple_history.utils import bulk_create_with_history

        return bulk_create_with_history(objs, self.model)

    def bulk_update(self, objs: list[Any], fields: list[str]) -> Any:
        from simple_history.utils import bulk_update_with_history

        return bulk_update_with_history(objs, self.model, fields)


class PGHistory(System):
    """django-pghistory: triggers; it has no as-of API, so queries are hand-written."""

    def _events(self) -> Any:
        return self.history_model.objects

    def timeline(self, pk: int) -> list[Any]:
        return list(
            self._events().filter(pgh_obj_id=pk).order_by("-pgh_created_at", "-pgh_id")
        )

    def as_of_one(self, pk: int, ts: datetime) -> Any:
        event = (
            self._events()
            .filter(pgh_obj_id=pk, pgh_created_at__lte=ts)
            .order_by("-pgh_created_at", "-pgh_id")
            .first()
        )
        if event is None:
            raise self.model.DoesNotExist(pk)
        return event

    def as_of_all(self, ts: datetime) -> list[Any]:
        return list(
            self._events()
            .filter(pgh_created_at__lte=ts)
            .order_by("pgh_obj_id", "-pgh_created_at", "-pgh_id")
            .distinct("pgh_obj_id")
        )

    def two_versions(self, pk: int) -> tuple[Any, Any]:
        raise NotImplementedError

    def diff(self, old: Any, new: Any) -> Any:
        raise NotImplementedError


def available_systems() -> list[System]:
    """Plain and history_core always; the peers when installed and usable here."""
    systems: list[System] = [
        Plain("plain", PlainItem, cascade=(PlainGroup, PlainMember)),
        System(
            "history_core",
            TrackedItem,
            TrackedItem.history.model,
            cascade=(TrackedGroup, TrackedMember),
        ),
        InsertFloor(
            "insert floor",
            PlainItem,
            TrackedItem.history.model,
            frozenset({"W5", "W7", "W8"}),
            cascade=(PlainGroup, PlainMember),
        ),
    ]
    if settings.HAS_SIMPLE_HISTORY:
        model = apps.get_model("shapp", "SHItem")
        systems.append(SimpleHistory("simple-history", model, model.history.model))
    if settings.HAS_PGHISTORY:
        model = apps.get_model("pghapp", "PGHItem")
        systems.append(
            PGHistory("pghistory", model, apps.get_model("pghapp", "PGHItemEvent"))
        )
    return systems
