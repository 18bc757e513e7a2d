"""Fixtures of the history_core tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from catalog.models import Product

from .helpers import Clock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[Clock]:
    """Freeze ``django.utils.timezone.now``, and date versions by it (CLOCK)."""
    settings.HISTORY_CORE = {"CLOCK": "python"}
    frozen = Clock()
    monkeypatch.setattr("django.utils.timezone.now", frozen)
    yield frozen


@pytest.fixture
def products(make_product: Any) -> Any:
    """Create ``n`` products priced 10.00: ``products(3)``."""

    def make(n: int, **kwargs: Any) -> list[Product]:
        return [make_product(**kwargs) for _ in range(n)]

    return make
