"""Parsing client input: ids, timestamps, cursors and page windows.

Every malformed value becomes a ``BAD_USER_INPUT`` error that says what was wrong;
nothing here raises anything else.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from history_core.pages import Window
from history_core.queries import ensure_aware

from .errors import BadInput


def _pk_value(pk_field: Any, raw: Any, what: str) -> Any:
    try:
        value = pk_field.to_python(raw)
        if value is None or (isinstance(value, int) and not -(2**63) <= value < 2**63):
            raise ValidationError("out of range")
        if isinstance(value, str) and "\x00" in value:
            raise ValidationError("NUL character")
    except (ValidationError, ValueError, TypeError, OverflowError):
        raise BadInput(f"Malformed {what} id.") from None
    if isinstance(value, int) and not _INTEGER.fullmatch(str(raw)):
        raise BadInput(f"Malformed {what} id: digits only.")  # int("1_0") is 10
    return value


_INTEGER = re.compile(r"-?[0-9]{1,19}")
MAX_CURSOR = 512


def object_pk(options: Any, raw: Any) -> Any:
    """Convert a GraphQL ``ID`` into the tracked model's primary key value."""
    return _pk_value(options.model._meta.pk, raw, options.label)


def user_id(raw: Any) -> Any:
    """Convert a GraphQL ``ID`` into a user's primary key value."""
    return _pk_value(get_user_model()._meta.pk, raw, "user")


def history_id(raw: Any) -> int:
    """Convert a GraphQL ``ID`` into a ``history_id``."""
    text = str(raw)
    if not _INTEGER.fullmatch(text):
        raise BadInput("Malformed historyId: a positive integer, digits only.")
    value = int(text)
    if not 0 < value < 2**63:
        raise BadInput("historyId is out of range.")
    return value


def instant(value: datetime | None, name: str = "timestamp") -> datetime | None:
    """Return ``value`` if it carries a time zone; raise otherwise."""
    if value is None:
        return None
    if timezone.is_naive(value):
        raise BadInput(
            f"{name} {value.isoformat()} has no time zone: add one, e.g. "
            f"{value.isoformat()}Z or {value.isoformat()}+02:00."
        )
    return ensure_aware(value)  # clamps instants with no UTC form (year 1, 9999)


def encode_cursor(*parts: Any) -> str:
    """Return an opaque cursor for a sort key."""
    text = json.dumps([p.isoformat() if isinstance(p, datetime) else p for p in parts])
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str | None, kind: str) -> list[Any] | None:
    """Return the parts of a cursor made by :func:`encode_cursor` for ``kind``."""
    if cursor is None:
        return None
    malformed = BadInput("Malformed cursor: pass a cursor from this connection.")
    if len(cursor) > MAX_CURSOR:  # ours are short; never parse (or echo) a long one
        raise malformed
    try:
        parts = json.loads(
            base64.urlsafe_b64decode(cursor.encode()).decode(),
            parse_constant=_no_constant,
        )
        if not isinstance(parts, list) or not parts or parts[0] != kind:
            raise ValueError(kind)
        if any(isinstance(p, list | dict | float) for p in parts):
            raise ValueError("nested")
    except (ValueError, binascii.Error, UnicodeError, RecursionError):
        raise malformed from None
    return parts[1:]


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # Infinity, NaN: never in our cursors


def timeline_key(parts: list[Any] | None) -> tuple[datetime, int] | None:
    """Decode a timeline cursor's ``(history_date, history_id)``."""
    if parts is None:
        return None
    try:
        date, hid = parts
        key = cursor_instant(date), history_id(hid)
    except (ValueError, TypeError, OverflowError, BadInput):
        raise BadInput(
            "Malformed cursor: pass a cursor from this connection."
        ) from None
    return key


def cursor_instant(text: Any) -> datetime:
    """Parse the instant stored in a cursor (aware, as this API wrote it)."""
    value = datetime.fromisoformat(text)
    if timezone.is_naive(value):
        raise ValueError(text)
    return ensure_aware(value)


def window(
    first: int | None, after: Any, last: int | None, before: Any, default: int = 20
) -> Window:
    """Return a checked page window (size 0 to 100, first or last)."""
    result = Window(first=first, after=after, last=last, before=before)
    try:
        result.size(default)
    except ValueError as error:
        raise BadInput(str(error)) from None
    return result
