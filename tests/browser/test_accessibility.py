"""Accessibility: axe-core's WCAG 2 A/AA rules on every history screen, light and dark.

Each screen is checked where our own markup lives (the admin's ``#content``, the
whole version history page); a serious or critical violation fails the test and is
printed with its rule, help text and target selectors (see tests/browser/axe.py).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

import history_core
from catalog.models import Category, Product
from tests.browser.axe import assert_accessible, axe_script

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("scheme", ["light", "dark"]),
]

PRODUCT = "/admin/catalog/product"
ACTIONS = ("view", "change", "add", "delete")


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_script()


@pytest.fixture
def editor() -> Any:
    user = get_user_model().objects.create_user(
        "editor", password="pw-123456", is_staff=True
    )
    codenames = [f"{a}_{m}" for a in ACTIONS for m in ("product", "category")]
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="catalog", codename__in=codenames
        )
    )
    return user


@pytest.fixture
def laptop(editor: Any) -> Product:
    """Three versions of a product, and a deleted one to recover."""
    computers = Category.objects.create(name="Computers")
    furniture = Category.objects.create(name="Furniture")
    with history_core.context(user=editor, reason="Initial import"):
        product = Product.objects.create(
            name="Laptop", price=Decimal("1200.00"), category=computers
        )
        gone = Product.objects.create(name="Desk", price=Decimal("300.00"))
    with history_core.context(user=editor, reason="Black Friday", ticket="CAT-42"):
        product.price = Decimal("999.00")
        product.category = furniture
        product.save()
    with history_core.context(user=editor, reason="Copy edit"):
        product.description = "Sleek and powerful computing"
        product.save()
    with history_core.context(user=editor, reason="Discontinued"):
        gone.delete()
    return product


Opener = Callable[..., Any]


def admin(open_as: Opener, user: Any, path: str, scheme: str) -> Any:
    page = open_as(user, path, scheme)
    expect(page.locator("#content")).to_be_visible()
    return page


def test_admin_history(
    open_as: Opener, axe: str, editor: Any, laptop: Product, scheme: str
) -> None:
    page = admin(open_as, editor, f"{PRODUCT}/{laptop.pk}/history/", scheme)
    assert_accessible(page, axe, "#content")


def test_admin_compare(
    open_as: Opener, axe: str, editor: Any, laptop: Product, scheme: str
) -> None:
    page = admin(open_as, editor, f"{PRODUCT}/{laptop.pk}/history/compare/", scheme)
    assert_accessible(page, axe, "#content")


def test_admin_revert_preview(
    open_as: Opener, axe: str, editor: Any, laptop: Product, scheme: str
) -> None:
    first = laptop.history.order_by("history_id").first().history_id
    path = f"{PRODUCT}/{laptop.pk}/history/{first}/revert/"
    page = admin(open_as, editor, path, scheme)
    assert_accessible(page, axe, "#content")


def test_admin_recover_deleted(
    open_as: Opener, axe: str, editor: Any, laptop: Product, scheme: str
) -> None:
    page = admin(open_as, editor, f"{PRODUCT}/recover/", scheme)
    assert_accessible(page, axe, "#content")
    page.get_by_role("link", name="Restore Desk").click()
    expect(page.get_by_role("button", name="Yes, restore")).to_be_visible()
    assert_accessible(page, axe, "#content")


def test_admin_change_log(
    open_as: Opener, axe: str, editor: Any, laptop: Product, scheme: str
) -> None:
    page = admin(open_as, editor, "/admin/history_core/changelog/", scheme)
    expect(page.locator("#hc-change-log")).to_be_visible()
    assert_accessible(page, axe, "#content")


def test_version_history_page(
    open_as: Opener, axe: str, editor: Any, laptop: Product, scheme: str
) -> None:
    path = f"/history/catalog.product/{laptop.pk}/"
    page = open_as(editor, path, scheme, bypass_csp=True)
    entries = page.locator("ol.timeline > li")
    expect(entries).to_have_count(3)
    assert_accessible(page, axe, "body")  # the timeline

    entries.last.get_by_role("button", name="Compare with current").click()
    expect(page.locator("table.diff").first.locator("caption")).to_be_visible()
    assert_accessible(page, axe, "body")  # the compare tab

    page.get_by_role("tab", name="As of a date").click()
    expect(page.locator(".as-of-card")).to_contain_text("Laptop")
    assert_accessible(page, axe, "body")  # the as-of tab

    page.get_by_role("tab", name="Timeline").click()
    entries.last.get_by_role("button", name="Revert to this version…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Preview: these fields will change")).to_be_visible()
    assert_accessible(page, axe, "body")  # the open revert dialog
    assert page.js_errors == []
