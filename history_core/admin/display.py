"""How versions read in the admin: kinds, users, context in short, field values.

A foreign key is shown by the ``__str__`` of the object it pointed at *as of the
version's date* when that model is tracked (the name it had then), by its live
``__str__`` otherwise, and by its key when the object is gone. Only to users who may
read the related model (``may_name``, from :mod:`.permissions`): to others it
is the bare key, with no lookup, as the GraphQL API gives only ``categoryId`` to a
caller who may not read categories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.admin.utils import display_for_field
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.safestring import SafeString

from ..models import CREATED, DELETED, UPDATED, HistoricalRecordBase
from ..options import TrackingOptions
from ..queries import object_as_of
from ..registry import get_options, is_registered
from .permissions import MayName
from .wordiff import word_diff

EMPTY = "—"
KINDS = {CREATED: "Created", UPDATED: "Changed", DELETED: "Deleted"}
# Texts longer than this (or any TextField) are compared word by word.
LONG_TEXT = 60


def kind_label(record: HistoricalRecordBase) -> str:
    """``Created``, ``Changed``, ``Deleted``, or ``Reverted`` for a revert's version."""
    if record.history_context.get("reverted_from") is not None:
        return "Restored" if record.history_type == CREATED else "Reverted"
    return KINDS.get(record.history_type, record.history_type)


def user_label(record: HistoricalRecordBase) -> str:
    """The user's name; the id when that user was deleted; ``—`` for nobody."""
    user = record.history_user
    if user is not None:
        return str(user.get_username())
    if record.history_user_id is not None:  # type: ignore[attr-defined]
        return f"user #{record.history_user_id} (deleted)"  # type: ignore[attr-defined]
    return EMPTY


def context_summary(record: HistoricalRecordBase) -> list[str]:
    """The request, command, revert source and own keys of a version, in short."""
    context = dict(record.history_context or {})
    parts = []
    request = context.pop("request", None)
    if isinstance(request, dict):
        where = f" from {request['remote_addr']}" if request.get("remote_addr") else ""
        parts.append(f"{request.get('method', '')} {request.get('path', '')}{where}")
    if "command" in context:
        parts.append(f"command {context.pop('command')}")
    if context.get("reverted_from") is not None:
        parts.append(f"reverted from #{context.pop('reverted_from')}")
    context.pop("correlation_id", None)  # an opaque id: in the full context only
    parts.extend(f"{key}={value}" for key, value in sorted(context.items()))
    return parts


def changed_field_names(options: TrackingOptions, record: Any) -> list[str]:
    """The verbose names of the fields the version changed."""
    names = {f.name: str(f.verbose_name) for f in options.fields}
    return [names.get(name, name) for name in record.history_changed_fields or ()]


def object_label(record: HistoricalRecordBase) -> str:
    """The ``__str__`` of the object as this version holds it."""
    return safe_str(record.instance)


def safe_str(instance: models.Model) -> str:
    """``str(instance)``, or its model and key when its ``__str__`` follows a foreign
    key to an object deleted since (an old version often points at one)."""
    try:
        return str(instance)
    except ObjectDoesNotExist:
        return f"{instance._meta.verbose_name} {instance.pk}"


def related_label(
    field: Any, value: Any, when: datetime, using: str, may_name: MayName
) -> str:
    """The object a foreign key value pointed at, as of ``when``; its bare key when
    the user may not read the related model."""
    related: Any = field.related_model
    if not may_name(related):
        return str(value)
    target = field.target_field
    if is_registered(related) and target.primary_key:
        try:
            return safe_str(object_as_of(get_options(related), using, value, when))
        except related.DoesNotExist:
            pass  # not tracked yet at that time: the live object may still say
    live = (
        related._base_manager.db_manager(using)
        .filter(**{target.attname: value})
        .first()
    )
    if live is not None:
        return str(live)
    return f"{related._meta.verbose_name} {value} (no longer exists)"


def display_value(
    field: Any, value: Any, when: datetime, using: str, may_name: MayName
) -> str:
    """One field's value, ready for the page (foreign keys named as of ``when``)."""
    if value is None:
        return EMPTY
    if field.is_relation:
        return related_label(field, value, when, using, may_name)
    return str(display_for_field(value, field, EMPTY))


def value_html(field: Any, record: Any, may_name: MayName) -> str:
    """One field's value in a version, ready for the page."""
    if record is None:
        return EMPTY
    value = record.__dict__.get(field.attname)
    return display_value(field, value, record.history_date, _db(record), may_name)


def _db(record: Any) -> str:
    return record._state.db or "default"


@dataclass(frozen=True)
class FieldRow:
    """One row of a comparison: the field, its two values, whether they differ."""

    name: str
    old: str | SafeString
    new: str | SafeString
    changed: bool


def _is_long_text(field: Any, old: Any, new: Any) -> bool:
    if not (isinstance(old, str) and isinstance(new, str)):
        return False
    return isinstance(field, models.TextField) or max(len(old), len(new)) > LONG_TEXT


def compare_rows(
    options: TrackingOptions, old: Any, new: Any, may_name: MayName
) -> tuple[list[FieldRow], list[FieldRow]]:
    """Return the changed and the unchanged fields of ``old`` -> ``new``.

    Fields keep the model's order. ``old`` may be ``None`` (before the first
    version). Long texts that changed come back word-diffed, as HTML. Foreign keys
    are named only for models ``may_name`` accepts.
    """
    changed, unchanged = [], []
    for field in options.fields:
        before = old.__dict__.get(field.attname) if old is not None else None
        after = new.__dict__.get(field.attname)
        name = str(field.verbose_name)
        if old is not None and before == after:
            html = value_html(field, new, may_name)
            unchanged.append(FieldRow(name, html, html, changed=False))
        elif _is_long_text(field, before, after):
            old_html, new_html = word_diff(str(before), str(after))
            changed.append(FieldRow(name, old_html, new_html, changed=True))
        else:
            before_html = value_html(field, old, may_name)
            row = FieldRow(name, before_html, value_html(field, new, may_name), True)
            changed.append(row)
    return changed, unchanged


def preview_rows(
    options: TrackingOptions, changes: Any, record: Any, may_name: MayName
) -> list[FieldRow]:
    """The rows of a revert preview: each field's current value and the one to come.

    Current foreign keys are named as they are now, restored ones as the version
    names them (only for models ``may_name`` accepts).
    """
    fields = {f.name: f for f in options.fields}
    now, using = timezone.now(), _db(record)
    rows = []
    for change in changes:
        field = fields[change.field]
        old: str
        new: str
        if _is_long_text(field, change.old, change.new):
            old, new = word_diff(str(change.old), str(change.new))
        else:
            old = display_value(field, change.old, now, using, may_name)
            new = display_value(field, change.new, record.history_date, using, may_name)
        rows.append(FieldRow(str(field.verbose_name), old, new, changed=True))
    return rows
