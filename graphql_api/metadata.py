"""Model metadata for generic frontends: ``trackedModels`` and ``trackedModel(label)``.

A frontend that knows no model in advance (the version history page is one) reads
here how to show one: the model's verbose names, each tracked field's label, kind,
choices and related model, and the names of the fields and mutation that serve it.
Computed once per schema from the registry; only the caller's rights vary.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from .errors import NotFound
from .permissions import has_perm, require_user, require_view
from .types import to_json

if TYPE_CHECKING:
    from .builder import ModelApi


@strawberry.enum(description="How a frontend should show a field's values.")
class FieldKind(enum.Enum):
    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    DURATION = "duration"
    UUID = "uuid"
    JSON = "json"
    FOREIGN_KEY = "foreign_key"
    OTHER = "other"


KINDS: dict[str, FieldKind] = {
    "CharField": FieldKind.STRING,
    "EmailField": FieldKind.STRING,
    "SlugField": FieldKind.STRING,
    "URLField": FieldKind.STRING,
    "FilePathField": FieldKind.STRING,
    "FileField": FieldKind.STRING,
    "ImageField": FieldKind.STRING,
    "GenericIPAddressField": FieldKind.STRING,
    "TextField": FieldKind.TEXT,
    "AutoField": FieldKind.INTEGER,
    "BigAutoField": FieldKind.INTEGER,
    "SmallAutoField": FieldKind.INTEGER,
    "IntegerField": FieldKind.INTEGER,
    "SmallIntegerField": FieldKind.INTEGER,
    "BigIntegerField": FieldKind.INTEGER,
    "PositiveIntegerField": FieldKind.INTEGER,
    "PositiveSmallIntegerField": FieldKind.INTEGER,
    "PositiveBigIntegerField": FieldKind.INTEGER,
    "DecimalField": FieldKind.DECIMAL,
    "FloatField": FieldKind.FLOAT,
    "BooleanField": FieldKind.BOOLEAN,
    "DateField": FieldKind.DATE,
    "DateTimeField": FieldKind.DATETIME,
    "TimeField": FieldKind.TIME,
    "DurationField": FieldKind.DURATION,
    "UUIDField": FieldKind.UUID,
    "JSONField": FieldKind.JSON,
}


@strawberry.type(description="One allowed value of a field with choices.")
class FieldChoice:
    value: JSON = strawberry.field(description="The stored value.")
    label: str = strawberry.field(description="What people should read.")


@strawberry.type(description="One tracked field, described for generic frontends.")
class TrackedField:
    name: str = strawberry.field(
        description="GraphQL name of the value on versions (categoryId for a foreign "
        "key); the names of changes and changedFields."
    )
    label: str = strawberry.field(
        description="The field's verbose name, as the model declares it."
    )
    kind: FieldKind = strawberry.field(description="How to show its values.")
    primary_key: bool = strawberry.field(description="Whether it is the object's key.")
    help_text: str = strawberry.field(description="The model's help text, if any.")
    decimal_places: int | None = strawberry.field(
        description="Digits after the decimal point (DECIMAL fields)."
    )
    choices: list[FieldChoice] = strawberry.field(
        description="Allowed values with their labels (empty without choices)."
    )
    related_model: str | None = strawberry.field(
        description='Label of the model a foreign key points to ("catalog.Category").'
    )
    related_field: str | None = strawberry.field(
        description="GraphQL field of versions returning the related object's version "
        "in force then (select its display to show it by name); null unless the "
        "related model is tracked."
    )


@strawberry.type(description="A tracked model, described for generic frontends.")
class TrackedModel:
    label: str = strawberry.field(
        description='App label and model, e.g. "catalog.Product".'
    )
    verbose_name: str = strawberry.field(description='e.g. "product".')
    verbose_name_plural: str = strawberry.field(description='e.g. "products".')
    type_name: str = strawberry.field(description="GraphQL type of its versions.")
    fields: list[str] = strawberry.field(
        description="Tracked field names (GraphQL names)."
    )
    field_info: list[TrackedField] = strawberry.field(
        description="The tracked fields, in the model's order, described."
    )
    history_field: str = strawberry.field(
        description="Query field of one object's timeline."
    )
    as_of_field: str = strawberry.field(
        description="Query field of one object as of an instant."
    )
    diff_field: str = strawberry.field(
        description="Query field of the differences between two versions."
    )
    revert_field: str = strawberry.field(description="Mutation field of a revert.")
    can_revert: bool = strawberry.field(description="Whether the caller may revert it.")
    can_restore: bool = strawberry.field(
        description="Whether the caller may also restore a deleted object (add)."
    )


def describe_fields(api: ModelApi, apis: dict[Any, ModelApi]) -> list[TrackedField]:
    """Describe ``api``'s tracked fields (after the builder named them)."""
    return [_describe(api, apis, f) for f in api.options.fields]


def _describe(api: ModelApi, apis: dict[Any, ModelApi], model_field: Any) -> Any:
    target = model_field.related_model if model_field.is_relation else None
    tracked_target = target is not None and target in apis
    return TrackedField(
        name=api.graphql_names[model_field.name],
        label=str(model_field.verbose_name),
        kind=_kind(model_field),
        primary_key=bool(model_field.primary_key),
        help_text=str(model_field.help_text or ""),
        decimal_places=getattr(model_field, "decimal_places", None),
        choices=[
            FieldChoice(value=to_json(value), label=str(label))
            for value, label in (model_field.flatchoices or ())
        ],
        related_model=target._meta.label if target is not None else None,
        related_field=api.relation_names.get(model_field.name)
        if tracked_target
        else None,
    )


def _kind(model_field: Any) -> FieldKind:
    if model_field.is_relation:
        if model_field.primary_key:  # a multi-table child's parent link
            return _kind(model_field.target_field)
        return FieldKind.FOREIGN_KEY
    return KINDS.get(model_field.get_internal_type(), FieldKind.OTHER)


def _tracked_model(api: ModelApi, user: Any) -> TrackedModel:
    meta = api.model._meta
    can_revert = has_perm(user, "change", api.model)
    return TrackedModel(
        label=api.options.label,
        verbose_name=str(meta.verbose_name),
        verbose_name_plural=str(meta.verbose_name_plural),
        type_name=f"{api.type_name}Version",
        fields=api.field_names,
        field_info=api.field_info,
        history_field=f"{api.singular}History",
        as_of_field=f"{api.singular}AsOf",
        diff_field=f"{api.singular}Diff",
        revert_field=f"revert{api.type_name}",
        can_revert=can_revert,
        can_restore=can_revert and has_perm(user, "add", api.model),
    )


def tracked_models(apis: dict[Any, ModelApi], info: Info) -> list[TrackedModel]:
    """Every tracked model the caller may read."""
    user = require_user(info)
    return [
        _tracked_model(api, user)
        for api in apis.values()
        if has_perm(user, "view", api.model)
    ]


def tracked_model(apis: dict[Any, ModelApi], info: Info, label: str) -> TrackedModel:
    """The tracked model labelled ``label`` (any case), if the caller may read it.

    Raises:
        NotFound: no tracked model has this label (the schema lists them all).
        Forbidden: the caller lacks its view permission.
    """
    require_user(info)
    wanted = label.lower()
    api = next((a for a in apis.values() if a.model._meta.label_lower == wanted), None)
    if api is None:
        raise NotFound(f"No tracked model is labelled {label[:100]!r}.")
    user = require_view(info, api.model)
    return _tracked_model(api, user)


LabelArgument = Annotated[
    str,
    strawberry.argument(description='e.g. "catalog.Product" (any case).'),
]
