"""URLs of the GraphQL API."""

urlpatterns: list = []
