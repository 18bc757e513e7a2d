"""Who may read what on the admin's history pages: one rule, shared by every page.

Reading a model's history needs its ``view`` permission (an active user), as in the
GraphQL API; a model whose admin has the history pages decides through its
``has_history_permission``. The same rule decides whether a page names the object
a foreign key points at, or shows only its key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.admin.exceptions import NotRegistered as AdminNotRegistered
from django.contrib.auth import get_permission_codename
from django.db import models
from django.http import HttpRequest

MayName = Callable[[type[models.Model]], bool]


def has_model_perm(request: HttpRequest, action: str, model: Any) -> bool:
    """Whether the request's user holds the model's ``action`` permission."""
    opts = model._meta
    user: Any = request.user
    codename = get_permission_codename(action, opts)
    return bool(user.is_active and user.has_perm(f"{opts.app_label}.{codename}"))


def may_read_history(site: Any, request: HttpRequest, model: Any) -> bool:
    """Whether the user may read ``model``'s history (an untracked one: its objects).

    As the model's history pages on ``site`` decide (``has_history_permission``)
    when it has them; else the model's ``view`` permission, the GraphQL API's rule.
    """
    try:
        model_admin = site.get_model_admin(model)
    except AdminNotRegistered:
        model_admin = None
    decide = getattr(model_admin, "has_history_permission", None)
    if decide is not None:  # a HistoryAdminMixin (not imported here: it imports us)
        return bool(decide(request))
    return has_model_perm(request, "view", model)


def namer(site: Any, request: HttpRequest) -> MayName:
    """Whether the page may name objects of a model (:func:`may_read_history`),
    decided once per model for this request."""
    decided: dict[Any, bool] = {}

    def may_name(model: Any) -> bool:
        if model not in decided:
            decided[model] = may_read_history(site, request, model)
        return decided[model]

    return may_name
