"""Signal receivers: the instance's own who and why, and our public signals.

The triggers write every version; these receivers only carry what belongs to one
instance (``instance._history_user``, ``instance._change_reason``, and what
``before_version`` receivers add) to the statements of its save, and send
``after_version``. ``pre_save`` / ``post_save`` are connected for every sender (a
save of a multi-table child or a proxy writes rows of tracked models too). No
delete receiver is connected: Django deletes models that have none with its fast
path, and a tracked model must delete exactly as an untracked one; ``post_init``
and ``post_save`` remember the primary key, so ``obj.history`` still answers after
``obj.delete()`` (which clears it).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from .context import pop_instance, push_instance
from .options import live_options, tracked_parents
from .signals import after_version, before_version

_LATEST = "_history_latest_before"


def tracked(sender: Any) -> Any:
    """The tracking options of ``sender`` or of its first tracked parent, or None."""
    options = live_options(sender)
    if options is None:
        parents = tracked_parents(sender)
        return parents[0] if parents else None
    return options


def _latest_id(options: Any, instance: models.Model, using: str) -> int:
    manager = options.historical_model._default_manager.db_manager(using)
    found = (
        manager.filter(**{options.pk_attname: instance.pk})
        .order_by("-history_id")
        .values_list("history_id", flat=True)
        .first()
    )
    return int(found or 0)


def before_write(sender: Any, instance: models.Model, **kwargs: Any) -> None:
    """``pre_save``: set the instance's context for the statements of its save.

    Untracked senders (with no tracked parent) are left alone entirely. The values
    apply to this save's statements only (see ``context.push_instance``).
    """
    options = tracked(sender)
    if options is None:
        return
    state = instance.__dict__
    user = state.pop("_history_user", None)
    reason = state.pop("_change_reason", None)
    context: dict[str, Any] = {"user": user, "reason": reason, "meta": {}}
    if before_version.has_listeners(sender):
        before_version.send(sender=sender, instance=instance, context=context)
    has_values = context["user"] or context["reason"] or context["meta"]
    push_instance(context if has_values else None)
    if after_version.has_listeners(sender) and instance.pk is not None:
        using = kwargs.get("using") or "default"
        state[_LATEST] = _latest_id(options, instance, using)


def after_write(sender: Any, instance: models.Model, **kwargs: Any) -> None:
    """``post_save``: end the instance's context; send ``after_version``."""
    options = tracked(sender)
    if options is None:
        return
    pop_instance()
    remember_pk(sender, instance)
    if not after_version.has_listeners(sender):
        return
    using = kwargs.get("using") or "default"
    since = instance.__dict__.pop(_LATEST, 0)
    manager = options.historical_model._default_manager.db_manager(using)
    versions = list(
        manager.filter(
            **{options.pk_attname: instance.pk}, history_id__gt=since
        ).order_by("history_date", "history_id")
    )
    after_version.send(sender=sender, instance=instance, versions=versions)


def remember_pk(sender: Any, instance: models.Model, **kwargs: Any) -> None:
    """``post_init`` / ``post_save``: keep the pk that ``delete()`` will clear."""
    if instance.pk is not None:
        instance.__dict__["_history_pk"] = instance.pk
