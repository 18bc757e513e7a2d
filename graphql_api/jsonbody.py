"""Reading JSON from clients: bounded in size and nesting before it is parsed.

``json.loads`` recurses once per nesting level: 100,000 nested arrays raise
``RecursionError`` (an HTTP 500) after burning the stack. A linear scan of the
brackets outside strings refuses such documents first, and cheaply: most requests
have fewer brackets in total than the limit and skip the scan.
"""

from __future__ import annotations

import json
import re

from cross_web import HTTPException

MAX_JSON_DEPTH = 100
# A JSON string (possibly unterminated: it then runs to the end, so every character
# is looked at once), or a run of opening or of closing brackets.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[{]+|[\]}]+', re.DOTALL)


def nesting_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``text`` nests arrays and objects deeper than ``limit`` levels.

    Brackets inside strings do not count. Malformed JSON may be miscounted; it is
    refused by the parser anyway.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token[0] in "[{":
            depth += len(token)
            if depth > limit:
                return True
        elif token[0] in "]}":
            depth -= len(token)
    return False


def loads(data: str | bytes, what: str = "request body") -> object:
    """Parse client JSON, refusing what is not UTF-8, too deep or malformed.

    Args:
        data: the raw JSON text.
        what: what the text is, for the error message ("variables", ...).

    Raises:
        HTTPException: 400, with a message for the client.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as error:
        raise HTTPException(400, f"The {what} is not UTF-8.") from error
    if nesting_exceeds(text):
        raise HTTPException(
            400, f"The {what} nests JSON deeper than {MAX_JSON_DEPTH} levels."
        )
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise HTTPException(400, f"Unable to parse the {what} as JSON.") from error
