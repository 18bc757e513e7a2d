"""Who, why and how: the context attached to every recorded change.

The context is a ``ContextVar``, so it is correct across threads, async tasks and
background jobs: each thread and each task sees the frames its own code entered.
Frames nest; inner values win, and ``meta`` dictionaries are merged.

Example::

    with history_core.context(user=request.user, reason="price review", ticket="T-1"):
        product.save()

    @history_core.context(reason="nightly import")
    def run_import(): ...
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import compat

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Frame:
    """One level of context. ``user`` may be a callable resolved when recording."""

    user: Any = None
    reason: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


_frames: ContextVar[tuple[Frame, ...]] = ContextVar("history_core_frames", default=())

# The user, reason and meta of one instance's save (``instance._history_user``,
# ``_change_reason``, ``before_version`` receivers), set by ``pre_save`` and ended by
# ``post_save``; they win over the frames. Each entry is tied to the depth of
# Django's ``save_base`` calls on the stack when it was set: it applies only to the
# statements of that save, and a save that fails (no ``post_save``) leaves nothing
# behind, since once its ``save_base`` has returned no statement can see its entry.
# A ``context`` block starts with none and restores the ones outside when it ends.
_instances: ContextVar[tuple[tuple[int, dict[str, Any]], ...]] = ContextVar(
    "history_core_instance_context", default=()
)


def push_instance(values: dict[str, Any] | None) -> None:
    """``pre_save``: the values of the save starting now (None: it has none)."""
    entries = _instances.get()
    if not entries and not values:
        return
    depth = compat.save_depth()
    kept = tuple(e for e in entries if e[0] < depth)  # older ones are stale
    _instances.set((*kept, (depth, values)) if values else kept)


def pop_instance() -> None:
    """``post_save``: the save at the current depth has ended."""
    entries = _instances.get()
    if entries:
        depth = compat.save_depth()
        _instances.set(tuple(e for e in entries if e[0] < depth))


def instance_values() -> dict[str, Any] | None:
    """The values of the save whose statement runs now, if it has any."""
    entries = _instances.get()
    if not entries:
        return None
    depth = compat.save_depth()
    live = tuple(e for e in entries if e[0] <= depth)
    if live != entries:
        _instances.set(live)
    if live and live[-1][0] == depth:
        return live[-1][1]
    return None


def is_active() -> bool:
    """Whether any context applies now: a ``context`` block, or a save's own values.

    Cheap (two ``ContextVar`` reads): every write statement asks it first.
    """
    return bool(_frames.get() or _instances.get())


def _enter(frame: Frame) -> tuple[Token[tuple[Frame, ...]], Token[Any]]:
    return _frames.set((*_frames.get(), frame)), _instances.set(())


def _exit(tokens: tuple[Token[tuple[Frame, ...]], Token[Any]]) -> None:
    frames, instance = tokens
    _instances.reset(instance)
    _frames.reset(frames)


@dataclass(frozen=True)
class Resolved:
    """The effective context at one instant."""

    user: Any
    reason: str | None
    meta: dict[str, Any]


def current() -> Resolved:
    """Return the merged context of every active frame (innermost wins)."""
    user: Any = None
    reason: str | None = None
    meta: dict[str, Any] = {}
    for frame in _frames.get():
        if frame.user is not None:
            user = frame.user
        if frame.reason is not None:
            reason = frame.reason
        meta.update(frame.meta)
    if callable(user):
        user = user()
    if user is not None and not getattr(user, "is_authenticated", True):
        user = None
    return Resolved(user=user, reason=reason, meta=meta)


class context:  # noqa: N801 - used like a function: ``with history_core.context(...)``
    """Attach a user, a reason and metadata to every change made inside.

    Usable as a ``with`` block (sync or ``async with``) and as a decorator of sync
    and async functions.

    Args:
        user: the acting user, or a callable returning it (resolved per change).
        reason: why the change is made; stored as ``history_change_reason``.
        **meta: JSON-serialisable facts stored in ``history_context``.
    """

    def __init__(self, user: Any = None, reason: str | None = None, **meta: Any):
        self.frame = Frame(user=user, reason=reason, meta=meta)
        self._tokens: list[tuple[Token[tuple[Frame, ...]], Token[Any]]] = []

    def __enter__(self) -> context:
        self._tokens.append(_enter(self.frame))
        return self

    def __exit__(self, *exc: object) -> None:
        _exit(self._tokens.pop())

    async def __aenter__(self) -> context:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)

    def __call__(self, func: F) -> F:
        frame = self.frame
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                tokens = _enter(frame)
                try:
                    return await func(*args, **kwargs)
                finally:
                    _exit(tokens)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            tokens = _enter(frame)
            try:
                return func(*args, **kwargs)
            finally:
                _exit(tokens)

        return wrapper  # type: ignore[return-value]
