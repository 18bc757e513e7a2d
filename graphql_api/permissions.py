"""Who may read and revert history: Django model permissions, secure by default.

* reading a model's history needs its ``view`` permission;
* reverting needs ``change``, and restoring a deleted object also ``add``;
* anonymous callers are refused with ``UNAUTHENTICATED``, never given data.
"""

from __future__ import annotations

from typing import Any

from strawberry.types import Info

from .errors import Forbidden, Unauthenticated


def current_user(info: Info) -> Any:
    """Return the request's user (possibly anonymous)."""
    return info.context.request.user


def require_user(info: Info) -> Any:
    """Return the authenticated user, or raise ``UNAUTHENTICATED``."""
    user = current_user(info)
    if not user.is_authenticated:
        raise Unauthenticated("Log in to read history (mutation login).")
    return user


def has_perm(user: Any, action: str, model: Any) -> bool:
    """Return whether ``user`` holds ``<app>.<action>_<model>``."""
    opts = model._meta
    return bool(
        user.is_active and user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")
    )


def require_view(info: Info, model: Any) -> Any:
    """Raise unless the caller may read ``model``'s history; return the user."""
    user = require_user(info)
    if not has_perm(user, "view", model):
        raise Forbidden(
            f"You need the {model._meta.app_label}.view_{model._meta.model_name} "
            f"permission to read the history of {model._meta.label}."
        )
    return user


def missing_revert_perms(user: Any, model: Any, restoring: bool) -> list[str]:
    """Return the permissions the user lacks to revert ``model`` (empty if none)."""
    if not user.is_authenticated:
        return ["authenticated user"]
    # Reverting shows the version's content: reading the history is needed too.
    needed = ["view", "change", "add"] if restoring else ["view", "change"]
    opts = model._meta
    return [
        f"{opts.app_label}.{action}_{opts.model_name}"
        for action in needed
        if not has_perm(user, action, model)
    ]
