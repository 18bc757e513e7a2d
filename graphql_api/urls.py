"""URLs of the GraphQL API: ``/graphql/`` (API and GraphiQL)."""

from django.urls import path

from .views import graphql_view

urlpatterns = [
    path("graphql/", graphql_view, name="graphql"),
]
