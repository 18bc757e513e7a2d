"""Request middleware: every change made while serving a request records who and how."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from .conf import get_setting
from .context import context


def _request_context(request: HttpRequest) -> context:
    header = get_setting("CORRELATION_HEADER")
    correlation_id = request.headers.get(header) or uuid.uuid4().hex
    request.history_correlation_id = correlation_id  # type: ignore[attr-defined]

    def user() -> Any:
        # Resolved per change: a login during the request is seen by later changes.
        candidate = getattr(request, "user", None)
        return candidate if getattr(candidate, "is_authenticated", False) else None

    return context(
        user=user,
        request={
            "method": request.method,
            "path": request.path,
            "remote_addr": request.META.get("REMOTE_ADDR"),
        },
        correlation_id=correlation_id[:200],
    )


class HistoryContextMiddleware:
    """Attach the request's user, method, path, address and correlation id.

    Place it after ``AuthenticationMiddleware``. Works under WSGI and ASGI.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self.__acall__(request)
        with _request_context(request):
            return self.get_response(request)  # type: ignore[no-any-return]

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        with _request_context(request):
            return await self.get_response(request)  # type: ignore[no-any-return]
