"""Settings of history_core: one typed dict of defaults, merged at call time.

Projects override any key in ``settings.HISTORY_CORE``::

    HISTORY_CORE = {"RECORD_NOOP_SAVES": True}
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.conf import settings


class HistorySettings(TypedDict):
    """Every setting of history_core, with its meaning.

    RECORD_NOOP_SAVES: record a version even when a save changes nothing.
    BULK_BATCH_SIZE: rows per INSERT when bulk operations write history.
    CORRELATION_HEADER: request header whose value becomes ``correlation_id``.
    CLOCK: where version dates come from. ``"database"`` (default): read by the
        trigger once the write holds its row locks, so dates follow the order of
        the writes. ``"python"``: ``django.utils.timezone.now()`` when the
        statement is sent, for tests that freeze time; no ordering guarantee
        under concurrency.
    """

    RECORD_NOOP_SAVES: bool
    BULK_BATCH_SIZE: int
    CORRELATION_HEADER: str
    CLOCK: str


DEFAULTS: HistorySettings = {
    "RECORD_NOOP_SAVES": False,
    "BULK_BATCH_SIZE": 2000,
    "CORRELATION_HEADER": "X-Request-ID",
    "CLOCK": "database",
}


def get_settings() -> HistorySettings:
    """Return every setting at once: the defaults with ``HISTORY_CORE`` over them.

    One read of ``settings.HISTORY_CORE`` (a lazy-settings lookup) for several
    values, where calling :func:`get_setting` for each would make one apiece.
    """
    overrides = getattr(settings, "HISTORY_CORE", None) or {}
    return {**DEFAULTS, **overrides}  # type: ignore[typeddict-item]


def get_setting(name: str) -> Any:
    """Return a setting: the project's ``HISTORY_CORE[name]`` or the default."""
    overrides = getattr(settings, "HISTORY_CORE", None) or {}
    if name in overrides:
        return overrides[name]
    return DEFAULTS[name]  # type: ignore[literal-required]
