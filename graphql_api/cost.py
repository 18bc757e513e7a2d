"""Query cost: what a query may fetch and return, estimated before it runs.

Depth, token and alias limits do not bound the work: fragments that select
``prevVersion`` and ``nextVersion`` at each level double it at every level, within
all three. The estimate walks the chosen operation as execution would (fragments
expanded, fields merged by response name, ``@skip``/``@include`` applied) and adds:

* **objects**: each field returning an object costs 1 per object, plus its
  selections; a connection's ``edges`` count once per row of its page
  (``first``/``last``, literal or variable; default 20, at most 100);
* **scalar fields**: each costs ``1 / FIELDS_PER_UNIT`` per object it is read on
  (rounded up over the query): resolving and serializing one is about as long
  as a third of an object;
* **lookups**: each field that fetches objects (anything returning objects but a
  connection's ``edges``/``pageInfo`` and an edge's ``node``) costs ``LOOKUP_COST``
  once per place it appears in the expanded query (``historyFeed``: once per model
  it reads, its ``models`` or every tracked one), whatever the page size: pages
  are batched, so a lookup is one or two SQL queries for the whole page (2.5-7 ms
  with the ORM on PostgreSQL, see ``bench/costbench.py``; the slowest requests
  ``bench/scanbench.py`` finds are made of lookups);
* **scans**: a root field whose SQL may read a whole history table costs that scan,
  by the table's size (:func:`table_rows`: the span of its ``history_id``, two
  index probes, reused for a minute) over the rows one unit pays for
  (``ROWS_PER_UNIT``), and at least ``SCAN_COST`` per field.

What each root field reads, index-bounded unless said (``HistoryReads``, set by the
schema builder on the field):

* ``<model>History`` (a timeline): the page walks the ``(object id, history_date,
  history_id)`` index from its cursor (``since``/``until`` bound the walk too);
  ``types`` is a filter on rows, a scan of the object's versions, and
  ``totalCount`` counts them: both charged as a scan of the table, since one object
  may hold all of it (``"filter"``, or ``"count"`` without ``types``);
* ``<models>AsOf``: ranks every version up to the instant, object by object, then
  looks the newest up; the page and each ``totalCount`` are a scan each
  (``"as_of"``);
* ``historyFeed``: per model read, a walk of the ``(history_date, history_id)``
  index (``since``/``until``), of the partial creations or deletions index
  (``types: [CREATED]`` or ``[DELETED]``), or of ``(history_user, history_date,
  history_id)`` (``userId``); any other ``types``, or ``types`` with ``userId``,
  filters row after row: a ``"filter"`` scan of each model's table (of the models
  in ``models``, or of every tracked one);
* ``<model>AsOf``, ``<model>Diff``, ``node``, ``revert<Model>``, and the lookups
  below a page (``prevVersion``, ``nextVersion``, related versions, ``historyUser``,
  ``changes``): probes of one object's index or of primary keys.

An interface or union returns the objects (and scalars) of its most expensive
possible type, and runs the lookups of every possible type (each model's rows are
looked up apart); introspection fields (``__typename``) are free. ``prevVersion``, ``nextVersion`` and
related versions (``category``) cost like any object, and their selections count
again at every use: they are how a small document asks for an exponential answer.
A query above ``GRAPHQL_API["MAX_COST"]`` (default 2,000) is refused with
``QUERY_TOO_COSTLY`` before any resolver runs. One unit is about 0.125 ms of
PostgreSQL work (2,000 is 250 ms): ``bench/scanbench.py`` times the slowest
request the budget accepts on a 1,000,000-row history table.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import router
from graphql import (
    BooleanValueNode,
    EnumValueNode,
    ExecutionResult,
    FieldNode,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    IntValueNode,
    ListValueNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_list_type,
    is_object_type,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from history_core.pages import MAX_PAGE_SIZE
from history_core.queries import estimated_rows

from .errors import ApiError
from .limits import Fragments, fields_of, fragments_of

DEFAULT_MAX_COST = 2000
DEFAULT_PAGE_SIZE = 20
LOOKUP_COST = 50
# Scalar fields per unit: each is resolved and serialized in about 40 us.
FIELDS_PER_UNIT = 3
# The least a field's scans cost, however small its tables (with its lookup: 9 fit).
SCAN_COST = 150
# Rows of a history table that one unit of the budget pays for, per kind of scan
# (one unit is about 0.125 ms: the default budget, 2,000, is 250 ms). Measured on
# PostgreSQL 15 over 1,000,000 rows by bench/scanbench.py, with a margin.
ROWS_PER_UNIT = {
    "count": 1250,  # COUNT over an index, no row read: about 0.1 us a row
    "filter": 150,  # an index walk reading each row to test an unindexed filter
    "as_of": 40,  # every version up to T ranked by object, then the newest looked up
}
TABLE_SIZE_TTL = 60.0  # seconds a table's size estimate is reused
CREATED, DELETED = "CREATED", "DELETED"
# Kinds of change with an index of their own (partial indexes on history_date).
INDEXED_TYPES = frozenset({CREATED, DELETED})


@dataclass(frozen=True)
class Cost:
    """Objects returned, lookups (batched queries) run to fetch them, scans, and
    scalar fields resolved."""

    objects: int = 0
    lookups: int = 0
    scans: int = 0
    fields: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.objects + other.objects,
            self.lookups + other.lookups,
            self.scans + other.scans,
            self.fields + other.fields,
        )

    @property
    def total(self) -> int:
        """The cost checked against the budget."""
        scalars = -(-self.fields // FIELDS_PER_UNIT)  # rounded up
        return self.objects + LOOKUP_COST * self.lookups + self.scans + scalars


READS = "history_reads"  # the key of HistoryReads in a root field's metadata


@dataclass(frozen=True)
class HistoryReads:
    """What a root field reads: set by the schema builder, read by the estimate.

    ``kind`` is ``"timeline"`` (one object's versions), ``"as_of"`` (every object
    at an instant) or ``"feed"`` (every model's versions); ``models`` are the
    historical models, ``labels`` their tracked models' labels, in the same order.
    """

    kind: str
    models: tuple[Any, ...]
    labels: tuple[str, ...]


_sizes: dict[tuple[str, str], tuple[float, int]] = {}


def table_rows(historical_model: Any) -> int:
    """A history table's size estimate, reused for ``TABLE_SIZE_TTL`` seconds."""
    using = router.db_for_read(historical_model)
    key = (using, historical_model._meta.db_table)
    now = time.monotonic()
    cached = _sizes.get(key)
    if cached is None or cached[0] < now:
        cached = (now + TABLE_SIZE_TTL, estimated_rows(historical_model, using))
        _sizes[key] = cached
    return cached[1]


def forget_table_sizes() -> None:
    """Drop the cached size estimates (the next estimate looks them up again)."""
    _sizes.clear()


def scan_cost(kind: str, rows: int) -> int:
    """What one scan of ``kind`` over ``rows`` rows costs."""
    return math.ceil(rows / ROWS_PER_UNIT[kind])


class QueryTooCostly(ApiError):
    code = "QUERY_TOO_COSTLY"


def max_cost() -> int:
    """The budget: ``GRAPHQL_API["MAX_COST"]`` (default 2,000)."""
    options = getattr(settings, "GRAPHQL_API", {})
    return int(options.get("MAX_COST", DEFAULT_MAX_COST))


def is_connection(graphql_type: GraphQLNamedType) -> bool:
    """Whether ``graphql_type`` is a Relay connection (it has edges and pageInfo)."""
    fields = getattr(graphql_type, "fields", {})
    return "edges" in fields and "pageInfo" in fields


def is_plumbing(parent: GraphQLObjectType, name: str) -> bool:
    """Whether ``parent.name`` is a connection's edges or pageInfo, or an edge's node.

    They hold what the connection already fetched: no lookup of their own.
    """
    if name in ("edges", "pageInfo"):
        return is_connection(parent)
    return name == "node" and "cursor" in parent.fields


class CostEstimate:
    """The cost of one operation of a validated document, with its variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Fragments,
        variables: dict[str, Any],
        rows: Any = table_rows,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.rows = rows
        self._memo: dict[tuple[Any, ...], Cost] = {}

    def operation(self, operation: OperationDefinitionNode) -> Cost:
        """The cost of ``operation`` (nothing if the schema has no root for it)."""
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return Cost()
        return self.selections((operation.selection_set,), root, None)

    def selections(
        self,
        sets: tuple[SelectionSetNode, ...],
        graphql_type: GraphQLNamedType,
        page: int | None,
    ) -> Cost:
        """The cost of ``sets`` (merged) on ``graphql_type``; ``page`` sizes edges."""
        if is_abstract_type(graphql_type):
            possible = self.schema.get_possible_types(graphql_type)
            costs = [self._on(sets, t, page) for t in possible]
            return Cost(
                max((c.objects for c in costs), default=0),
                sum(c.lookups for c in costs),
                sum(c.scans for c in costs),
                max((c.fields for c in costs), default=0),
            )
        if is_object_type(graphql_type):
            return self._on(sets, graphql_type, page)
        return Cost()

    def _on(
        self,
        sets: tuple[SelectionSetNode, ...],
        object_type: GraphQLObjectType,
        page: int | None,
    ) -> Cost:
        key = (tuple(map(id, sets)), object_type.name, page)
        if key not in self._memo:
            fields = self._collect(sets, object_type)
            self._memo[key] = sum(
                (self._field(nodes, object_type, page) for nodes in fields.values()),
                Cost(),
            )
        return self._memo[key]

    def _collect(
        self, sets: tuple[SelectionSetNode, ...], object_type: GraphQLObjectType
    ) -> dict[str, list[FieldNode]]:
        def applies(condition: NamedTypeNode | None) -> bool:
            if condition is None:
                return True
            named = self.schema.get_type(condition.name.value)
            return named is not None and (
                named is object_type
                or (
                    is_abstract_type(named)
                    and self.schema.is_sub_type(named, object_type)
                )
            )

        grouped: dict[str, list[FieldNode]] = {}
        for selection_set in sets:
            for field in fields_of(selection_set, self.fragments, applies, self._kept):
                key = field.alias.value if field.alias else field.name.value
                grouped.setdefault(key, []).append(field)
        return grouped

    def _field(
        self, nodes: list[FieldNode], parent: GraphQLObjectType, page: int | None
    ) -> Cost:
        name = nodes[0].name.value
        definition = parent.fields.get(name)
        sets = tuple(n.selection_set for n in nodes if n.selection_set)
        if name.startswith("__") or definition is None:
            return Cost()
        if not sets:
            return Cost(fields=1)
        returned = get_named_type(definition.type)
        inner = self._page(nodes[0]) if is_connection(returned) else None
        below = self.selections(sets, returned, inner)
        listed = is_list_type(get_nullable_type(definition.type))
        count = (page or 1) if listed else 1
        reads = _reads(definition)
        lookup = 0 if is_plumbing(parent, name) else self._lookups(reads, nodes[0])
        scans = 0 if reads is None else self._scans(reads, nodes, returned, sets)
        return Cost(
            count * (1 + below.objects),
            below.lookups + lookup,
            below.scans + scans,
            count * below.fields,
        )

    def _lookups(self, reads: HistoryReads | None, node: FieldNode) -> int:
        """A field's own lookups: one, or one per model the feed reads."""
        if reads is None or reads.kind != "feed":
            return 1
        return len(self._models(reads, node))

    def _models(self, reads: HistoryReads, node: FieldNode) -> list[Any]:
        """The historical models ``node`` reads (the feed's ``models``, if given)."""
        wanted = _listed(self._argument(node, "models"))
        return [
            model
            for model, label in zip(reads.models, reads.labels, strict=True)
            if not isinstance(wanted, list) or label in wanted
        ]

    def _scans(
        self,
        reads: HistoryReads,
        nodes: list[FieldNode],
        returned: GraphQLNamedType,
        sets: tuple[SelectionSetNode, ...],
    ) -> int:
        """The cost of the table scans a root field's SQL implies (0 if none)."""
        scans = self._scan_kinds(reads, nodes[0], self._counts(sets, returned))
        if not scans:
            return 0
        cost = sum(scan_cost(kind, self.rows(model)) for kind, model in scans)
        return max(SCAN_COST, cost)

    def _scan_kinds(
        self, reads: HistoryReads, node: FieldNode, counts: int
    ) -> list[tuple[str, Any]]:
        """The scans of ``node``: (kind, historical model) pairs, one per scan."""
        types = _listed(self._argument(node, "types"))
        filtered = types is not None and types != []
        if reads.kind == "as_of":  # the page, and each totalCount again
            return [("as_of", m) for m in reads.models] * (1 + counts)
        if reads.kind == "timeline":  # an object may hold the whole table
            kinds = ["filter"] if filtered else []
            kinds += ["filter" if filtered else "count"] * counts
            return [(k, m) for k in kinds for m in reads.models]
        indexed = (
            isinstance(types, list) and len(types) == 1 and types[0] in INDEXED_TYPES
        )
        by_user = self._argument(node, "userId") is not None
        if not filtered or (indexed and not by_user):
            return []
        return [("filter", model) for model in self._models(reads, node)]

    def _counts(
        self, sets: tuple[SelectionSetNode, ...], returned: GraphQLNamedType
    ) -> int:
        """How many ``totalCount`` fields (by response name) the selection holds."""
        if not is_object_type(returned) or "totalCount" not in returned.fields:
            return 0
        fields = self._collect(sets, returned)
        return sum(1 for f in fields.values() if f[0].name.value == "totalCount")

    def _page(self, node: FieldNode) -> int:
        """The page size a connection field asks for, within [1, MAX_PAGE_SIZE]."""
        for name in ("first", "last"):
            value = self._argument(node, name)
            if isinstance(value, int) and not isinstance(value, bool):
                return min(max(value, 1), MAX_PAGE_SIZE)
        return DEFAULT_PAGE_SIZE

    def _kept(self, node: Any) -> bool:
        """Whether ``@skip``/``@include`` keep ``node`` (kept when unknown)."""
        for directive in getattr(node, "directives", None) or ():
            if directive.name.value in ("skip", "include"):
                condition = self._argument(directive, "if")
                if condition is (directive.name.value == "skip"):
                    return False
        return True

    def _argument(self, node: Any, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return self._value(argument.value)
        return None

    def _value(self, value: ValueNode) -> Any:
        return value_of(value, self.variables)


def value_of(value: ValueNode, variables: dict[str, Any]) -> Any:
    """An argument's value, literal or variable: Int, Boolean, String, an enum's
    name, or a list of them (else None)."""
    if isinstance(value, VariableNode):
        return variables.get(value.name.value)
    if isinstance(value, IntValueNode):
        return int(value.value)
    if isinstance(value, BooleanValueNode | StringValueNode | EnumValueNode):
        return value.value
    if isinstance(value, ListValueNode):
        return [value_of(v, variables) for v in value.values]
    return None


def _reads(definition: Any) -> HistoryReads | None:
    """The ``HistoryReads`` the schema builder set on a field, if any."""
    backref = (definition.extensions or {}).get("strawberry-definition")
    return getattr(backref, "metadata", {}).get(READS)  # type: ignore[no-any-return]


def _listed(value: Any) -> Any:
    """A list argument given as one value (GraphQL accepts it) as a list of it."""
    return [value] if isinstance(value, str) else value


def _variables(
    operation: OperationDefinitionNode, provided: dict[str, Any] | None
) -> dict[str, Any]:
    """The operation's variable defaults, overridden by the values provided."""
    defaults = {
        d.variable.name.value: value_of(d.default_value, {})
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    return {**defaults, **(provided or {})}


def estimate_cost(
    schema: GraphQLSchema,
    document: Any,
    operation_name: str | None = None,
    variables: dict[str, Any] | None = None,
    rows: Any = table_rows,
) -> Cost:
    """The cost of the operation of ``document`` that would run (nothing if none).

    ``rows`` maps a historical model to its table's size (default: ``table_rows``).
    """
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return Cost()
    fragments = fragments_of(document.definitions)
    values = _variables(operation, variables)
    estimate = CostEstimate(schema, fragments, values, rows)
    return estimate.operation(operation)


class QueryCostLimiter(SchemaExtension):
    """Refuse, before execution, an operation costing more than ``max_cost()``."""

    def on_execute(self) -> Iterator[None]:
        """Estimate the validated operation; above the budget, skip execution."""
        context = self.execution_context
        if context.graphql_document is not None:
            cost = estimate_cost(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables,
            ).total
            budget = max_cost()
            if cost > budget:
                error = QueryTooCostly(
                    f"This query's estimated cost is {cost:,}, over the budget of "
                    f"{budget:,}: ask for smaller pages (first/last), fewer aliases, "
                    "fewer nested versions (prevVersion, nextVersion, related versions) "
                    "or fewer fields that read a whole history table (totalCount, "
                    "as-of lists, filters by types).",
                    cost=cost,
                    maxCost=budget,
                )
                context.result = ExecutionResult(data=None, errors=[error])
        yield
