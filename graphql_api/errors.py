"""Errors the API reports to clients, as GraphQL errors with a stable code."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class ApiError(GraphQLError):
    """An expected failure shown to the client, with ``extensions.code``."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})


class BadInput(ApiError):
    code = "BAD_USER_INPUT"


class NotFound(ApiError):
    code = "NOT_FOUND"


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


def should_mask(error: GraphQLError) -> bool:
    """Mask unexpected resolver errors only; validation and ApiError stay visible."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)
