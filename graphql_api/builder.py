"""The per-model factory: GraphQL types and fields generated from the registry.

For a tracked model ``catalog.Product`` it builds ``ProductVersion`` (implements
``Version`` and ``Node``), ``Product`` (the live object, a ``Node``),
``ProductVersionConnection`` and its edge, ``ProductDiff``, ``RevertProductPayload``,
and the fields ``productHistory``, ``productAsOf``, ``productsAsOf``, ``productDiff``
and ``revertProduct``; :func:`node_field` serves ``node(id)`` for every model. Resolvers
are closures over the model's :class:`ModelApi`; their logic is in ``resolvers``.

Ids: ``id`` is always a Relay global id, ``"ProductVersion:<historyId>"`` or
``"Product:<pk>"`` in base64, so a normalized client cache keeps one entry per version
and one per live object. The model's own key is ``objectId`` (versions) and the
primary-key field: ``productId`` for a key named ``id``, its own name otherwise
(``code``).
"""

import datetime
import decimal
import re
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import strawberry
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.base import get_object_definition
from strawberry_django.fields.types import OperationInfo

from history_core import get_history_for_model
from history_core.options import TrackingOptions
from history_core.revert import MAX_REASON_LENGTH

from . import inputs, metadata, resolvers
from .errors import BadInput
from .loaders import attach, batch_of
from .permissions import has_perm, require_user, require_view
from .scans import READS, HistoryReads
from .types import (
    MALFORMED_ID,
    BigInt,
    FieldChange,
    HistoryType,
    HistoryUser,
    Node,
    PageInfo,
    Version,
    VersionRef,
    global_id,
    parse_global_id,
)

SCALARS: dict[str, Any] = {
    "CharField": str,
    "TextField": str,
    "EmailField": str,
    "SlugField": str,
    "URLField": str,
    "FilePathField": str,
    "FileField": str,
    "ImageField": str,
    "GenericIPAddressField": str,
    "IntegerField": int,
    "SmallIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveSmallIntegerField": int,
    "BigIntegerField": BigInt,
    "PositiveBigIntegerField": BigInt,
    "BooleanField": bool,
    "FloatField": float,
    "DecimalField": decimal.Decimal,
    "DateTimeField": datetime.datetime,
    "DateField": datetime.date,
    "TimeField": datetime.time,
    "UUIDField": uuid.UUID,
    "JSONField": JSON,
}


def camel(text: str) -> str:
    """``"order lines"`` / ``"order_lines"`` -> ``"orderLines"``."""
    words = [w for w in re.split(r"[\s_\-]+", str(text)) if w]
    return words[0].lower() + "".join(w[:1].upper() + w[1:] for w in words[1:])


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


@dataclass
class ModelApi:
    """Everything generated for one tracked model."""

    options: TrackingOptions
    type_name: str
    singular: str
    plural: str
    field_names: list[str] = field(default_factory=list)
    version: Any = None
    live: Any = None
    connection: Any = None
    edge: Any = None
    diff: Any = None
    payload: Any = None
    result: Any = None
    graphql_names: dict[str, str] = field(default_factory=dict)
    relation_names: dict[str, str] = field(default_factory=dict)
    field_info: list[Any] = field(default_factory=list)

    @property
    def model(self) -> type[models.Model]:
        return self.options.model

    def field_changes(self, delta: Any) -> list[FieldChange]:
        """The changes of a diff, each named by its GraphQL field name."""
        return resolvers.field_changes(delta, self.graphql_names)

    def changed_fields(self, names: list[str]) -> list[str]:
        """Stored model field names, as GraphQL names."""
        return [self.graphql_names.get(name, name) for name in names]

    def model_field_names(self, names: list[str] | None) -> list[str] | None:
        """GraphQL field names -> model field names.

        Takes exactly the names ``trackedModel.fields`` lists: a foreign key by its
        id (``categoryId``) or its related version (``category``), the primary key
        too (a revert leaves it alone).

        Raises:
            BadInput: a name is not one of them.
        """
        if names is None:
            return None
        by_graphql = {g: m for m, g in self.graphql_names.items()}
        by_graphql.update((g, m) for m, g in self.relation_names.items())
        unknown = [n for n in names if n not in by_graphql]
        if unknown:
            raise BadInput(
                f"{self.options.label} has no tracked field named "
                f"{', '.join(sorted(set(unknown)))[:200]}; tracked fields are "
                f"{', '.join(sorted(by_graphql))}."
            )
        return list(dict.fromkeys(by_graphql[n] for n in names))


def _resolver(function: Any, return_type: Any) -> Any:
    function.__annotations__ = {**function.__annotations__, "return": return_type}
    return function


def _scalar(model_field: Any) -> Any:
    graphql_type = SCALARS.get(model_field.get_internal_type(), JSON)
    return graphql_type | None if model_field.null else graphql_type


@dataclass
class Column:
    """A field read straight from an attribute (no resolver call per value)."""

    graphql_type: Any
    field: Any


def _column(graphql_type: Any, description: str, name: str | None = None) -> Column:
    return Column(graphql_type, strawberry.field(name=name, description=description))


def _data_fields(
    api: ModelApi, apis: dict[Any, ModelApi], with_versions: bool
) -> dict[str, Any]:
    """Fields for the tracked columns (shared by the version and the live type)."""
    result: dict[str, Any] = {}
    for model_field in api.options.fields:
        label = model_field.verbose_name
        if model_field.name == "id" or model_field.primary_key:
            result[model_field.attname] = _column(
                strawberry.ID,
                f"The {api.type_name}'s primary key (its id field is the Node id).",
                name=_pk_name(api, model_field),
            )
        elif model_field.is_relation:
            result[model_field.attname] = _column(
                strawberry.ID | None,
                f"Id of the related {label}.",
                name=camel(f"{model_field.name}_id"),
            )
            target = apis.get(model_field.related_model)
            if with_versions and target is not None:
                result[model_field.name] = strawberry.field(
                    resolver=_related_resolver(model_field.name, target),
                    description=f"The {label} as it was at this version's date "
                    "(null without permission to read its history).",
                )
        else:
            result[model_field.attname] = _column(
                _scalar(model_field),
                str(model_field.help_text or f"{label}".capitalize() + "."),
                name=camel(model_field.name),
            )
    return result


def _pk_name(api: ModelApi, model_field: Any) -> str:
    """GraphQL name of a primary key: never ``id``, which is the Node id.

    A key named ``id`` (also the one a multi-table child inherits) becomes
    ``productId``; another keeps its name (``code``; a parent link ``untrackedPtrId``).
    """
    if model_field.name == "id":
        return f"{api.singular}Id"
    if model_field.is_relation:
        return camel(f"{model_field.name}_id")
    return camel(model_field.name)


def _check_names(api: ModelApi, fields: dict[str, Any]) -> None:
    """Refuse a model whose fields would take one GraphQL name twice (or the Node id's:
    a self-reference named ``product`` on ``Product`` gives ``productId`` twice)."""
    seen: dict[str, str] = {"id": "the Node id"}
    seen.update((name, f"the version field {name!r}") for name in VERSION_FIELDS)
    for key, value in fields.items():
        name = _graphql_name(key, value)
        if key == NODE_ID or name in seen:
            raise ImproperlyConfigured(
                f"{api.options.label}: field {key!r} would be exposed as {name!r}, "
                f"which is {seen.get(name, 'the Node id')}'s name."
            )
        seen[name] = f"field {key!r}"


NODE_ID = "global_id"  # python name of Node.id (see types.Node)
# GraphQL names every version type has besides the model's own fields.
VERSION_FIELDS = frozenset(
    f.graphql_name or camel(f.python_name)
    for f in get_object_definition(Version, strict=True).fields
) | {"prevVersion", "nextVersion"}


def _node_id_field(type_name: str, key: Any) -> Any:
    def resolve(root: strawberry.Parent[Any]) -> strawberry.ID:
        return global_id(type_name, key(root))

    return strawberry.field(
        resolver=resolve,
        name="id",
        description=f'Globally unique, opaque id ("{type_name}:<key>" in base64): '
        "the key of this object in a normalized client cache, and the argument of "
        "node(id).",
    )


def _related_resolver(name: str, target: ModelApi) -> Any:
    def resolve(root: strawberry.Parent[Any], info: Info) -> Any:
        # The related object's history needs its own view permission.
        if not has_perm(info.context.request.user, "view", target.model):
            return None
        return batch_of(root).related(root, name)

    return _resolver(resolve, target.version | None)


def _history_fields(api: ModelApi) -> dict[str, Any]:
    version = api.version

    def prev_version(root: strawberry.Parent[Any]) -> Any:
        return batch_of(root).previous(root)

    def next_version(root: strawberry.Parent[Any]) -> Any:
        return batch_of(root).following(root)

    def history_user(root: strawberry.Parent[Any]) -> HistoryUser | None:
        return resolvers.history_user(root)

    def changes(root: strawberry.Parent[Any]) -> list[FieldChange]:
        return resolvers.changes_since_previous(api, root)

    def changed_fields(root: strawberry.Parent[Any]) -> list[str]:
        return api.changed_fields(root.history_changed_fields)

    def display(root: strawberry.Parent[Any]) -> str:
        return resolvers.display(api, root)

    label = api.options.label
    return {
        "history_id": _column(strawberry.ID, "The version's own id."),
        "history_date": _column(
            datetime.datetime, "When the change happened (UTC, microseconds)."
        ),
        "history_type": _column(HistoryType, "Created, updated or deleted."),
        "history_user": strawberry.field(resolver=history_user),
        "history_change_reason": _column(str | None, "Why, if given."),
        "history_context": _column(
            JSON,
            "How: request method and path, command, correlation id, revert source.",
        ),
        "history_changed_fields": strawberry.field(
            resolver=changed_fields,
            name="changedFields",
            description="GraphQL names of the fields changed against the previous "
            "version.",
        ),
        "changes": strawberry.field(resolver=changes),
        "display": strawberry.field(resolver=display),
        "model": strawberry.field(resolver=_resolver(lambda: label, str)),
        "object_id": _column(strawberry.ID, "The tracked object's id."),
        "prev_version": strawberry.field(
            resolver=_resolver(prev_version, version | None),
            description="The version just before this one (ties broken by historyId).",
        ),
        "next_version": strawberry.field(
            resolver=_resolver(next_version, version | None),
            description="The version just after this one, if any.",
        ),
    }


def _describe(fields: dict[str, Any], base: Any) -> dict[str, Any]:
    """Copy the interface's descriptions onto generated fields that lack one."""
    described = {
        f.python_name: f.description for f in base.__strawberry_definition__.fields
    }
    for name, value in fields.items():
        target = value.field if isinstance(value, Column) else value
        if target.description is None and name in described:
            target.description = described[name]
    return fields


def _graphql_name(key: str, value: Any) -> str:
    target = value.field if isinstance(value, Column) else value
    return str(target.graphql_name or camel(key))


def _make_type(cls: Any, fields: dict[str, Any], name: str, description: str) -> Any:
    annotations = {}
    for attribute, value in fields.items():
        if isinstance(value, Column):
            annotations[attribute] = value.graphql_type
            value = value.field
        setattr(cls, attribute, value)
    cls.__annotations__ = annotations
    return strawberry.type(cls, name=name, description=description)


def _plain_type(
    name: str, annotations: dict[str, Any], description: str, **extra: Any
) -> Any:
    namespace = {"__annotations__": annotations, "__module__": __name__, **extra}
    return strawberry.type(
        type(name, (), namespace), name=name, description=description
    )


# Types every schema has: a model whose generated names would take one of them gets
# its app label as a prefix (testapp.Node -> TestappNode, TestappNodeVersion, ...).
SHARED_TYPE_NAMES = frozenset(
    {
        "Node",
        "Version",
        "VersionEdge",
        "VersionConnection",
        "VersionRef",
        "PageInfo",
        "FieldChange",
        "HistoryType",
        "HistoryUser",
        "TrackedModel",
        "TrackedField",
        "FieldKind",
        "FieldChoice",
        "LoginSuccess",
        "LoginResult",
        "OperationInfo",
        "OperationMessage",
        "OperationMessageKind",
        "Query",
        "Mutation",
        "Subscription",
        "ID",
        "String",
        "Int",
        "Float",
        "Boolean",
        "JSON",
        "BigInt",
        "Decimal",
        "DateTime",
        "Date",
        "Time",
        "UUID",
    }
)


def _generated_type_names(base: str) -> set[str]:
    return {
        base,
        f"{base}Version",
        f"{base}VersionEdge",
        f"{base}VersionConnection",
        f"{base}Diff",
        f"Revert{base}Payload",
        f"Revert{base}Result",
    }


def _names(options: TrackingOptions, duplicated: set[str]) -> tuple[str, str, str]:
    model = options.model
    base = model.__name__
    plural = camel(str(model._meta.verbose_name_plural))
    if base in duplicated or _generated_type_names(base) & SHARED_TYPE_NAMES:
        prefix = camel(model._meta.app_label).title().replace(" ", "")
        base = prefix + base
        plural = lower_first(prefix) + plural[:1].upper() + plural[1:]
    singular = lower_first(base)
    if plural == singular:
        plural = f"{singular}List"
    return base, singular, plural


def declare(registered: list[TrackingOptions]) -> dict[Any, ModelApi]:
    """Phase 1: name every model's API and create its (still empty) version class."""
    counts: dict[str, int] = {}
    for options in registered:
        counts[options.model.__name__] = counts.get(options.model.__name__, 0) + 1
    duplicated = {name for name, n in counts.items() if n > 1}
    apis = {}
    for options in registered:
        base, singular, plural = _names(options, duplicated)
        api = ModelApi(
            options=options, type_name=base, singular=singular, plural=plural
        )
        historical = options.historical_model

        def is_type_of(cls: Any, obj: Any, info: Any, _h: Any = historical) -> bool:
            return isinstance(obj, _h)

        def is_live(cls: Any, obj: Any, info: Any, _m: Any = options.model) -> bool:
            return isinstance(obj, _m)

        api.version = type(
            f"{base}Version",
            (Version,),
            {"__module__": __name__, "is_type_of": classmethod(is_type_of)},
        )
        api.live = type(
            base, (Node,), {"__module__": __name__, "is_type_of": classmethod(is_live)}
        )
        apis[options.model] = api
    return apis


def build(api: ModelApi, apis: dict[Any, ModelApi]) -> None:
    """Phase 2: fill in and decorate every type of one model."""
    data = _data_fields(api, apis, with_versions=True)
    _check_names(api, data)
    api.field_names = [_graphql_name(key, value) for key, value in data.items()]
    by_attname = {f.attname: f.name for f in api.options.fields}
    api.graphql_names = {
        by_attname[key]: _graphql_name(key, value)
        for key, value in data.items()
        if key in by_attname
    }
    api.relation_names = {
        key: _graphql_name(key, value)
        for key, value in data.items()
        if key not in by_attname
    }
    api.field_info = metadata.describe_fields(api, apis)
    version_name = f"{api.type_name}Version"
    version_id = _node_id_field(version_name, lambda root: root.history_id)
    version_fields = _describe(
        {NODE_ID: version_id, **data, **_history_fields(api)}, Version
    )
    label = api.options.label
    _make_type(
        api.version,
        version_fields,
        version_name,
        f"One version of a {label}: its tracked fields as they were, and who, when, why.",
    )
    live_id = _node_id_field(api.type_name, lambda root: root.pk)
    _make_type(
        api.live,
        {NODE_ID: live_id, **_data_fields(api, apis, with_versions=False)},
        api.type_name,
        f"A {label} as it is now.",
    )
    api.edge = _plain_type(
        f"{api.type_name}VersionEdge",
        {"cursor": str, "node": api.version},
        f"One {label} version in a connection.",
        cursor=strawberry.field(
            description="Opaque cursor: pass it as after or before."
        ),
        node=strawberry.field(description="The version."),
    )
    api.connection = _connection_type(api)
    api.diff = _plain_type(
        f"{api.type_name}Diff",
        {"from_": api.version, "to": api.version, "changes": list[FieldChange]},
        f"The differences between two versions of one {label}.",
        from_=strawberry.field(name="from", description="The older version."),
        to=strawberry.field(description="The newer version."),
        changes=strawberry.field(description="Fields that differ, sorted by name."),
    )
    api.payload = _plain_type(
        f"Revert{api.type_name}Payload",
        {
            api.singular: api.live | None,
            "version": api.version | None,
            "changes": list[FieldChange],
            "dry_run": bool,
            "restored": bool,
        },
        f"What reverting a {label} did (or, with dryRun, would do).",
        **{
            api.singular: strawberry.field(
                description=f"The {label} after the revert (with dryRun: as it would "
                "be; nothing is saved)."
            ),
            "version": strawberry.field(
                description="The new version; null if none written."
            ),
            "changes": strawberry.field(description="The field changes applied."),
            "dry_run": strawberry.field(description="Whether nothing was written."),
            "restored": strawberry.field(
                description="Whether the object was deleted and comes back (with "
                "dryRun: would come back)."
            ),
        },
    )
    api.result = Annotated[
        api.payload | OperationInfo, strawberry.union(f"Revert{api.type_name}Result")
    ]


def _connection_type(api: ModelApi) -> Any:
    def total_count(root: strawberry.Parent[Any]) -> int:
        return root.queryset.count()

    return _plain_type(
        f"{api.type_name}VersionConnection",
        {
            "edges": list[api.edge],  # type: ignore[name-defined,misc]
            "page_info": PageInfo,
            "queryset": strawberry.Private[Any],  # type: ignore[misc]
        },
        f"A page of {api.options.label} versions (Relay connection, keyset cursors).",
        edges=strawberry.field(description="The versions of this page."),
        page_info=strawberry.field(description="Pagination state."),
        total_count=strawberry.field(
            resolver=total_count, description="Number of versions matching the filters."
        ),
    )


Id = Annotated[
    strawberry.ID,
    strawberry.argument(
        description="The tracked object's primary key (a version's objectId), not a "
        "Node id."
    ),
]
First = Annotated[
    int | None, strawberry.argument(description="Page size (at most 100).")
]
After = Annotated[str | None, strawberry.argument(description="Cursor to start after.")]
Last = Annotated[
    int | None, strawberry.argument(description="Page size, from the end.")
]
Before = Annotated[str | None, strawberry.argument(description="Cursor to end before.")]
Since = Annotated[
    datetime.datetime | None,
    strawberry.argument(description="Only changes at or after."),
]
Until = Annotated[
    datetime.datetime | None,
    strawberry.argument(description="Only changes at or before."),
]
Types = Annotated[
    list[HistoryType] | None,
    strawberry.argument(description="Only these kinds of change."),
]
Timestamp = Annotated[
    datetime.datetime,
    strawberry.argument(description="The instant (with a time zone)."),
]


def query_fields(api: ModelApi) -> dict[str, Any]:
    """Return the Query fields of one model, keyed by GraphQL name."""

    def history(
        info: Info,
        id: Id,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        since: Since = None,
        until: Until = None,
        types: Types = None,
    ) -> Any:
        window = (first, after, last, before)
        return resolvers.timeline(api, info, id, window, since, until, types)

    def as_of(info: Info, id: Id, timestamp: Timestamp) -> Any:
        return resolvers.as_of(api, info, id, timestamp)

    def all_as_of(
        info: Info,
        timestamp: Timestamp,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Any:
        return resolvers.all_as_of(api, info, timestamp, (first, after, last, before))

    def diff(
        info: Info,
        id: Id,
        from_: Annotated[
            VersionRef,
            strawberry.argument(name="from", description="The older version."),
        ],
        to: Annotated[
            VersionRef | None,
            strawberry.argument(description="The newer version (default: the latest)."),
        ] = None,
    ) -> Any:
        return resolvers.diff(api, info, id, from_, to)

    label = api.options.label
    tables = (api.options.historical_model,), (label,)
    return {
        f"{api.singular}History": strawberry.field(
            resolver=_resolver(history, api.connection),
            description=f"The timeline of one {label}, newest first; works after deletion.",
            metadata={READS: HistoryReads("timeline", *tables)},
        ),
        f"{api.singular}AsOf": strawberry.field(
            resolver=_resolver(as_of, api.version | None),
            description=f"The {label} version in force at timestamp (inclusive); null if "
            "it did not exist or was deleted then.",
        ),
        f"{api.plural}AsOf": strawberry.field(
            resolver=_resolver(all_as_of, api.connection),
            description=f"Every {label} as it was at timestamp, each once, by id.",
            metadata={READS: HistoryReads("as_of", *tables)},
        ),
        f"{api.singular}Diff": strawberry.field(
            resolver=_resolver(diff, api.diff),
            description=f"The field changes between two versions of one {label}.",
        ),
    }


def mutation_fields(api: ModelApi) -> dict[str, Any]:
    """Return the Mutation fields of one model, keyed by GraphQL name."""

    def revert(
        info: Info,
        id: Id,
        to: Annotated[
            VersionRef, strawberry.argument(description="The version to restore.")
        ],
        reason: Annotated[
            str | None,
            strawberry.argument(
                description=f"Why (at most {MAX_REASON_LENGTH} characters)."
            ),
        ] = None,
        expected_history_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Fail with a conflict unless this is the latest."
            ),
        ] = None,
        fields: Annotated[
            list[str] | None,
            strawberry.argument(
                description="Revert only these fields: names trackedModel.fields lists "
                "(the key and auto_now fields are left alone)."
            ),
        ] = None,
        dry_run: Annotated[
            bool,
            strawberry.argument(
                description="Rehearse the revert and roll it back: its answer or its "
                "refusal, nothing written."
            ),
        ] = False,
    ) -> Any:
        return resolvers.revert(
            api, info, id, to, reason, expected_history_id, fields, dry_run
        )

    return {
        f"revert{api.type_name}": strawberry.field(
            resolver=_resolver(revert, api.result),
            description=f"Restore a {api.options.label} (or some fields) to a version; a "
            "deleted object comes back with its id. Needs the change permission (and add "
            "to restore a deleted one).",
        )
    }


def node_field(apis: dict[Any, ModelApi]) -> Any:
    """The Relay ``node(id)`` field: refetch any version or live object by its id."""
    by_name: dict[str, tuple[ModelApi, bool]] = {}
    for api in apis.values():
        by_name[f"{api.type_name}Version"] = (api, True)
        by_name[api.type_name] = (api, False)

    def node(
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The object's id (its id field)."),
        ],
    ) -> Node | None:
        return _resolve_node(by_name, info, id)

    return strawberry.field(
        resolver=node,
        description="The version or live object with this id (Relay refetch); null if "
        "there is none. Needs the view permission of its model, like its history.",
    )


def _resolve_node(
    by_name: dict[str, tuple[ModelApi, bool]], info: Info, raw: Any
) -> Any:
    """Authorization first: who asks, then the model's view permission, then the
    lookup; a malformed id is ``BAD_USER_INPUT`` and an unknown one null."""
    require_user(info)
    type_name, key = parse_global_id(raw)
    found = by_name.get(type_name)
    if found is None:
        raise BadInput(MALFORMED_ID)
    api, is_version = found
    require_view(info, api.model)
    try:
        value = (
            inputs.history_id(key) if is_version else inputs.object_pk(api.options, key)
        )
    except BadInput:  # the same answer for any malformed id: it is opaque
        raise BadInput(MALFORMED_ID) from None
    if is_version:
        record = get_history_for_model(api.model).filter(history_id=value).first()
        if record is None:
            return None
        attach([record])
        return strawberry.cast(api.version, record)
    obj = api.model._default_manager.filter(pk=value).first()
    return None if obj is None else strawberry.cast(api.live, obj)
