"""The GraphQL endpoint (GraphiQL on GET from a browser, the API on GET/POST), and the
version history page.

The view is built on first use, so the schema sees every model tracked by then.
It is exempt from the CSRF middleware and runs Django's CSRF check itself, for
mutations only (see :mod:`graphql_api.http`); it sets the csrftoken cookie GraphiQL
reads. Failures at the HTTP level are GraphQL JSON with a 4xx status.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from cross_web import HTTPException
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import GraphQLView
from strawberry.http.parse_content_type import parse_content_type

from . import http
from .jsonbody import loads
from .schema import MAX_TOKENS, get_schema

MAX_BODY_BYTES = 1024 * 1024


def max_body_bytes() -> int:
    """The largest request body accepted (``GRAPHQL_API["MAX_BODY_BYTES"]``)."""
    options = getattr(settings, "GRAPHQL_API", {})
    return int(options.get("MAX_BODY_BYTES", MAX_BODY_BYTES))


class ApiView(GraphQLView):
    """Strawberry's view, with JSON errors, bounded bodies and CSRF for mutations."""

    _decoded: tuple[str, object] | None = None

    def dispatch(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        """Serve ``request``; any HTTP-level failure is a GraphQL error response."""
        get_token(request)  # as ensure_csrf_cookie: the csrftoken cookie is set
        try:
            return self._refusal(request) or self.run(request=request)
        except HTTPException as error:
            return http.error_response(error.status_code, error.reason)

    def _refusal(self, request: HttpRequest) -> HttpResponseBase | None:
        if request.method not in ("GET", "POST"):
            raise HTTPException(405, "GraphQL only supports GET and POST requests.")
        if request.method == "GET":
            _check_size(len(request.META.get("QUERY_STRING", "")))
            if http.is_mutation(request.GET.dict(), MAX_TOKENS):
                raise HTTPException(405, "Mutations need POST.")
            return None
        payload = self._json_body(request)
        if payload is None:  # not JSON: refused by Strawberry, unless it takes uploads
            return (
                http.csrf_refusal(request) if self.multipart_uploads_enabled else None
            )
        if http.is_mutation(payload, MAX_TOKENS):
            return http.csrf_refusal(request)
        return None

    def _json_body(self, request: HttpRequest) -> dict[str, Any] | None:
        """The POST body as a JSON object (None if it is not JSON, for Strawberry)."""
        length = request.META.get("CONTENT_LENGTH") or ""
        if length.isdigit():  # otherwise the length read is checked below
            _check_size(int(length))
        content_type, _ = parse_content_type(request.content_type or "")
        if "application/json" not in content_type:
            return None  # Strawberry refuses it, unread
        body = _body(request)
        try:
            text = body.decode()
        except UnicodeDecodeError as error:
            raise HTTPException(400, "The request body is not UTF-8.") from error
        payload = loads(text)
        if not isinstance(payload, dict):
            raise HTTPException(
                400,
                "The request body must be a JSON object "
                '({"query": ..., "variables": ..., "operationName": ...}).',
            )
        self._decoded = (text, payload)
        return payload

    def decode_json(self, data: str | bytes) -> object:
        """Strawberry's JSON parsing: bounded, and the body is parsed only once."""
        if self._decoded is not None and data == self._decoded[0]:
            return self._decoded[1]
        return loads(data, "variables or extensions parameter")


def _body(request: HttpRequest) -> bytes:
    try:
        body = request.body
    except RequestDataTooBig as error:
        raise HTTPException(413, "The request body is too large.") from error
    _check_size(len(body))
    return body


def _check_size(size: int) -> None:
    limit = max_body_bytes()
    if size > limit:
        raise HTTPException(413, f"The request is larger than {limit} bytes.")


@functools.cache
def _view(graphiql: bool) -> Callable[..., HttpResponseBase]:
    return ApiView.as_view(
        schema=get_schema(), graphql_ide="graphiql" if graphiql else None
    )


@csrf_exempt
def graphql_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    """Serve the GraphQL API, and GraphiQL when ``GRAPHIQL_ENABLED`` (default: DEBUG).

    Every answer is ``Cache-Control: private``: it depends on the session (who asks,
    what they may read), and even an anonymous one sets the visitor's own CSRF
    cookie (and ``{ csrfToken }`` carries the token): a shared cache must keep none.
    """
    graphiql = bool(getattr(settings, "GRAPHIQL_ENABLED", settings.DEBUG))
    response = _view(graphiql)(request, *args, **kwargs)
    patch_cache_control(response, private=True)
    return response


# The page runs only its own static ES modules and talks only to this origin.
HISTORY_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
MAX_PAGE_ARGUMENT = 200


def history_page(request: HttpRequest, label: str, object_id: str) -> HttpResponse:
    """Serve the version history page of one object: an HTML shell, nothing else.

    Everything shown comes from the GraphQL API with the visitor's session (the page
    is its reference client): the view looks nothing up, so the page says nothing
    the API would not say about whether the model is tracked or the object exists.
    """
    bootstrap = {
        "label": label[:MAX_PAGE_ARGUMENT],
        "objectId": object_id[:MAX_PAGE_ARGUMENT],
        "endpoint": reverse("graphql"),
    }
    response = render(request, "graphql_api/history.html", {"bootstrap": bootstrap})
    response["Content-Security-Policy"] = HISTORY_PAGE_CSP
    response["Referrer-Policy"] = "same-origin"
    if request.user.is_authenticated:  # a signed-in visit stays out of shared caches
        patch_cache_control(response, private=True)
    return response
