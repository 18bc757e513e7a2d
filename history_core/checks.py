"""System checks for setup mistakes, with stable ids (``history_core.E001``...)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

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
    return errors
