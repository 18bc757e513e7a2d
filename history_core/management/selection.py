"""Choosing tracked models from ``--model app_label.Model`` command-line options."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import apps
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS

from ..options import TrackingOptions
from ..registry import get_options, get_registered_models, is_registered


def add_selection_arguments(parser: Any) -> None:
    """Add the ``--model`` and ``--database`` options both history commands take."""
    parser.add_argument(
        "--model",
        action="append",
        dest="models",
        metavar="APP_LABEL.MODEL",
        help="Only this tracked model (repeatable). Default: every tracked model.",
    )
    parser.add_argument(
        "--database", default=DEFAULT_DB_ALIAS, help="Database alias to use."
    )


def selected_options(labels: Sequence[str] | None) -> list[TrackingOptions]:
    """Return the tracking options of the models named by ``labels``.

    Args:
        labels: ``app_label.Model`` labels; empty or ``None`` selects every tracked
            model, in registration order.

    Raises:
        CommandError: a label names no model, or a model that is not tracked.
    """
    if not labels:
        return [get_options(model) for model in get_registered_models()]
    return [_options_for_label(label) for label in dict.fromkeys(labels)]


def _options_for_label(label: str) -> TrackingOptions:
    tracked = ", ".join(m._meta.label for m in get_registered_models())
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError) as error:
        raise CommandError(
            f"--model {label!r} names no installed model; use app_label.ModelName, "
            f"one of: {tracked}."
        ) from error
    if not is_registered(model):
        raise CommandError(
            f"--model {label!r}: {model._meta.label} is not tracked; tracked models "
            f"are: {tracked}."
        )
    return get_options(model)
