"""Word-by-word comparison of two texts, as HTML with ``<del>`` and ``<ins>``.

Texts are split into words and the whitespace between them; a run of changed words
is shown once as deleted and once as inserted, so a reader sees both versions of the
passage side by side. Everything is escaped: only the markup added here is HTML.

difflib's matching costs more than the square of what it compares, so the cost is
bounded: the common start and end are skipped first, a long text is compared line by
line then word by word within the changed lines, and difflib stops at a budget of
work; past it, the passage it was comparing is shown changed as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from difflib import Match, SequenceMatcher
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_TOKENS = re.compile(r"\s+|[^\s]+")
# Texts of more words and spaces than this (both sides) are compared line by line
# first, then word by word within the changed lines.
WORDS_AT_ONCE = 2000
# What difflib may spend on one text, in items it looks at (about a tenth of a
# second); past it, the passage being compared is shown changed as a whole.
BUDGET = 1_000_000

Passage = tuple[str, str, str]  # (difflib tag, old text, new text)


class _OverBudget(Exception):
    pass


class _BoundedMatcher(SequenceMatcher):
    """A ``SequenceMatcher`` that gives up once it has looked at ``budget`` items."""

    def __init__(self, old: list[str], new: list[str], budget: int) -> None:
        self.budget = budget
        self.old = old
        super().__init__(a=old, b=new, autojunk=False)
        self.where: dict[str, list[int]] = self.b2j  # type: ignore[attr-defined]

    def find_longest_match(
        self, alo: int = 0, ahi: Any = None, blo: int = 0, bhi: Any = None
    ) -> Match:
        # The matching loop visits, for each item of a[alo:ahi], every position of
        # that item in b: repeated words (and spaces) make it quadratic.
        ahi = len(self.old) if ahi is None else ahi
        seen = sum(len(self.where.get(item, ())) for item in self.old[alo:ahi])
        self.budget -= ahi - alo + seen
        if self.budget < 0:
            raise _OverBudget
        return super().find_longest_match(alo, ahi, blo, bhi)


def _tokens(text: str) -> list[str]:
    return _TOKENS.findall(text)


def _diff(
    before: list[str], after: list[str], budget: int
) -> tuple[list[Passage], int]:
    """The passages of ``before`` -> ``after`` and the budget left; once the budget
    is spent, the differing middle is one passage."""
    head, shortest = 0, min(len(before), len(after))
    while head < shortest and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < shortest - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    old, new = before[head : len(before) - tail], after[head : len(after) - tail]
    passages = [("equal", "".join(before[:head]), "".join(after[:head]))]
    matcher = _BoundedMatcher(old, new, budget)
    try:
        opcodes = matcher.get_opcodes()
    except _OverBudget:
        passages.append(("replace", "".join(old), "".join(new)))
    else:
        for tag, i1, i2, j1, j2 in opcodes:
            passages.append((tag, "".join(old[i1:i2]), "".join(new[j1:j2])))
    end = "".join(before[len(before) - tail :]), "".join(after[len(after) - tail :])
    passages.append(("equal", *end))
    return passages, max(matcher.budget, 0)


def _passages(old: str, new: str) -> Iterator[Passage]:
    """Word passages, within changed lines when the texts are long."""
    before, after = _tokens(old), _tokens(new)
    if len(before) + len(after) <= WORDS_AT_ONCE:
        yield from _diff(before, after, BUDGET)[0]
        return
    lines, budget = _diff(old.splitlines(True), new.splitlines(True), BUDGET)
    for tag, removed, added in lines:
        if tag == "equal":
            yield tag, removed, added
            continue
        words, budget = _diff(_tokens(removed), _tokens(added), budget)
        yield from words


def word_diff(old: str, new: str) -> tuple[SafeString, SafeString]:
    """Return ``(old, new)`` as HTML, the words only one side has highlighted.

    The old text marks removed words with ``<del>``, the new one added words with
    ``<ins>``; unchanged words are plain escaped text in both.
    """
    old_html: list[str] = []
    new_html: list[str] = []
    for tag, removed, added in _passages(old, new):
        if tag == "equal":
            old_html.append(escape(removed))
            new_html.append(escape(added))
            continue
        if removed:
            old_html.append(f"<del>{escape(removed)}</del>")
        if added:
            new_html.append(f"<ins>{escape(added)}</ins>")
    return mark_safe("".join(old_html)), mark_safe("".join(new_html))  # noqa: S308
