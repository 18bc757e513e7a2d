"""HTTP-level failures as GraphQL JSON, and the CSRF rule of the endpoint.

Every failure before GraphQL execution (bad method, malformed or oversized body,
CSRF) is answered as ``{"errors": [{"message": ..., "extensions": {"code": ...}}]}``
with a 4xx status, the shape GraphQL clients already read.

CSRF: queries need no token (they change nothing; cross-origin reads are governed by
CORS). Mutations, ``login`` included (no login CSRF), need Django's CSRF check.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.log import log_response
from django.views import csrf as django_csrf
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from graphql.utilities import get_operation_ast

logger = logging.getLogger("django.security.csrf")

CODES = {
    400: "BAD_REQUEST",
    403: "CSRF_FAILED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "BAD_REQUEST",
}
CACHED_CHARS = 20_000  # larger documents are parsed every time, not kept in memory
CSRF_MESSAGE = (
    "Mutations need a CSRF token: read it with the query {{ csrfToken }} (which also "
    "sets the csrftoken cookie) and send it in the X-CSRFToken header. ({reason})"
)


def error_response(status: int, message: str, code: str | None = None) -> HttpResponse:
    """A GraphQL error response: one error with ``extensions.code``, no data.

    Args:
        status: the HTTP status.
        message: what went wrong, for the client.
        code: ``extensions.code``; default: the one for ``status``.
    """
    error = {"message": message, "extensions": {"code": code or CODES[status]}}
    response = JsonResponse({"errors": [error]}, status=status)
    if status == 405:
        response["Allow"] = "GET, POST"
    return response


def csrf_failed(reason: str) -> HttpResponse:
    """The 403 answer to a mutation that failed Django's CSRF check."""
    return error_response(403, CSRF_MESSAGE.format(reason=reason), "CSRF_FAILED")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: JSON on the GraphQL endpoint, Django's page elsewhere."""
    match = getattr(request, "resolver_match", None)
    if (match and match.url_name == "graphql") or request.path.startswith("/graphql/"):
        return csrf_failed(reason)
    return django_csrf.csrf_failure(request, reason=reason)


class _CsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check, run by hand; a refusal is the API's JSON (as in DRF)."""

    def _reject(self, request: HttpRequest, reason: str) -> HttpResponse:
        response = csrf_failed(reason)
        log_response(
            "Forbidden (%s): %s",
            reason,
            request.path,
            response=response,
            request=request,
            logger=logger,
        )
        return response


def _no_response(request: HttpRequest) -> HttpResponse:  # pragma: no cover
    raise AssertionError("the CSRF check never calls the next handler")


def csrf_refusal(request: HttpRequest) -> HttpResponse | None:
    """Run Django's CSRF check on ``request``: the 403 response, or None if it passes."""
    check = _CsrfCheck(_no_response)
    check.process_request(request)
    return check.process_view(request, None, (), {})  # type: ignore[arg-type]


def is_mutation(payload: dict[str, Any], max_tokens: int) -> bool:
    """Whether the request would run a mutation (then it needs the CSRF check).

    The document is parsed as the schema parses it (same token limit). When no single
    operation can be chosen (several, no or an unknown ``operationName``), any
    mutation in the document counts. A document that does not parse is no mutation:
    the schema refuses it with its own error.
    """
    query, name = payload.get("query"), payload.get("operationName")
    if not isinstance(query, str) or "mutation" not in query:
        return False  # a mutation operation starts with that keyword: no parsing
    name = name if isinstance(name, str) else None
    if len(query) + len(name or "") > CACHED_CHARS:
        return _has_mutation.__wrapped__(query, name, max_tokens)
    return _has_mutation(query, name, max_tokens)


@functools.lru_cache(maxsize=256)
def _has_mutation(query: str, name: str | None, max_tokens: int) -> bool:
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return False
    chosen = get_operation_ast(document, name)
    operations = (
        [chosen]
        if chosen
        else [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    )
    return any(op.operation == OperationType.MUTATION for op in operations)
