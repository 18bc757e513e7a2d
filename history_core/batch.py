"""Batched lookups around a list of historical records, a constant number of queries.

API layers show a page of versions with each version's neighbours, users and related
objects. Looking those up record by record costs a query per row; these functions
answer for the whole list at once (two queries each, whatever the list's length).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models

from .models import DELETED
from .options import live_options
from .queries import newer_than, older_than


def _by_model(records: Sequence[Any]) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = {}
    for record in records:
        groups.setdefault(type(record), []).append(record)
    return groups


def _neighbour_subquery(historical: Any, newer: bool) -> models.Subquery:
    pk = historical._history_options.pk_attname
    date, hid = models.OuterRef("history_date"), models.OuterRef("history_id")
    if newer:
        condition = newer_than(date, hid)
        order = ("history_date", "history_id")
    else:
        condition = older_than(date, hid)
        order = ("-history_date", "-history_id")
    siblings = historical._default_manager.filter(
        condition, **{pk: models.OuterRef(pk)}
    )
    return models.Subquery(siblings.order_by(*order).values("history_id")[:1])


def neighbours(records: Sequence[Any], *, newer: bool = False) -> dict[int, Any]:
    """Map each record's ``history_id`` to its previous (or next) version, or None.

    Ties on ``history_date`` are broken by ``history_id``, as everywhere.
    """
    result: dict[int, Any] = {}
    for historical, group in _by_model(records).items():
        db = group[0]._state.db
        manager = historical._default_manager.db_manager(db)
        pairs = dict(
            manager.filter(history_id__in=[r.history_id for r in group])
            .annotate(_neighbour=_neighbour_subquery(historical, newer))
            .values_list("history_id", "_neighbour")
        )
        found = manager.in_bulk({v for v in pairs.values() if v is not None})
        for record in group:
            result[record.history_id] = found.get(pairs.get(record.history_id))
    return result


def related_versions(records: Sequence[Any], field_name: str) -> dict[int, Any]:
    """Map each record's ``history_id`` to the related object's version in force then.

    ``field_name`` is a foreign key of the tracked model whose target is tracked too.
    The related version is the newest one at or before the record's ``history_date``;
    ``None`` when the relation is empty, or the object did not exist or was deleted.
    """
    result: dict[int, Any] = {}
    for historical, group in _by_model(records).items():
        fields = {f.name: f for f in historical._history_options.fields}
        field: Any = fields.get(field_name)
        target_options = getattr(field, "related_model", None)
        target_options = target_options and live_options(target_options)
        if target_options is None:  # a page may mix models without this relation
            continue
        target = target_options.historical_model
        target_pk = target._history_options.pk_attname
        db = group[0]._state.db
        in_force = target._default_manager.filter(
            history_date__lte=models.OuterRef("history_date"),
            **{target_pk: models.OuterRef(field.attname)},
        ).order_by("-history_date", "-history_id")
        pairs = dict(
            historical._default_manager.db_manager(db)
            .filter(history_id__in=[r.history_id for r in group])
            .annotate(_related=models.Subquery(in_force.values("history_id")[:1]))
            .values_list("history_id", "_related")
        )
        found = target._default_manager.db_manager(db).in_bulk(
            {v for v in pairs.values() if v is not None}
        )
        for record in group:
            version = found.get(pairs.get(record.history_id))
            is_live = version is not None and version.history_type != DELETED
            result[record.history_id] = version if is_live else None
    return result


def users(records: Sequence[Any]) -> dict[Any, Any]:
    """Map each ``history_user_id`` found in ``records`` to its user (if it exists)."""
    ids = {r.history_user_id for r in records if r.history_user_id is not None}
    if not ids:
        return {}
    user_model = get_user_model()
    fields = ["pk", user_model.USERNAME_FIELD]
    return user_model._default_manager.only(*fields).in_bulk(ids)
