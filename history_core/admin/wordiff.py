"""Word-by-word comparison of two texts, as HTML with ``<del>`` and ``<ins>``.

Texts are split into words and the whitespace between them; a run of changed words
is shown once as deleted and once as inserted, so a reader sees both versions of the
passage side by side. Everything is escaped: only the markup added here is HTML.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_TOKENS = re.compile(r"\s+|[^\s]+")


def _tokens(text: str) -> list[str]:
    return _TOKENS.findall(text)


def word_diff(old: str, new: str) -> tuple[SafeString, SafeString]:
    """Return ``(old, new)`` as HTML, the words only one side has highlighted.

    The old text marks removed words with ``<del>``, the new one added words with
    ``<ins>``; unchanged words are plain escaped text in both.
    """
    before, after = _tokens(old), _tokens(new)
    matcher = SequenceMatcher(a=before, b=after, autojunk=False)
    old_html: list[str] = []
    new_html: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        removed, added = "".join(before[i1:i2]), "".join(after[j1:j2])
        if tag == "equal":
            old_html.append(escape(removed))
            new_html.append(escape(added))
            continue
        if removed:
            old_html.append(f"<del>{escape(removed)}</del>")
        if added:
            new_html.append(f"<ins>{escape(added)}</ins>")
    return mark_safe("".join(old_html)), mark_safe("".join(new_html))  # noqa: S308
