"""The admin's history pages in a real browser, as a person uses them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

import history_core
from catalog.models import Category, Product

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCT = "/admin/catalog/product"


def staff(username: str, *codenames: str) -> Any:
    user = get_user_model().objects.create_user(
        username, password="pw-123456", is_staff=True
    )
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="catalog", codename__in=codenames
        )
    )
    return user


@pytest.fixture
def editor() -> Any:
    return staff(
        "editor",
        "view_product",
        "change_product",
        "add_product",
        "view_category",
        "change_category",
    )


@pytest.fixture
def auditor() -> Any:
    return staff("auditor", "view_product", "view_category")


@pytest.fixture
def laptop(editor: Any) -> Product:
    computers = Category.objects.create(name="Computers")
    with history_core.context(user=editor, reason="Initial import"):
        product = Product.objects.create(
            name="Laptop",
            price=Decimal("1200.00"),
            description="Powerful computing for work and play",
            category=computers,
        )
    with history_core.context(user=editor, reason="Black Friday"):
        product.price = Decimal("999.00")
        product.save()
    with history_core.context(user=editor, reason="Copy edit", ticket="CAT-42"):
        product.description = "Sleek and powerful computing for work and play"
        product.save()
    return product


def rows(page: Any) -> list[str]:
    return page.locator("#history-versions tbody tr").all_inner_texts()


def test_history_and_compare_two_versions(
    open_as: Any, shot: Any, editor: Any, laptop: Product
) -> None:
    page = open_as(editor, f"{PRODUCT}/{laptop.pk}/change/")
    assert "Last changed" in page.inner_text("#hc-latest-change")
    assert "Copy edit" in page.inner_text("#hc-latest-change")
    shot(page, "change-form")
    tools = page.locator(".object-tools")
    tools.get_by_role("link", name="History", exact=True).click()
    page.wait_for_url("**/history/")
    assert page.inner_text("h1") == "Change history: Laptop"
    texts = rows(page)
    assert len(texts) == 3
    assert "Copy edit" in texts[0] and "Initial import" in texts[2]
    assert "ticket=CAT-42" in texts[0]
    shot(page, "history")
    # Keyboard only: pick the first version as "from", then submit.
    page.get_by_label("Compare from version", exact=False).last.focus()
    page.keyboard.press("Space")
    button = page.get_by_role("button", name="Compare selected versions")
    assert button.is_enabled()
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/compare/**")
    assert "2 fields changed" in page.inner_text("#content-main")
    assert page.inner_text("#hc-changed del") == "Powerful"
    assert page.inner_text("#hc-changed ins") == "Sleek and powerful"
    assert "1200.00" in page.inner_text("#hc-changed")
    assert not page.locator("#hc-unchanged").is_visible()  # folded
    page.get_by_text("unchanged fields").click()
    assert "Computers" in page.inner_text("#hc-unchanged")
    shot(page, "compare")
    assert page.js_errors == []


def test_compare_in_dark_mode(
    open_as: Any, shot: Any, editor: Any, laptop: Product
) -> None:
    page = open_as(editor, f"{PRODUCT}/{laptop.pk}/history/compare/", "dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 18, 18)"  # the admin's dark --body-bg
    ins = page.locator("#hc-changed ins")
    assert ins.inner_text() == "Sleek and powerful"
    assert ins.evaluate("e => getComputedStyle(e).backgroundColor") != background
    shot(page, "compare-dark")


def test_preview_and_confirm_a_revert(
    open_as: Any, shot: Any, editor: Any, laptop: Product
) -> None:
    first = laptop.history.earliest().history_id
    page = open_as(editor, f"{PRODUCT}/{laptop.pk}/history/")
    page.get_by_role("link", name=f"Revert to this version ({first})").click()
    page.wait_for_url("**/revert/")
    preview = page.inner_text("#hc-preview")
    assert "999.00" in preview and "1200.00" in preview
    assert "2 fields will change" in page.inner_text("#content-main")
    shot(page, "revert-preview")
    page.get_by_label("Reason").fill("Back to launch price")
    confirm = page.get_by_role("button", name="Yes, revert")
    assert confirm.is_enabled()
    confirm.click()
    page.wait_for_url("**/history/")
    assert "Reverted Laptop to version" in page.inner_text(".messagelist")
    assert "Back to launch price" in rows(page)[0] and "Reverted" in rows(page)[0]
    shot(page, "reverted")
    laptop.refresh_from_db()
    assert laptop.price == Decimal("1200.00")


def test_a_conflicting_change_is_reported(
    open_as: Any, shot: Any, editor: Any, laptop: Product
) -> None:
    first = laptop.history.earliest().history_id
    page = open_as(editor, f"{PRODUCT}/{laptop.pk}/history/{first}/revert/")
    with history_core.context(reason="Someone else"):
        Product.objects.filter(pk=laptop.pk).update(name="Laptop Pro")
    page.get_by_role("button", name="Yes, revert").click()
    message = page.inner_text("#hc-conflict")
    assert "Nothing was reverted" in message and "changed after you opened" in message
    assert "Laptop Pro" in page.inner_text("#hc-preview")  # the fresh preview
    shot(page, "revert-conflict")
    laptop.refresh_from_db()
    assert laptop.price == Decimal("999.00")


def test_recover_a_deleted_object(
    open_as: Any, shot: Any, editor: Any, laptop: Product
) -> None:
    pk = laptop.pk
    with history_core.context(user=editor, reason="Discontinued"):
        laptop.delete()
    page = open_as(editor, f"{PRODUCT}/")
    page.get_by_role("link", name="Recover deleted products").click()
    table = page.inner_text("#hc-deleted")
    assert "Laptop" in table and "Discontinued" in table and "editor" in table
    shot(page, "recover-list")
    page.get_by_role("link", name="Restore Laptop").click()
    assert f"original key ({pk})" in page.inner_text("#content-main")
    shot(page, "restore-preview")
    page.get_by_role("button", name="Yes, restore").click()
    page.wait_for_url("**/history/")
    assert "Restored Laptop" in page.inner_text(".messagelist")
    assert Product.objects.get(pk=pk).name == "Laptop"


def test_filter_the_change_log(
    open_as: Any, shot: Any, editor: Any, laptop: Product
) -> None:
    page = open_as(editor, "/admin/")
    page.get_by_role("link", name="Change log").click()
    assert page.locator("#hc-change-log tbody tr").count() == 4
    page.get_by_label("Model").select_option("catalog.product")
    page.get_by_label("Reason contains").fill("friday")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**q=friday**")
    lines = page.locator("#hc-change-log tbody tr").all_inner_texts()
    assert len(lines) == 1 and "Black Friday" in lines[0]
    shot(page, "change-log")
    page.get_by_role("link", name="Laptop").click()
    assert page.inner_text("h1") == "Change history: Laptop"


def test_view_only_user_gets_no_revert_control(
    open_as: Any, shot: Any, auditor: Any, laptop: Product
) -> None:
    page = open_as(auditor, f"{PRODUCT}/{laptop.pk}/history/")
    assert len(rows(page)) == 3
    assert page.get_by_role("link", name="Revert to this version").count() == 0
    shot(page, "history-view-only")
    first = laptop.history.earliest().history_id
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    forged = page.request.post(
        page.url.replace("/history/", f"/history/{first}/revert/"),
        form={"expected_latest": str(laptop.history.latest().history_id)},
        headers={"X-CSRFToken": token, "Referer": page.url},
    )
    assert forged.status == 403
    page.goto(page.url.replace("/history/", f"/history/{first}/revert/"))
    assert "403 Forbidden" in page.inner_text("body")
    laptop.refresh_from_db()
    assert laptop.price == Decimal("999.00")
