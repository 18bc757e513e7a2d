"""System checks for setup mistakes, with stable ids (``history_core.E001``...)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.db import models

from .registry import _registry

RESERVED = {
    "history_id",
    "history_date",
    "history_type",
    "history_user",
    "history_change_reason",
    "history_context",
    "history_changed_fields",
}
UNCAPTURED_ON_DELETE = {models.SET_NULL, models.SET_DEFAULT}


@checks.register()
def check_tracked_models(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Check every tracked model's configuration."""
    errors: list[checks.CheckMessage] = []
    if not settings.USE_TZ:
        errors.append(
            checks.Error(
                "history_core needs USE_TZ = True: history dates are timezone-aware instants.",
                hint="Set USE_TZ = True in your settings.",
                id="history_core.E001",
            )
        )
    for model, options in _registry.items():
        names = {f.name for f in model._meta.concrete_fields}
        for name in sorted(set(options.excluded_fields) - names):
            errors.append(
                checks.Error(
                    f"excluded_fields of {options.label} names '{name}', which is not a "
                    "concrete field of the model.",
                    hint=f"Remove '{name}' or fix its spelling; fields: {', '.join(sorted(names))}.",
                    obj=model,
                    id="history_core.E002",
                )
            )
        for name in sorted(names & RESERVED):
            errors.append(
                checks.Error(
                    f"{options.label}.{name} clashes with a history metadata column.",
                    hint="Rename the field: names starting with history_ are reserved.",
                    obj=model,
                    id="history_core.E003",
                )
            )
        if options.pk_attname in options.excluded_fields:
            errors.append(
                checks.Error(
                    f"{options.label}: the primary key cannot be excluded from history.",
                    hint="Remove the primary key from excluded_fields.",
                    obj=model,
                    id="history_core.E004",
                )
            )
        errors.extend(_check_on_delete(model, options))
    return errors


def _check_on_delete(model: Any, options: Any) -> list[checks.CheckMessage]:
    warnings: list[checks.CheckMessage] = []
    for field in options.fields:
        on_delete: Any = getattr(field.remote_field, "on_delete", None)
        if on_delete in UNCAPTURED_ON_DELETE or getattr(
            on_delete, "lazy_sub_objs", False
        ):
            warnings.append(
                checks.Warning(
                    f"{options.label}.{field.name} uses on_delete={on_delete.__name__}: Django "
                    "applies it with a raw UPDATE that no signal sees, so that change is not "
                    "recorded in history.",
                    hint="Use PROTECT or CASCADE, or record the change by saving the objects.",
                    obj=model,
                    id="history_core.W001",
                )
            )
    return warnings
