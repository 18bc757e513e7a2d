"""The session and the schema-wide queries: login, logout, me, csrfToken and the
feed (trackedModels: see :mod:`graphql_api.metadata`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from django.contrib import auth
from django.middleware.csrf import get_token
from graphql import FieldNode, GraphQLError, ValidationContext, ValidationRule
from strawberry.types import Info
from strawberry_django.fields.types import OperationInfo, OperationMessage

from history_core import get_history_for_model, pages

from . import inputs, throttle
from .errors import BadInput, Forbidden
from .permissions import has_perm, require_user
from .resolvers import edges_and_info, filtered
from .throttle import Throttled
from .types import (
    HistoryType,
    HistoryUser,
    VersionConnection,
    VersionEdge,
)


def _user_type(user: Any) -> HistoryUser:
    return HistoryUser(id=strawberry.ID(str(user.pk)), username=user.get_username())


@strawberry.type(description="A started session, and the CSRF token that goes with it.")
class LoginSuccess:
    user: HistoryUser = strawberry.field(description="The logged-in user.")
    csrf_token: str = strawberry.field(
        description="The new CSRF token (login rotates it): send it as X-CSRFToken."
    )


LoginResult = Annotated[LoginSuccess | OperationInfo, strawberry.union("LoginResult")]

INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
THROTTLED = "THROTTLED"


def _refused() -> OperationInfo:
    # One answer for an unknown user and a wrong password.
    message = OperationMessage(
        kind=OperationMessage.Kind.PERMISSION,
        message="Incorrect username or password.",
        code=INVALID_CREDENTIALS,
    )
    return OperationInfo(messages=[message])


def _throttled(info: Info, refusal: Throttled) -> OperationInfo:
    # Said before any password is checked: the same for every username.
    info.context.response["Retry-After"] = str(refusal.retry_after)
    message = OperationMessage(
        kind=OperationMessage.Kind.PERMISSION, message=str(refusal), code=THROTTLED
    )
    return OperationInfo(messages=[message])


def login(
    info: Info,
    username: Annotated[str, strawberry.argument(description="The username.")],
    password: Annotated[str, strawberry.argument(description="The password.")],
) -> LoginResult:
    """Start a cookie session (Django's session and CSRF cookies are set).

    Failed attempts slow down further ones from the same address (see the README):
    an attempt that comes too soon is ``THROTTLED``, with the seconds to wait in its
    message and the ``Retry-After`` header, whether the account exists or not. An
    unknown user and a wrong password both get ``INVALID_CREDENTIALS``, in about the
    same time. One ``login`` per request.
    """
    request = info.context.request
    user = auth.authenticate(request, username=username, password=password)
    if user is None:
        refusal = getattr(request, throttle.ATTRIBUTE, None)
        return _throttled(info, refusal) if refusal is not None else _refused()
    auth.login(request, user)
    return LoginSuccess(user=_user_type(user), csrf_token=get_token(request))


class OneLoginPerDocument(ValidationRule):
    """Refuse a document that calls ``login`` more than once (aliases included):
    one request is one password attempt."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.logins = 0

    def enter_field(self, node: FieldNode, *args: Any) -> None:
        parent = self.context.get_parent_type()
        if parent is None or parent.name != "Mutation" or node.name.value != "login":
            return
        self.logins += 1
        if self.logins == 2:
            self.report_error(
                GraphQLError(
                    "Only one login per request.",
                    node,
                    extensions={"code": "BAD_USER_INPUT"},
                )
            )


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
        return inputs.cursor_instant(date), str(label), inputs.history_id(hid)
    except (TypeError, ValueError, OverflowError, BadInput):
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
