"""Document limits: the depth rule, and walking selections with fragments expanded.

Depth counts field levels: in ``{ me { username } }`` the root field ``me`` is level 1
and ``username`` level 2. ``MAX_DEPTH = 10`` accepts ten levels and refuses eleven.
(Strawberry's ``QueryDepthLimiter`` counts from 0 at the root field, so its
``max_depth=10`` let eleven levels through.) Introspection fields (``__schema``,
``__typename``) do not count, so GraphiQL's introspection query always passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

Fragments = dict[str, FragmentDefinitionNode]


def fragments_of(definitions: Any) -> Fragments:
    """The named fragments of a document's definitions."""
    return {
        d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)
    }


def fields_of(
    selection_set: SelectionSetNode,
    fragments: Fragments,
    applies: Callable[[NamedTypeNode | None], bool] = lambda condition: True,
    included: Callable[[Any], bool] = lambda node: True,
) -> Iterator[FieldNode]:
    """The fields of ``selection_set``, fragments (named and inline) expanded.

    Iterative, so nested inline fragments cannot exhaust the stack; each named
    fragment is expanded once, as GraphQL execution does.

    Args:
        selection_set: the selections to flatten.
        fragments: the document's named fragments.
        applies: whether a fragment's type condition applies (default: always).
        included: whether a selection is kept (its ``@skip``/``@include``).
    """
    stack = [selection_set]
    visited: set[str] = set()
    while stack:
        for selection in reversed(stack.pop().selections):
            if not included(selection):
                continue
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                if applies(selection.type_condition):
                    stack.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment and fragment.name.value not in visited:
                    visited.add(fragment.name.value)
                    if applies(fragment.type_condition):
                        stack.append(fragment.selection_set)


class _Depth:
    """Field levels below selection sets, counted up to ``limit + 1`` at most."""

    def __init__(self, fragments: Fragments) -> None:
        self.fragments = fragments
        self.memo: dict[tuple[int, int], int] = {}

    def of(self, selection_set: SelectionSetNode, limit: int) -> int:
        key = (id(selection_set), limit)
        if key not in self.memo:
            self.memo[key] = 0  # a fragment cycle (refused by validation) ends here
            self.memo[key] = max(
                (
                    self._field(field, limit)
                    for field in fields_of(selection_set, self.fragments)
                    if not field.name.value.startswith("__")
                ),
                default=0,
            )
        return self.memo[key]

    def _field(self, field: FieldNode, limit: int) -> int:
        if limit <= 0 or field.selection_set is None:
            return 1
        return 1 + self.of(field.selection_set, limit - 1)


def depth_limit(max_depth: int) -> type[ValidationRule]:
    """A validation rule refusing operations nested deeper than ``max_depth`` fields."""

    class DepthLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            definitions = context.document.definitions
            depth = _Depth(fragments_of(definitions))
            for operation in definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                if depth.of(operation.selection_set, max_depth) > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    context.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {max_depth}",
                            operation,
                        )
                    )

    return DepthLimit
