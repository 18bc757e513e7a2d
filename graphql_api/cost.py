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
  by the table's size over the rows one unit pays for, and at least ``SCAN_COST``
  per field: :mod:`graphql_api.scans` says what each root field reads.

An interface or union returns the objects (and scalars) of its most expensive
possible type, and runs the lookups of every possible type (each model's rows are
looked up apart); introspection fields (``__typename``) are free. ``prevVersion``,
``nextVersion`` and related versions (``category``) cost like any object, and their
selections count again at every use: they are how a small document asks for an
exponential answer. A query above ``GRAPHQL_API["MAX_COST"]`` (default 2,000) is
refused with ``QUERY_TOO_COSTLY`` before any resolver runs. One unit is meant as
about 0.125 ms of work (2,000 as 250 ms): ``bench/scanbench.py`` times the slowest
request the budget accepts on a 1,000,000-row history table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
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

from .errors import ApiError
from .limits import Fragments, fields_of, fragments_of
from .scans import (
    SCAN_COST,
    HistoryReads,
    models_read,
    reads_of,
    scan_cost,
    scans_of,
    table_rows,
)

DEFAULT_MAX_COST = 2000
DEFAULT_PAGE_SIZE = 20
LOOKUP_COST = 50
# Scalar fields per unit: each is resolved and serialized in about 40 us.
FIELDS_PER_UNIT = 3


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
        reads = reads_of(definition)
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
        return len(models_read(reads, self._arguments(node)))

    def _scans(
        self,
        reads: HistoryReads,
        nodes: list[FieldNode],
        returned: GraphQLNamedType,
        sets: tuple[SelectionSetNode, ...],
    ) -> int:
        """The cost of the table scans a root field's SQL implies (0 if none)."""
        counts = self._counts(sets, returned)
        found = scans_of(reads, self._arguments(nodes[0]), counts)
        if not found:
            return 0
        cost = sum(scan_cost(kind, self.rows(model)) for kind, model in found)
        return max(SCAN_COST, cost)

    def _arguments(self, node: FieldNode) -> Any:
        return lambda name: self._argument(node, name)

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
