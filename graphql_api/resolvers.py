"""Resolver logic: thin functions that check input and permissions, then call
history_core. Expected failures of the revert mutation come back as data
(``OperationInfo``); those of queries as GraphQL errors with a code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import strawberry
from django.core.exceptions import ObjectDoesNotExist
from strawberry.types import Info
from strawberry_django.fields.types import OperationInfo, OperationMessage

from history_core import (
    RelatedObjectGone,
    RevertConflict,
    RevertError,
    RevertRetry,
    get_history_for_model,
    pages,
)
from history_core.revert import reason_problem

from . import inputs
from .errors import BadInput, NotFound
from .loaders import attach, batch_of
from .permissions import missing_revert_perms, require_view
from .types import FieldChange, HistoryUser, PageInfo, to_json

Kind = OperationMessage.Kind


def history_user(record: Any) -> HistoryUser | None:
    user = batch_of(record).user(record)
    if user is None:
        return None
    return HistoryUser(id=strawberry.ID(str(user.pk)), username=user.get_username())


def display(api: Any, record: Any) -> str:
    """``str()`` of the object as ``record`` has it.

    The instance is built from the version alone: a ``__str__`` that reads a
    relation queries the live table (once per version), and one whose related
    object is gone falls back to ``"<label> <id>"``.
    """
    try:
        return str(record.instance)
    except ObjectDoesNotExist:
        return f"{api.options.label} {record.object_id}"


def field_changes(delta: Any, names: dict[str, str] | None = None) -> list[FieldChange]:
    """``FieldChange`` of each model change, named by ``names`` (model -> GraphQL)."""
    names = names or {}
    return [
        FieldChange(
            field=names.get(c.field, c.field), old=to_json(c.old), new=to_json(c.new)
        )
        for c in delta
    ]


def changes_since_previous(api: Any, record: Any) -> list[FieldChange]:
    previous = batch_of(record).previous(record)
    if previous is None:
        return []
    return api.field_changes(record.diff_against(previous).changes)


def filtered(
    queryset: Any, since: datetime | None, until: datetime | None, types: Any
) -> Any:
    """Apply the since / until / types filters shared by timelines and the feed."""
    since, until = inputs.instant(since, "since"), inputs.instant(until, "until")
    if since is not None:
        queryset = queryset.filter(history_date__gte=since)
    if until is not None:
        queryset = queryset.filter(history_date__lte=until)
    if types:
        queryset = queryset.filter(history_type__in=[t.value for t in types])
    return queryset


def edges_and_info(
    page: pages.Page, edge: Any, cursor: Any
) -> tuple[list[Any], PageInfo]:
    """Return a page's edges (its records batched together) and its PageInfo."""
    edges = [edge(cursor=cursor(r), node=r) for r in attach(page.items)]
    info = PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return edges, info


def _connection(api: Any, page: pages.Page, queryset: Any, cursor: Any) -> Any:
    edges, info = edges_and_info(page, api.edge, cursor)
    return api.connection(edges=edges, page_info=info, queryset=queryset)


def timeline_cursor(record: Any) -> str:
    return inputs.encode_cursor("t", record.history_date, record.history_id)


def timeline(
    api: Any,
    info: Info,
    raw_id: Any,
    window: Sequence[Any],
    since: datetime | None,
    until: datetime | None,
    types: Any,
) -> Any:
    require_view(info, api.model)
    pk = inputs.object_pk(api.options, raw_id)
    first, after, last, before = window
    page_window = inputs.window(
        first,
        inputs.timeline_key(inputs.decode_cursor(after, "t")),
        last,
        inputs.timeline_key(inputs.decode_cursor(before, "t")),
    )
    queryset = filtered(
        get_history_for_model(api.model).for_object(pk), since, until, types
    )
    page = pages.timeline(queryset, page_window)
    return _connection(api, page, queryset, timeline_cursor)


def as_of(api: Any, info: Info, raw_id: Any, timestamp: datetime) -> Any:
    require_view(info, api.model)
    pk = inputs.object_pk(api.options, raw_id)
    ts = inputs.instant(timestamp)
    try:
        return get_history_for_model(api.model).for_object(pk).record_as_of(ts)
    except api.model.DoesNotExist:
        return None


def all_as_of(api: Any, info: Info, timestamp: datetime, window: Sequence[Any]) -> Any:
    require_view(info, api.model)
    ts = inputs.instant(timestamp)
    first, after, last, before = window
    after_key = inputs.decode_cursor(after, "o")
    before_key = inputs.decode_cursor(before, "o")
    page_window = inputs.window(
        first,
        inputs.object_pk(api.options, after_key[0]) if after_key else None,
        last,
        inputs.object_pk(api.options, before_key[0]) if before_key else None,
    )
    pk = api.options.pk_attname
    queryset = get_history_for_model(api.model).records_as_of(ts)
    page = pages.by_object(queryset, pk, page_window)
    return _connection(
        api, page, queryset, lambda r: inputs.encode_cursor("o", r.object_id)
    )


def _version(api: Any, pk: Any, ref: Any) -> Any:
    """Return the record a ``VersionRef`` names for object ``pk``, or raise NotFound."""
    history = get_history_for_model(api.model).for_object(pk)
    label = api.options.label
    if not _by_timestamp(ref):
        hid = inputs.history_id(ref.history_id)
        record = history.filter(history_id=hid).first()
        if record is None:
            raise NotFound(f"{label} {pk} has no version {hid}.")
        return record
    ts = inputs.instant(ref.timestamp)
    assert ts is not None  # a one-of input holds one of its fields
    record = history.filter(history_date__lte=ts).order_by(*NEWEST).first()
    if record is None:
        raise NotFound(f"{label} {pk} has no version at or before {ts.isoformat()}.")
    return record


NEWEST = ("-history_date", "-history_id")


def _by_timestamp(ref: Any) -> bool:
    """Whether a ``VersionRef`` names an instant (else a historyId, maybe empty)."""
    return ref.history_id in (None, strawberry.UNSET)


def diff(api: Any, info: Info, raw_id: Any, from_ref: Any, to_ref: Any) -> Any:
    require_view(info, api.model)
    pk = inputs.object_pk(api.options, raw_id)
    old = _version(api, pk, from_ref)
    if to_ref is None:
        new = get_history_for_model(api.model).for_object(pk).order_by(*NEWEST).first()
    else:
        new = _version(api, pk, to_ref)
    attach([old, new])
    delta = new.diff_against(old)
    return api.diff(from_=old, to=new, changes=api.field_changes(delta.changes))


def _failure(
    kind: Any, message: str, code: str, field: str | None = None
) -> OperationInfo:
    return OperationInfo(
        messages=[OperationMessage(kind=kind, message=message, code=code, field=field)]
    )


def revert(
    api: Any,
    info: Info,
    raw_id: Any,
    to_ref: Any,
    reason: str | None,
    expected: Any,
    fields: list[str] | None,
    dry_run: bool,
) -> Any:
    """Revert one object; every expected failure comes back as ``OperationInfo``.

    Authorization comes first, before any input is read or row looked up: a caller
    without the right gets the same answer whether the object exists or not. A dry
    run goes through the same steps (``revert(dry_run=True)`` rehearses the write),
    so it refuses with the same code and message as the revert would.
    """
    user = info.context.request.user
    label = api.options.label
    if not user.is_authenticated:
        return _failure(Kind.PERMISSION, "Log in to revert.", "UNAUTHENTICATED")
    missing = missing_revert_perms(user, api.model, restoring=False)
    if missing:
        return _failure(
            Kind.PERMISSION,
            f"Reverting {label} needs {', '.join(missing)}.",
            "FORBIDDEN",
        )
    problem = reason_problem(reason)
    if problem is not None:
        return _failure(Kind.VALIDATION, problem, "BAD_USER_INPUT", "reason")
    try:
        model_fields = api.model_field_names(fields)
    except BadInput as error:
        return _failure(Kind.VALIDATION, error.message, "BAD_USER_INPUT", "fields")
    try:
        pk = inputs.object_pk(api.options, raw_id)
        expected_id = inputs.history_id(expected) if expected is not None else None
        record = _version(api, pk, to_ref)
        if _by_timestamp(to_ref) and record.history_type == "-":
            raise NotFound(
                f"{label} {pk} had been deleted at {record.history_date.isoformat()}: "
                "there is no version at that instant to revert to."
            )
    except NotFound as error:
        return _failure(Kind.ERROR, error.message, "NOT_FOUND")
    except BadInput as error:
        return _failure(Kind.VALIDATION, error.message, "BAD_USER_INPUT")
    restoring = not api.model._default_manager.filter(pk=pk).exists()
    missing = missing_revert_perms(user, api.model, restoring)
    if missing:  # the caller may read this history: saying it is deleted is fine
        return _failure(
            Kind.PERMISSION,
            f"Restoring a deleted {label} needs {', '.join(missing)}.",
            "FORBIDDEN",
        )
    try:
        result = record.revert(
            user=user,
            reason=reason,
            expected_latest=expected_id,
            fields=model_fields,
            dry_run=dry_run,
        )
    except RevertConflict as error:
        return _failure(Kind.ERROR, str(error), "CONFLICT", "expectedHistoryId")
    except RevertRetry as error:
        return _failure(Kind.ERROR, str(error), "RETRY")
    except RelatedObjectGone as error:
        name = api.graphql_names.get(error.field, error.field)
        return _failure(Kind.VALIDATION, error.describe(name), "INVALID", name)
    except RevertError as error:
        return _failure(Kind.VALIDATION, str(error), "INVALID")
    if result.record is not None:
        attach([result.record])
    return api.payload(
        **{api.singular: result.instance},
        version=result.record,
        changes=api.field_changes(result.changes),
        dry_run=dry_run,
        restored=result.restored,
    )
