"""URLs of the GraphQL API."""

from django.urls import path

urlpatterns: list = []
