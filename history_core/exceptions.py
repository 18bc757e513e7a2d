"""Exceptions raised by history_core. Each message names the model and the fix."""

from __future__ import annotations

from typing import Any


class HistoryError(Exception):
    """Base class of every history_core error."""


class AlreadyRegistered(HistoryError):
    """A model was registered for history twice."""


class NotRegistered(HistoryError):
    """A model that is not tracked was used as if it were."""


class NaiveTimestampError(HistoryError, ValueError):
    """A timestamp without a time zone was given where an instant is needed."""


class RevertError(HistoryError):
    """A revert could not be applied; nothing was written."""


class RelatedObjectGone(RevertError):
    """A reverted foreign key would point at an object that no longer exists.

    Attributes:
        label: the reverted model's label (``catalog.Product``).
        object_id: the reverted object's primary key.
        field: the foreign key's model field name (``category``).
        related_label: the related model's label (``catalog.Category``).
        value: the key the version holds.
    """

    def __init__(
        self, label: str, object_id: Any, field: str, related_label: str, value: Any
    ) -> None:
        self.label, self.object_id, self.field = label, object_id, field
        self.related_label, self.value = related_label, value
        super().__init__(self.describe(field))

    def describe(self, field_name: str) -> str:
        """The message, naming the field ``field_name`` (an API's own name for it)."""
        return (
            f"Cannot revert {self.label} {self.object_id}: its {field_name} would "
            f"point at {self.related_label} {self.value}, which no longer exists; "
            "restore that object first or revert without this field."
        )


class RevertConflict(RevertError):
    """The object has a newer version than the caller expected."""


class ImmutableHistoryError(HistoryError):
    """Historical records are never modified or deleted one by one."""


class UncapturableOperation(HistoryError):
    """An ORM operation whose effect history_core cannot capture exactly.

    No longer raised since capture moved into the database triggers (every write
    is captured); kept so code that catches it still imports.
    """


class RevertRetry(RevertError):
    """The revert met a deadlock, a lock or statement timeout, or a serialization
    failure: nothing was written, and trying again may succeed."""
