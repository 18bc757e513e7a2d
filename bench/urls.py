"""The project's URLs plus the plain strawberry-django baseline at ``/bench-graphql/``."""

from django.urls import include, path
from strawberry.django.views import GraphQLView

from bench.benchapp.schema import schema

urlpatterns = [
    path("bench-graphql/", GraphQLView.as_view(schema=schema)),
    path("", include("config.urls")),
]
