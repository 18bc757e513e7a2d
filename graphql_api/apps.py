"""The GraphQL API's app: registers its system checks."""

from __future__ import annotations

from django.apps import AppConfig


class GraphqlApiConfig(AppConfig):
    name = "graphql_api"
    verbose_name = "GraphQL API"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the checks
