"""Exceptions raised by history_core. Each message names the model and the fix."""

from __future__ import annotations


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
