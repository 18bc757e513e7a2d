"""The GraphQL endpoint: GraphiQL on GET from a browser, the API on GET/POST.

The view is built on first use, so the schema sees every model tracked by then.
CSRF protection stays on for cookie sessions (POST needs the X-CSRFToken header);
the view sets the csrftoken cookie GraphiQL reads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.csrf import ensure_csrf_cookie
from strawberry.django.views import GraphQLView

from .schema import get_schema


@functools.cache
def _view(graphiql: bool) -> Callable[..., HttpResponseBase]:
    view = GraphQLView.as_view(
        schema=get_schema(), graphql_ide="graphiql" if graphiql else None
    )
    return ensure_csrf_cookie(view)


def graphql_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    """Serve the GraphQL API, and GraphiQL when ``GRAPHIQL_ENABLED`` (default: DEBUG)."""
    graphiql = bool(getattr(settings, "GRAPHIQL_ENABLED", settings.DEBUG))
    return _view(graphiql)(request, *args, **kwargs)
