"""The schema, built once per process from the registry of tracked models.

A model tracked later appears here with no code in graphql_api: ``build_schema``
walks ``history_core.get_registered_models()``.
"""

from __future__ import annotations

import functools
import inspect
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from history_core import get_options, get_registered_models

from . import builder, metadata, session
from .cost import QueryCostLimiter
from .errors import should_mask
from .limits import depth_limit
from .metadata import TrackedModel
from .scans import READS, HistoryReads
from .types import (
    SCALAR_MAP,
    HistoryType,
    HistoryUser,
    VersionConnection,
)

MAX_DEPTH = 10
MAX_TOKENS = 2000
MAX_ALIASES = 15


class HistorySchema(strawberry.Schema):
    """Logs only unexpected errors: a client's bad input is not a server problem."""

    def process_errors(self, errors: list[Any], execution_context: Any = None) -> None:
        unexpected = [e for e in errors if should_mask(e)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def _feed_field(apis: dict[Any, Any]) -> Any:
    def history_feed(
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (≤ 100).")
        ] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor.")] = None,
        models: Annotated[
            list[str] | None,
            strawberry.argument(description='Labels, e.g. ["catalog.Product"].'),
        ] = None,
        since: Annotated[
            datetime | None, strawberry.argument(description="From.")
        ] = None,
        until: Annotated[
            datetime | None, strawberry.argument(description="To.")
        ] = None,
        types: Annotated[
            list[HistoryType] | None,
            strawberry.argument(description="Kinds of change."),
        ] = None,
        user_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this user's changes."),
        ] = None,
    ) -> VersionConnection:
        return session.history_feed(
            apis, info, first, after, models, since, until, types, user_id
        )

    reads = HistoryReads(
        "feed",
        tuple(api.options.historical_model for api in apis.values()),
        tuple(api.options.label for api in apis.values()),
    )
    return strawberry.field(
        resolver=history_feed,
        description="Every change across the models you may read, newest first.",
        metadata={READS: reads},
    )


def _tracked_models_field(apis: dict[Any, Any]) -> Any:
    def tracked_models(info: Info) -> list[TrackedModel]:
        return metadata.tracked_models(apis, info)

    return strawberry.field(
        resolver=tracked_models,
        description="The tracked models you may read, described.",
    )


def _tracked_model_field(apis: dict[Any, Any]) -> Any:
    def tracked_model(info: Info, label: metadata.LabelArgument) -> TrackedModel:
        return metadata.tracked_model(apis, info, label)

    return strawberry.field(
        resolver=tracked_model,
        description="One tracked model, described: NOT_FOUND if no tracked model has "
        "this label, FORBIDDEN without its view permission.",
    )


def _object_type(name: str, fields: dict[str, Any], description: str) -> Any:
    cls = type(name, (), {"__module__": __name__, **fields})
    return strawberry.type(cls, name=name, description=description)


def build_schema(models: list[Any] | None = None) -> strawberry.Schema:
    """Build the schema for ``models`` (default: every tracked model)."""
    registered = [get_options(m) for m in (models or get_registered_models())]
    apis = builder.declare(registered)
    for api in apis.values():
        builder.build(api, apis)
    query_fields: dict[str, Any] = {
        "node": builder.node_field(apis),
        "historyFeed": _feed_field(apis),
        "trackedModels": _tracked_models_field(apis),
        "trackedModel": _tracked_model_field(apis),
        "me": strawberry.field(resolver=session.me, description="The logged-in user."),
        "csrfToken": strawberry.field(
            resolver=session.csrf_token,
            description=inspect.cleandoc(session.csrf_token.__doc__ or ""),
        ),
    }
    mutation_fields: dict[str, Any] = {
        "login": strawberry.field(
            resolver=session.login,
            description=inspect.cleandoc(session.login.__doc__ or ""),
        ),
        "logout": strawberry.field(
            resolver=session.logout,
            description=inspect.cleandoc(session.logout.__doc__ or ""),
        ),
    }
    for api in apis.values():
        query_fields.update(builder.query_fields(api))
        mutation_fields.update(builder.mutation_fields(api))
    for name, value in {**query_fields, **mutation_fields}.items():
        value.graphql_name = name
    query = _object_type("Query", _snake(query_fields), "Read history.")
    mutation = _object_type("Mutation", _snake(mutation_fields), "Change state.")
    rules = [depth_limit(MAX_DEPTH), session.OneLoginPerDocument]
    return HistorySchema(
        query=query,
        mutation=mutation,
        types=[t for api in apis.values() for t in (api.version, api.live)]
        + [HistoryUser],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        extensions=[
            # The rule classes are built once: they are part of ValidationCache's key.
            lambda: AddValidationRules(rules),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: MaskErrors(should_mask_error=should_mask),
            ParserCache,
            ValidationCache,
            QueryCostLimiter,
        ],
    )


def _snake(fields: dict[str, Any]) -> dict[str, Any]:
    return {f"f_{i}": value for i, value in enumerate(fields.values())}


@functools.cache
def get_schema() -> strawberry.Schema:
    """Return the process-wide schema (built on first use)."""
    return build_schema()
