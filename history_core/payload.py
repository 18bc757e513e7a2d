"""The context of one write, as the triggers read it: built, made storable, encoded.

Nothing in a context is a reason to refuse the host application's write, and
nothing an anonymous request sends (a path with ``%00``, a header) can break one.
Every value is stored as given where JSON, PostgreSQL's ``jsonb`` and SQLite's
JSON functions can all hold it, and replaced where they cannot:

* the NUL character and lone surrogates (``"\\ud800"``), in values and in keys,
  become U+FFFD (the replacement character);
* ``NaN``, ``Infinity`` and ``-Infinity`` become the strings ``"NaN"``,
  ``"Infinity"`` and ``"-Infinity"``;
* integers outside the 64-bit range become their decimal strings (SQLite would
  otherwise round them to floating point; past Python's ``int_max_str_digits``,
  hexadecimal);
* keys that are not strings become strings: ``1`` → ``"1"``, ``True`` →
  ``"true"``, ``None`` → ``"null"`` (as :func:`json.dumps` does), anything else
  its ``str()``; where two keys become equal, the later one wins;
* tuples and sets become lists (sets sorted where their items can be); dates,
  decimals, UUIDs and lazy strings are encoded as Django's ``DjangoJSONEncoder``
  does; any other object becomes its ``str()``;
* a string longer than :data:`MAX_STRING` characters is cut there and ends with
  ``"…"``; containers nested deeper than :data:`MAX_DEPTH` and containers that
  contain themselves become the string ``"…"``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from .conf import get_setting, get_settings
from .context import current, instance_values, is_active

MAX_STRING = 65_536
MAX_DEPTH = 64
ELLIPSIS = "\u2026"
_INT64 = (-(2**63), 2**63 - 1)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_DJANGO_ENCODER = DjangoJSONEncoder()
_FLOATS = {math.inf: "Infinity", -math.inf: "-Infinity"}


def storable_text(value: str) -> str:
    """``value`` with NUL and lone surrogates replaced, cut at :data:`MAX_STRING`."""
    if len(value) > MAX_STRING:
        value = value[: MAX_STRING - 1] + ELLIPSIS
    return _UNSTORABLE.sub("\ufffd", value)


def storable(value: Any, depth: int = 0, seen: frozenset[int] = frozenset()) -> Any:
    """Return ``value`` as JSON every supported database stores faithfully."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else _int_text(value)
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else _FLOATS.get(value, value)
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        if depth >= MAX_DEPTH or id(value) in seen:
            return ELLIPSIS
        inner = seen | {id(value)}
        if isinstance(value, Mapping):
            return {_key(k): storable(v, depth + 1, inner) for k, v in value.items()}
        return [storable(v, depth + 1, inner) for v in _ordered(value)]
    return storable_text(_scalar_text(value))


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than int max_str_digits allows
        return f"{value:x}"[:MAX_STRING] + " (hexadecimal)"


def _key(key: Any) -> str:
    if isinstance(key, str):
        return storable_text(key)
    if key is None or isinstance(key, bool | int | float):
        try:
            return storable_text(json.dumps(storable(key)).strip('"'))
        except ValueError:
            return ELLIPSIS
    return storable_text(_scalar_text(key))


def _ordered(items: Iterable[Any]) -> Iterable[Any]:
    if isinstance(items, set | frozenset):
        try:
            return sorted(items)
        except TypeError:
            return list(items)
    return items


def _scalar_text(value: Any) -> str:
    """What Django's JSON encoder writes for ``value``, or else its ``str()``."""
    try:
        encoded = _DJANGO_ENCODER.default(value)
    except Exception:  # noqa: BLE001 - not a type the encoder knows
        encoded = None
    if isinstance(encoded, str):
        return encoded
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a broken __str__ must not fail the write
        return f"<{type(value).__qualname__}>"


def may_send() -> bool:
    """Whether a write made now may have a context to send (False: it has none).

    Without a ``context`` block, a save's own values, ``RECORD_NOOP_SAVES`` or the
    ``python`` clock, :func:`build` would return nothing: the answer costs two
    ``ContextVar`` reads and one settings lookup, and builds nothing.
    """
    if is_active():
        return True
    current_settings = get_settings()
    return bool(current_settings["RECORD_NOOP_SAVES"]) or (
        current_settings["CLOCK"] == "python"
    )


def build(connection: Any, *, with_now: bool) -> dict[str, Any]:
    """Return the context of a write made now (empty: nothing to send).

    Keys: ``user`` (primary key), ``reason``, ``meta`` (``history_context``),
    ``noop`` (the ``RECORD_NOOP_SAVES`` setting, when on) and ``now`` (on SQLite,
    or with the ``CLOCK`` setting ``"python"``).
    """
    ctx = current()
    user, reason, meta = ctx.user, ctx.reason, ctx.meta
    override = instance_values()
    if override is not None:
        user = override.get("user") or user
        reason = override.get("reason") or reason
        meta = {**meta, **override.get("meta", {})}
    values: dict[str, Any] = {}
    if user is not None and getattr(user, "pk", None) is not None:
        values["user"] = _user_key(user, connection)
    if reason is not None:
        values["reason"] = storable_text(_scalar_text(reason))
    if meta:
        values["meta"] = storable(meta)
    if get_setting("RECORD_NOOP_SAVES"):
        values["noop"] = True
    if with_now or get_setting("CLOCK") == "python":
        values["now"] = timezone.now()
    return values


def _user_key(user: Any, connection: Any) -> Any:
    value = user._meta.pk.get_db_prep_value(user.pk, connection)
    return value if isinstance(value, int) else storable_text(str(value))


def encode(values: dict[str, Any], connection: Any) -> str:
    """Return ``values`` as the JSON text the triggers parse."""
    if "now" in values:
        now = values["now"]
        values = {
            **values,
            "now": connection.ops.adapt_datetimefield_value(now)
            if connection.vendor == "sqlite"
            else now.isoformat(),
        }
    return json.dumps(values, separators=(",", ":"), allow_nan=False)
