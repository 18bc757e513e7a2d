"""Types shared by every tracked model's generated API."""

from __future__ import annotations

import base64
import binascii
import enum
from datetime import datetime
from typing import Any, NewType

import strawberry
from strawberry.scalars import JSON

from .errors import BadInput


@strawberry.enum(
    description="What a version recorded: a creation, an update or a deletion."
)
class HistoryType(enum.Enum):
    CREATED = "+"
    UPDATED = "~"
    DELETED = "-"


BigInt = NewType("BigInt", int)
SCALAR_MAP: dict[object, Any] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description="An integer that may exceed 32 bits, serialised as a string.",
        serialize=str,
        parse_value=int,
    )
}


@strawberry.type(
    description="The user who made a change: only the id and the username."
)
class HistoryUser:
    id: strawberry.ID = strawberry.field(description="The user's primary key.")
    username: str = strawberry.field(description="The user's username.")


@strawberry.type(description="One field that differs between two versions.")
class FieldChange:
    field: str = strawberry.field(description="The field's name, as in the model.")
    old: JSON | None = strawberry.field(description="The value in the older version.")
    new: JSON | None = strawberry.field(description="The value in the newer version.")


@strawberry.input(
    one_of=True,
    description="A version, named by its historyId, or the one in force at an instant.",
)
class VersionRef:
    history_id: strawberry.ID | None = strawberry.UNSET
    timestamp: datetime | None = strawberry.UNSET


@strawberry.type(description="Relay pagination state of a connection.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More rows after endCursor.")
    has_previous_page: bool = strawberry.field(
        description="More rows before startCursor."
    )
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge.")


MAX_GLOBAL_ID = 512
MALFORMED_ID = "Malformed id: pass the id of an object from this API."


def global_id(type_name: str, key: Any) -> strawberry.ID:
    """The Relay id of an object: base64 of ``"<TypeName>:<key>"``.

    The format of Strawberry's ``GlobalID`` and graphql-relay's ``toGlobalId``: opaque
    to clients, unique across types, so a normalized cache (Apollo, urql, Relay)
    keeps one entry per object.
    """
    return strawberry.ID(base64.b64encode(f"{type_name}:{key}".encode()).decode())


def parse_global_id(value: Any) -> tuple[str, str]:
    """Split a Relay id made by :func:`global_id` into ``(type name, key)``.

    Raises:
        BadInput: ``value`` is not such an id (never echoed back).
    """
    malformed = BadInput(MALFORMED_ID)
    text = str(value)
    if len(text) > MAX_GLOBAL_ID:
        raise malformed
    try:
        decoded = base64.b64decode(text.encode("ascii"), validate=True).decode()
    except (ValueError, binascii.Error, UnicodeError):
        raise malformed from None
    type_name, colon, key = decoded.partition(":")
    if not colon or not type_name or not key:
        raise malformed
    return type_name, key


@strawberry.interface(
    description="An object with a globally unique id (Relay): refetch it with node(id)."
)
class Node:
    # Python name global_id: a model's own ``id`` column is another field (productId).
    global_id: strawberry.ID = strawberry.field(
        name="id",
        description="Globally unique, opaque id: the key of this object in a "
        "client's normalized cache, and the argument of node(id).",
    )


@strawberry.interface(description="One version of one tracked object, of any model.")
class Version(Node):
    history_id: strawberry.ID = strawberry.field(description="The version's own id.")
    history_date: datetime = strawberry.field(
        description="When the change happened (UTC, microseconds)."
    )
    history_type: HistoryType = strawberry.field(
        description="Created, updated or deleted."
    )
    history_user: HistoryUser | None = strawberry.field(
        description="Who made the change, if known and still existing."
    )
    history_change_reason: str | None = strawberry.field(description="Why, if given.")
    history_context: JSON = strawberry.field(
        description="How: request method and path, command, correlation id, revert source."
    )
    history_changed_fields: list[str] = strawberry.field(
        name="changedFields",
        description="Names of the fields changed against the previous version.",
    )
    changes: list[FieldChange] = strawberry.field(
        description="Old and new value of each field changed against the previous version."
    )
    display: str = strawberry.field(
        description="The object as it was in this version, as its model's __str__ "
        'shows it ("Desk lamp"). A __str__ that reads related objects costs a '
        "query per version shown."
    )
    model: str = strawberry.field(
        description='The tracked model, e.g. "catalog.Product".'
    )
    object_id: strawberry.ID = strawberry.field(description="The tracked object's id.")


@strawberry.type(description="One edge of the history feed.")
class VersionEdge:
    cursor: str = strawberry.field(description="Opaque cursor of this edge.")
    node: Version = strawberry.field(description="The version.")


@strawberry.type(
    description="Changes across every model the caller may read, newest first."
)
class VersionConnection:
    edges: list[VersionEdge] = strawberry.field(
        description="The versions of this page."
    )
    page_info: PageInfo = strawberry.field(description="Pagination state.")


def to_json(value: Any) -> Any:
    """Return a JSON-friendly form of a model value (Decimal and dates as strings)."""
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
