"""The session and the schema-wide queries: login, logout, me, csrfToken, the feed,
and trackedModels."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from django.contrib import auth
from django.middleware.csrf import get_token
from strawberry.types import Info
from strawberry_django.fields.types import OperationInfo, OperationMessage

from history_core import get_history_for_model, pages

from . import inputs
from .errors import BadInput, Forbidden
from .permissions import has_perm, require_user
from .resolvers import edges_and_info, filtered
from .types import (
    HistoryType,
    HistoryUser,
    TrackedModel,
    VersionConnection,
    VersionEdge,
)

LoginResult = Annotated[HistoryUser | OperationInfo, strawberry.union("LoginResult")]


def _user_type(user: Any) -> HistoryUser:
    return HistoryUser(id=strawberry.ID(str(user.pk)), username=user.get_username())


def login(
    info: Info,
    username: Annotated[str, strawberry.argument(description="The username.")],
    password: Annotated[str, strawberry.argument(description="The password.")],
) -> LoginResult:
    """Start a cookie session (Django's session and CSRF cookies are set)."""
    request = info.context.request
    user = auth.authenticate(request, username=username, password=password)
    if user is None:
        message = OperationMessage(
            kind=OperationMessage.Kind.PERMISSION,
            message="Incorrect username or password.",
            code="INVALID_CREDENTIALS",
        )
        return OperationInfo(messages=[message])
    auth.login(request, user)
    get_token(request)  # login rotates the CSRF token: send the new cookie
    return _user_type(user)


def logout(info: Info) -> bool:
    """End the session; returns whether someone was logged in."""
    request = info.context.request
    was_authenticated = bool(request.user.is_authenticated)
    auth.logout(request)
    return was_authenticated


def me(info: Info) -> HistoryUser | None:
    """The logged-in user, or null."""
    user = info.context.request.user
    return _user_type(user) if user.is_authenticated else None


def csrf_token(info: Info) -> str:
    """A CSRF token for cookie sessions: send it back as the X-CSRFToken header."""
    return get_token(info.context.request)


def tracked_models(apis: dict[Any, Any], info: Info) -> list[TrackedModel]:
    user = require_user(info)
    return [
        TrackedModel(
            label=api.options.label,
            type_name=f"{api.type_name}Version",
            fields=api.field_names,
            history_field=f"{api.singular}History",
            can_revert=has_perm(user, "change", api.model),
        )
        for api in apis.values()
        if has_perm(user, "view", api.model)
    ]


def _feed_models(
    apis: dict[Any, Any], user: Any, labels: list[str] | None
) -> list[Any]:
    by_label = {api.options.label: api for api in apis.values()}
    if labels is None:
        return [api for api in by_label.values() if has_perm(user, "view", api.model)]
    unknown = sorted(set(labels) - set(by_label))
    if unknown:
        raise BadInput(
            f"Unknown models {', '.join(unknown)}; tracked: {', '.join(sorted(by_label))}."
        )
    chosen = [by_label[label] for label in dict.fromkeys(labels)]
    denied = [
        api.options.label for api in chosen if not has_perm(user, "view", api.model)
    ]
    if denied:
        raise Forbidden(f"You may not read the history of {', '.join(denied)}.")
    return chosen


def _feed_cursor(record: Any) -> str:
    label = record._history_options.label
    return inputs.encode_cursor("f", record.history_date, label, record.history_id)


def _feed_after(cursor: str | None) -> Any:
    parts = inputs.decode_cursor(cursor, "f")
    if parts is None:
        return None
    try:
        date, label, hid = parts
        return inputs.cursor_instant(date), str(label), int(hid)
    except (TypeError, ValueError):
        raise BadInput(
            "Malformed cursor: pass a cursor from this connection."
        ) from None


def history_feed(
    apis: dict[Any, Any],
    info: Info,
    first: int | None,
    after: str | None,
    models: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    types: list[HistoryType] | None,
    user_id: strawberry.ID | None,
) -> VersionConnection:
    user = require_user(info)
    chosen = _feed_models(apis, user, models)
    window = inputs.window(first, _feed_after(after), None, None)
    querysets = []
    for api in chosen:
        queryset = filtered(get_history_for_model(api.model), since, until, types)
        if user_id is not None:
            queryset = queryset.filter(history_user_id=inputs.user_id(user_id))
        querysets.append((api.options.label, queryset))
    page = pages.feed(querysets, window)
    edges, page_info = edges_and_info(page, VersionEdge, _feed_cursor)
    return VersionConnection(edges=edges, page_info=page_info)
