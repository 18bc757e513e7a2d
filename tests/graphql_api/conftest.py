"""Fixtures for the GraphQL API: HTTP clients logged in with various permissions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from graphql_api.scans import forget_table_sizes

GRAPHQL = "/graphql/"


class GraphQLClient:
    """Posts GraphQL documents over HTTP with Django's test client."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __call__(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        response = self.client.post(
            GRAPHQL,
            json.dumps({"query": query, "variables": variables or {}}),
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        return response.json()  # type: ignore[no-any-return]

    def data(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run ``query`` and return its data, failing on any error."""
        result = self(query, variables)
        assert "errors" not in result, result["errors"]
        return result["data"]  # type: ignore[no-any-return]

    def error(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run ``query`` and return its first error, failing if there is none."""
        result = self(query, variables)
        assert result.get("errors"), result
        return result["errors"][0]  # type: ignore[no-any-return]


def _user(username: str, *codenames: str) -> Any:
    user = get_user_model().objects.create_user(username, password="pw-12345678")
    if codenames:
        user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture(autouse=True)
def _fresh_table_sizes() -> None:
    """The cost estimate caches table sizes per process: each test sees its own."""
    forget_table_sizes()


VIEW = ("view_product", "view_category")
EDIT = (*VIEW, "change_product", "change_category")
RESTORE = (*EDIT, "add_product", "add_category")


@pytest.fixture
def make_client(db: Any) -> Callable[..., GraphQLClient]:
    def make(*codenames: str, username: str | None = None) -> GraphQLClient:
        client = Client()
        if username is not None:
            client.force_login(_user(username, *codenames))
        return GraphQLClient(client)

    return make


@pytest.fixture
def anonymous(make_client: Any) -> GraphQLClient:
    return make_client()  # type: ignore[no-any-return]


@pytest.fixture
def viewer(make_client: Any) -> GraphQLClient:
    return make_client(*VIEW, username="viewer")  # type: ignore[no-any-return]


@pytest.fixture
def editor(make_client: Any) -> GraphQLClient:
    return make_client(*RESTORE, username="editor")  # type: ignore[no-any-return]


@pytest.fixture
def nobody(make_client: Any) -> GraphQLClient:
    return make_client(username="nobody")  # type: ignore[no-any-return]
