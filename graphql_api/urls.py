"""URLs of the GraphQL API: ``/graphql/`` (API and GraphiQL) and the version history
page, its reference client (``/history/<app_label.model>/<id>/``)."""

from django.urls import path

from .views import graphql_view, history_page

urlpatterns = [
    path("graphql/", graphql_view, name="graphql"),
    path("history/<str:label>/<str:object_id>/", history_page, name="history-page"),
]
