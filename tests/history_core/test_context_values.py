"""Nothing a context holds, or a request sends, makes the host application's write fail.

Whatever the values (NUL, lone surrogates, NaN and infinities, huge numbers and
strings, keys that are not strings, deep and self-containing structures), the
write succeeds on both databases and the version stores exactly what
``history_core.payload.storable`` documents: the value itself where every database
can hold it, a documented replacement where not.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import Product
from history_core import context
from history_core.payload import ELLIPSIS, MAX_STRING, storable, storable_text

EVERY_CHARACTER = st.characters(codec=None, categories=None)  # NUL, surrogates too
TEXT = st.text(EVERY_CHARACTER, max_size=40)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**70)
    | st.floats()  # NaN and infinities included
    | st.decimals(allow_nan=True)
    | TEXT
)
KEYS = TEXT | st.integers() | st.booleans() | st.none() | st.floats() | st.tuples(TEXT)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(KEYS, inner, max_size=4)
    ),
    max_leaves=12,
)
HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _as_stored(value: Any) -> Any:
    """What reading the stored JSON back gives for ``value``."""
    return _Numbers(json.loads(json.dumps(storable(value), allow_nan=False)))


class _Numbers:
    """Equal to JSON read back where numbers are equal as the text they print as.

    PostgreSQL's ``jsonb`` keeps a number's decimal value, not its Python type:
    ``5.3e16`` comes back as the integer ``53000000000000000``.
    """

    def __init__(self, expected: Any) -> None:
        self.expected = expected

    def __eq__(self, actual: object) -> bool:
        return _same(self.expected, actual)

    def __repr__(self) -> str:
        return repr(self.expected)


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) and isinstance(actual, int | float):
        return float(actual) == expected
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            _same(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(_same, expected, actual))
    return type(expected) is type(actual) and bool(expected == actual)


@pytest.mark.django_db
@HYPOTHESIS
@given(reason=TEXT, value=JSONISH)
def test_any_context_value_is_stored_as_documented_and_never_fails_the_write(
    make_product: Any, reason: str, value: Any
) -> None:
    product = make_product()
    product.name = "changed"
    with context(reason=reason, value=value):
        product.save()
    record = product.history.latest()
    assert record.name == "changed"
    assert record.history_change_reason == storable_text(reason)
    assert record.history_context == {"value": _as_stored(value)}


@pytest.mark.django_db
@HYPOTHESIS
@given(reason=TEXT, meta=st.dictionaries(TEXT, JSONISH, max_size=3))
def test_an_instance_reason_and_bulk_writes_store_the_same(
    make_product: Any, reason: str, meta: dict[str, Any]
) -> None:
    product = make_product()
    product._change_reason = reason
    product.name = "renamed"
    with context(**{"meta": meta}):
        product.save()
        Product.objects.filter(pk=product.pk).update(name="updated")
    saved, updated = product.history.order_by("-history_date", "-history_id")[:2][::-1]
    # An empty instance reason is no reason, as ever.
    assert saved.history_change_reason == (storable_text(reason) or None)
    assert updated.history_change_reason is None
    assert (
        saved.history_context == updated.history_context == {"meta": _as_stored(meta)}
    )


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("a\x00b", "a\ufffdb"),
        ("\ud800 lone", "\ufffd lone"),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (2**63, str(2**63)),
        (-(2**63), -(2**63)),
        (10**5000, f"{10**5000:x} (hexadecimal)"),
        (Decimal("NaN"), "NaN"),
        (
            {1: "a", None: "b", False: "c", (1, 2): "d"},
            {"1": "a", "null": "b", "false": "c", "(1, 2)": "d"},
        ),
        ({"k\x00": 1}, {"k\ufffd": 1}),
        ({3, 1, 2}, [1, 2, 3]),
        ("x" * (MAX_STRING + 10), "x" * (MAX_STRING - 1) + ELLIPSIS),
    ],
    ids=lambda value: type(value).__name__,
)
@pytest.mark.django_db
def test_each_replacement_is_the_documented_one(
    make_product: Any, value: Any, stored: Any
) -> None:
    product = make_product()
    with context(reason="r", value=value):
        product.delete()
    assert Product.history.latest().history_context == {"value": stored}


@pytest.mark.django_db
def test_self_containing_and_too_deep_values_are_cut() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    deep: Any = "bottom"
    for _ in range(200):
        deep = [deep]
    with context(loop=loop, deep=deep):
        Product.objects.create(name="n", price=1)
    stored = Product.history.latest().history_context
    assert stored["loop"] == [1, ELLIPSIS]
    depth = 0
    node = stored["deep"]
    while isinstance(node, list):
        node, depth = node[0], depth + 1
    assert (node, depth) == (ELLIPSIS, 63)


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


@pytest.mark.django_db
def test_an_object_whose_str_fails_is_named_by_its_type() -> None:
    with context(thing=Unprintable(), reason=Unprintable()):  # type: ignore[arg-type]
        Product.objects.create(name="n", price=1)
    record = Product.history.latest()
    assert record.history_context == {"thing": "<Unprintable>"}
    assert record.history_change_reason == "<Unprintable>"


# -- what an anonymous request sends -----------------------------------------------


@pytest.mark.django_db
@pytest.mark.urls("tests.history_core.urls")
@HYPOTHESIS
@given(
    suffix=st.text(EVERY_CHARACTER, max_size=30),
    request_id=st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=30),
)
def test_any_request_path_and_header_leave_the_write_recorded(
    make_product: Any, suffix: str, request_id: str
) -> None:
    product = make_product()
    path = f"/rename-any/{product.pk}/{quote(suffix, safe='', errors='surrogatepass')}"
    response = Client(HTTP_X_REQUEST_ID=request_id).post(path, {"name": "web"})
    assert response.status_code == 200
    record = product.history.latest()
    assert record.name == "web"
    recorded = record.history_context
    assert "\x00" not in json.dumps(recorded)
    assert recorded["request"]["path"].startswith(f"/rename-any/{product.pk}/")


@pytest.mark.django_db
@pytest.mark.urls("tests.history_core.urls")
def test_a_nul_in_the_url_is_recorded_as_the_replacement_character(
    make_product: Any,
) -> None:
    product = make_product()
    response = Client().post(f"/rename-any/{product.pk}/a%00b", {"name": "web"})
    assert response.status_code == 200
    path = product.history.latest().history_context["request"]["path"]
    assert path == f"/rename-any/{product.pk}/a\ufffdb"
