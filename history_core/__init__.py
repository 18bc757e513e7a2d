"""history_core: every state of every tracked row, with who, when, why and how.

Public API::

    from history_core import HistoricalRecords, register, context

    class Product(models.Model):
        ...
        history = HistoricalRecords()
"""

__version__ = "0.1.0"

from .context import context
from .diff import ModelChange, ModelDelta
from .exceptions import (
    AlreadyRegistered,
    HistoryError,
    ImmutableHistoryError,
    NaiveTimestampError,
    NotRegistered,
    RelatedObjectGone,
    RevertConflict,
    RevertError,
    RevertRetry,
    UncapturableOperation,
)
from .registry import (
    HistoricalRecords,
    get_history_for_model,
    get_options,
    get_registered_models,
    is_registered,
    register,
    unregister,
)

__all__ = [
    "AlreadyRegistered",
    "HistoricalRecords",
    "HistoryError",
    "ImmutableHistoryError",
    "ModelChange",
    "ModelDelta",
    "NaiveTimestampError",
    "NotRegistered",
    "RelatedObjectGone",
    "RevertConflict",
    "RevertError",
    "RevertRetry",
    "UncapturableOperation",
    "context",
    "get_history_for_model",
    "get_options",
    "get_registered_models",
    "is_registered",
    "register",
    "unregister",
]
