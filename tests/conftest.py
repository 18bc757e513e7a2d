"""Shared fixtures: users and small factories."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Category, Product

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _no_login_failures_yet() -> None:
    """The login throttle counts failures in the cache: each test starts with none."""
    cache.clear()


@pytest.fixture
def user(db: Any) -> Any:
    return get_user_model().objects.create_user("alice", password="secret-pass-1")


@pytest.fixture
def other_user(db: Any) -> Any:
    return get_user_model().objects.create_user("bob", password="secret-pass-2")


@pytest.fixture
def make_product(db: Any) -> Any:
    def make(**kwargs: Any) -> Product:
        n = next(_counter)
        values: dict[str, Any] = {"name": f"Product {n}", "price": Decimal("10.00")}
        values.update(kwargs)
        return Product.objects.create(**values)

    return make


@pytest.fixture
def make_category(db: Any) -> Any:
    def make(**kwargs: Any) -> Category:
        values: dict[str, Any] = {"name": f"Category {next(_counter)}"}
        values.update(kwargs)
        return Category.objects.create(**values)

    return make


@pytest.fixture
def queries() -> Any:
    """Capture the SQL of a block: ``with queries() as q: ...; q.captured_queries``."""

    def capture() -> CaptureQueriesContext:
        return CaptureQueriesContext(connection)

    return capture
