"""System checks of the GraphQL API's setup."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.utils.module_loading import import_string

from .throttle import LoginThrottleMixin


@register(Tags.security)
def check_login_throttle(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Warn when no authentication backend throttles failed logins."""
    backends = [import_string(path) for path in settings.AUTHENTICATION_BACKENDS]
    if any(issubclass(backend, LoginThrottleMixin) for backend in backends):
        return []
    return [
        Warning(
            "No authentication backend throttles failed logins: login and the admin "
            "accept unlimited password guesses.",
            hint='Use "graphql_api.throttle.ThrottledModelBackend" in '
            "AUTHENTICATION_BACKENDS (or put LoginThrottleMixin before your backend).",
            id="graphql_api.W001",
        )
    ]
