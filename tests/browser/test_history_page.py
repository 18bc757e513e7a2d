"""The version history page in Chromium: what a person sees and can do.

The page (``/history/<app_label.model>/<id>/``) is the reference client of the
GraphQL API; these tests drive it as people would and assert on what they read:
text, and which controls are offered and enabled. Each screen is photographed
(``shot``). Versions are dated by a frozen clock, so dates read the same in every
run (the browser's time zone is Europe/Paris).
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

import history_core
from catalog.models import Category, Product
from graphql_api import resolvers

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime.datetime(2025, 3, 3, 8, 30, tzinfo=datetime.UTC)
EDITOR = ("view", "change", "add")


@pytest.fixture(autouse=True)
def python_clock(settings: Any) -> None:
    settings.HISTORY_CORE = {"CLOCK": "python"}


@contextmanager
def at(moment: datetime.datetime) -> Iterator[None]:
    """Date the versions written inside the block ``moment``."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def make_user(username: str, *actions: str) -> Any:
    user = get_user_model().objects.create_user(username, password="pw-12345678")
    codenames = [f"{a}_{m}" for a in actions for m in ("product", "category")]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def editor() -> Any:
    return make_user("editor", *EDITOR)


@pytest.fixture
def auditor() -> Any:
    return make_user("auditor", "view")


@pytest.fixture
def lamp(editor: Any) -> Product:
    """A product with a demo-like history: five versions by two people."""
    alice = make_user("alice", *EDITOR)
    with at(START):
        lighting = Category.objects.create(name="Lighting")
        furniture = Category.objects.create(name="Furniture")
    steps: list[tuple[Any, str, dict[str, Any]]] = [
        (
            alice,
            "New in the spring catalogue",
            {
                "price": Decimal("1249.00"),
                "description": "A brass desk lamp with a linen shade.",
                "category": lighting,
            },
        ),
        (editor, "Supplier raised prices", {"price": Decimal("1399.50")}),
        (
            alice,
            "Copy review",
            {"description": "A brushed brass desk lamp with a cream linen shade."},
        ),
        (editor, "Moved to the office range", {"category": furniture}),
    ]
    with at(START), history_core.context(user=alice, reason="First listing"):
        product = Product.objects.create(name="Desk lamp", price=Decimal("1199.00"))
    for day, (user, reason, values) in enumerate(steps, start=1):
        for name, value in values.items():
            setattr(product, name, value)
        moment = START + datetime.timedelta(days=day, hours=day)
        with at(moment), history_core.context(user=user, reason=reason):
            product.save()
    return product


def open_history(open_as: Any, user: Any, product: Any, **kwargs: Any) -> Any:
    page = open_as(user, f"/history/catalog.product/{product.pk}/", **kwargs)
    expect(page.get_by_role("tablist")).to_be_visible()
    return page


def entries(page: Any) -> Any:
    return page.locator("ol.timeline > li")


def test_the_timeline_says_who_when_why_and_what_changed(
    open_as: Any, shot: Any, editor: Any, lamp: Product
) -> None:
    page = open_history(open_as, editor, lamp)
    expect(page.get_by_role("heading", level=1)).to_have_text("Desk lamp")
    expect(entries(page)).to_have_count(5)
    newest = entries(page).first
    expect(newest).to_contain_text("Updated")
    expect(newest).to_contain_text("by editor")
    expect(newest).to_contain_text("“Moved to the office range”")
    # Foreign keys by name, money with two decimals, dates in the browser's zone.
    expect(newest).to_contain_text("Category: Lighting → Furniture")
    expect(entries(page).nth(2)).to_contain_text("Price: 1,249.00 → 1,399.50")
    expect(entries(page).nth(2)).to_contain_text("5 Mar 2025, 11:30:00")
    oldest = entries(page).last
    expect(oldest).to_contain_text("Created")
    expect(oldest).to_contain_text("1,199.00")
    expect(page.get_by_text("shown in your time zone (Europe/Paris)")).to_be_visible()
    expect(page.get_by_text("All 5 versions shown.")).to_be_visible()
    shot(page, "timeline")
    assert page.js_errors == []


def test_foreign_keys_are_named_as_they_were_at_each_version(
    open_as: Any, editor: Any
) -> None:
    with at(START):
        lighting = Category.objects.create(name="Lighting")
        furniture = Category.objects.create(name="Furniture")
        lamp = Product.objects.create(
            name="Lamp", price=Decimal("10.00"), category=lighting
        )
    lamp.category = furniture
    with at(START + datetime.timedelta(days=1)):
        lamp.save()
    lighting.name = "Lamps"  # renamed after the product left it
    with at(START + datetime.timedelta(days=2)):
        lighting.save()
    lamp.category = lighting
    with at(START + datetime.timedelta(days=3)):
        lamp.save()
    page = open_history(open_as, editor, lamp)
    expect(entries(page)).to_have_count(3)
    expect(entries(page).first).to_contain_text("Category: Furniture → Lamps")
    expect(entries(page).nth(1)).to_contain_text("Category: Lighting → Furniture")
    expect(entries(page).last).to_contain_text("Lighting")
    assert page.js_errors == []


def test_long_text_changes_show_the_words_changed(
    open_as: Any, editor: Any, lamp: Product
) -> None:
    page = open_history(open_as, editor, lamp)
    copy_review = entries(page).nth(1)
    expect(copy_review.locator("ins")).to_have_text(["brushed ", "cream "])
    assert page.js_errors == []


def test_more_versions_load_on_demand(
    open_as: Any, shot: Any, editor: Any, lamp: Product
) -> None:
    for i in range(20):
        lamp.price = Decimal(1400 + i)
        with at(START + datetime.timedelta(days=10, minutes=i)):
            lamp.save()
    page = open_history(open_as, editor, lamp)
    expect(entries(page)).to_have_count(20)
    expect(page.get_by_text("20 of 25 versions shown", exact=True)).to_be_visible()
    more = page.get_by_role("button", name="Load more versions")
    expect(more).to_be_enabled()
    more.click()
    expect(entries(page)).to_have_count(25)
    expect(page.get_by_text("All 25 versions shown.")).to_be_visible()
    expect(more).to_have_count(0)
    expect(entries(page).last).to_contain_text("Created")
    shot(page, "loaded-more")
    assert page.js_errors == []


def test_two_versions_side_by_side(
    open_as: Any, shot: Any, editor: Any, lamp: Product
) -> None:
    page = open_history(open_as, editor, lamp)
    entries(page).last.get_by_role("button", name="Compare with current").click()
    table = page.locator("table.diff").first
    expect(table.locator("caption")).to_have_text("3 fields differ")
    expect(table.get_by_role("row", name="Price")).to_contain_text("1,199.00")
    expect(table.get_by_role("row", name="Price")).to_contain_text("1,399.50")
    expect(table.get_by_role("row", name="Category")).to_contain_text("Furniture")
    expect(page.get_by_text("1 unchanged field")).to_be_visible()
    # Any two: choose them in the form.
    older = page.get_by_label("Older version")
    older.select_option(index=2)
    page.get_by_label("Newer version").select_option(index=1)
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(table.locator("caption")).to_have_text("1 field differs")
    expect(table.get_by_role("row", name="Description")).to_contain_text("brushed")
    shot(page, "compare")
    assert page.js_errors == []


def test_the_object_as_of_any_instant(
    open_as: Any, shot: Any, editor: Any, lamp: Product
) -> None:
    page = open_history(open_as, editor, lamp)
    page.get_by_role("tab", name="As of a date").click()
    card = page.locator(".as-of-card")
    expect(card).to_contain_text("Furniture")
    slider = page.get_by_label("Move through the versions")
    slider.focus()
    page.keyboard.press("Home")  # the oldest version
    expect(card).to_contain_text("1,199.00")
    expect(card).to_contain_text("Created by alice")
    shot(page, "as-of")
    picker = page.get_by_label("Or pick a date and time")
    picker.fill("2025-03-05T12:00:00")  # Paris time, between two versions
    page.get_by_role("button", name="Show").click()
    expect(card).to_contain_text("1,399.50")
    expect(card).to_contain_text("Lighting")
    picker.fill("2024-01-01T00:00:00")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("The product did not exist yet")).to_be_visible()
    assert page.js_errors == []


def _open_revert(page: Any, index: int) -> Any:
    entries(page).nth(index).get_by_role(
        "button", name="Revert to this version…"
    ).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Preview: these fields will change")).to_be_visible()
    return dialog


def test_revert_with_a_preview_and_a_confirmation(
    open_as: Any, shot: Any, editor: Any, lamp: Product
) -> None:
    page = open_history(open_as, editor, lamp)
    dialog = _open_revert(page, 2)  # the version before the copy review
    expect(dialog.locator("ul.changes")).to_contain_text(
        "Category: Furniture → Lighting"
    )
    expect(dialog.locator("ul.changes")).to_contain_text("cream")
    dialog.get_by_label("Reason (kept in the history)").fill("Back to spring")
    shot(page, "revert-preview")
    assert lamp.history.count() == 5  # a preview writes nothing
    dialog.get_by_role("button", name="Confirm revert").click()
    expect(page.get_by_role("status")).to_contain_text("Reverted to the version of")
    expect(entries(page)).to_have_count(6)
    expect(entries(page).first).to_contain_text("“Back to spring”")
    expect(entries(page).first).to_contain_text("Revert to version")
    # Focus is not lost on the body: it lands on the object's heading.
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    lamp.refresh_from_db()
    assert lamp.category is not None and lamp.category.name == "Lighting"
    shot(page, "reverted")
    assert page.js_errors == []


def test_a_conflicting_change_is_reported_with_a_reload(
    open_as: Any, shot: Any, editor: Any, lamp: Product
) -> None:
    page = open_history(open_as, editor, lamp)
    dialog = _open_revert(page, 1)
    lamp.name = "Desk lamp (changed elsewhere)"
    lamp.save()
    dialog.get_by_role("button", name="Confirm revert").click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("Someone changed this product after the page loaded")
    expect(alert).to_contain_text("latest")  # the API's own message comes first
    expect(dialog.get_by_role("button", name="Confirm revert")).to_be_disabled()
    shot(page, "conflict")
    dialog.get_by_role("button", name="Reload the history").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Desk lamp (changed elsewhere)"
    )
    expect(entries(page)).to_have_count(6)
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    assert page.js_errors == []


def test_a_deleted_object_is_restored(
    open_as: Any, shot: Any, editor: Any, lamp: Product
) -> None:
    pk = lamp.pk
    with at(START + datetime.timedelta(days=9)):
        lamp.delete()
    page = open_history(open_as, editor, Product(pk=pk))
    banner = page.get_by_role("region", name="This product was deleted")
    expect(banner).to_contain_text("by an unknown user")
    shot(page, "deleted")
    banner.get_by_role("button", name="Restore this product…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("The product will come back")).to_be_visible()
    dialog.get_by_role("button", name="Confirm restore").click()
    expect(page.get_by_role("status")).to_contain_text("The product was restored.")
    expect(banner).to_have_count(0)
    expect(entries(page).first).to_contain_text("Created")
    assert Product.objects.filter(pk=pk, name="Desk lamp").exists()
    assert page.js_errors == []


def test_a_reader_gets_no_revert_control_and_the_api_refuses_a_forged_one(
    open_as: Any, shot: Any, auditor: Any, lamp: Product
) -> None:
    page = open_history(open_as, auditor, lamp)
    expect(page.get_by_text("Reverting needs the change permission.")).to_be_visible()
    expect(entries(page)).to_have_count(5)
    expect(page.get_by_role("button", name="Revert to this version…")).to_have_count(0)
    expect(
        page.get_by_role("button", name="Compare with current").first
    ).to_be_enabled()
    shot(page, "reader")
    forged = page.evaluate(
        """async (id) => {
          const post = (query, token) => fetch("/graphql/", {
            method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-CSRFToken": token || ""},
            body: JSON.stringify({query}),
          }).then((r) => r.json());
          const token = (await post("{ csrfToken }")).data.csrfToken;
          return post(`mutation { revertProduct(id: "${id}", to: {historyId: "1"}) {
            ... on OperationInfo { messages { code message } } } }`, token);
        }""",
        str(lamp.pk),
    )
    message = forged["data"]["revertProduct"]["messages"][0]
    assert message["code"] == "FORBIDDEN"
    assert lamp.history.count() == 5
    assert page.js_errors == []


def test_an_anonymous_visitor_signs_in_through_the_api(
    open_as: Any, shot: Any, editor: Any, lamp: Product
) -> None:
    page = open_as(None, f"/history/catalog.product/{lamp.pk}/")
    expect(
        page.get_by_role("heading", name="Sign in to see this history")
    ).to_be_visible()
    shot(page, "sign-in")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Incorrect username or password.")
    page.get_by_label("Password").fill("pw-12345678")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Desk lamp")
    expect(page.get_by_text("Signed in as editor")).to_be_visible()
    # Mutations use the token login returned: a revert preview works right away.
    _open_revert(page, 1)
    assert page.js_errors == []


@pytest.mark.parametrize(
    ("actions", "path", "message", "hint"),
    [
        (
            (),
            "/history/catalog.product/{pk}/",
            "You need the catalog.view_product permission",
            "Ask an administrator",
        ),
        (
            ("view",),
            "/history/catalog.product/not-a-number/",
            "Malformed catalog.Product id.",
            "Check the object's id",
        ),
        (("view",), "/history/catalog.gadget/1/", "No tracked model", "the address"),
    ],
    ids=["no-permission", "malformed-id", "unknown-model"],
)
def test_api_errors_are_shown_with_what_to_do(
    open_as: Any,
    shot: Any,
    lamp: Product,
    actions: tuple[str, ...],
    path: str,
    message: str,
    hint: str,
) -> None:
    visitor = make_user("visitor", *actions)
    page = open_as(visitor, path.format(pk=lamp.pk))
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The history could not be shown")
    expect(alert).to_contain_text(message)
    expect(alert).to_contain_text(hint)
    expect(page.get_by_role("button", name="Try again")).to_be_enabled()
    shot(page, "error")
    assert page.js_errors == []


def test_an_object_without_history_has_an_empty_state(
    open_as: Any, shot: Any, editor: Any
) -> None:
    page = open_as(editor, "/history/catalog.product/424242/")
    expect(page.get_by_role("heading", name="No history recorded")).to_be_visible()
    expect(page.get_by_text("populate_history")).to_be_visible()
    shot(page, "empty")
    assert page.js_errors == []


def test_the_page_follows_a_dark_colour_scheme(
    open_as: Any, shot: Any, editor: Any, lamp: Product
) -> None:
    page = open_history(open_as, editor, lamp, color_scheme="dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 21, 27)"
    expect(entries(page)).to_have_count(5)
    shot(page, "dark")
    _open_revert(page, 1)
    shot(page, "dark-revert-preview")
    assert page.js_errors == []


def test_a_renewed_csrf_cookie_does_not_block_the_revert(
    open_as: Any, editor: Any, lamp: Product
) -> None:
    page = open_history(open_as, editor, lamp)
    dialog = _open_revert(page, 1)
    # The cookie is renewed (cleared, then set again by the next request): the
    # token the page holds is refused; nothing ran, so the page asks for a new one.
    page.context.clear_cookies(name="csrftoken")
    dialog.get_by_role("button", name="Confirm revert").click()
    expect(page.get_by_role("status")).to_contain_text("Reverted to the version of")
    expect(entries(page)).to_have_count(6)
    assert lamp.history.count() == 6
    assert page.js_errors == []


def test_a_session_that_expired_mid_revert_offers_to_sign_in_again(
    open_as: Any, editor: Any, lamp: Product
) -> None:
    page = open_history(open_as, editor, lamp)
    dialog = _open_revert(page, 1)
    page.context.clear_cookies(name="sessionid")  # the session ends meanwhile
    dialog.get_by_role("button", name="Confirm revert").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Log in to revert.")
    assert lamp.history.count() == 5
    dialog.get_by_role("button", name="Sign in again").click()
    expect(page.get_by_label("Username")).to_be_visible()
    assert page.js_errors == []


def test_a_failed_preview_keeps_the_confirmation_disabled(
    open_as: Any, editor: Any, lamp: Product
) -> None:
    page = open_history(open_as, editor, lamp)

    def no_dry_run(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        if (body.get("variables") or {}).get("dryRun") is True:
            route.abort()
        else:
            route.continue_()

    page.route("**/graphql/", no_dry_run)
    entries(page).nth(1).get_by_role("button", name="Revert to this version…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("alert")).to_contain_text("could not be reached")
    expect(dialog.get_by_role("button", name="Confirm revert")).to_be_disabled()
    page.unroute("**/graphql/")
    dialog.get_by_role("button", name="Preview again").click()
    expect(dialog.get_by_text("Preview: these fields will change")).to_be_visible()
    expect(dialog.get_by_role("alert")).to_have_count(0)
    expect(dialog.get_by_role("button", name="Confirm revert")).to_be_enabled()
    assert lamp.history.count() == 5
    assert page.js_errors == []


def test_versions_recorded_after_the_page_loaded_are_not_claimed_shown(
    open_as: Any, editor: Any, lamp: Product
) -> None:
    for i in range(20):
        lamp.price = Decimal(1400 + i)
        with at(START + datetime.timedelta(days=10, minutes=i)):
            lamp.save()
    page = open_history(open_as, editor, lamp)
    for i in range(2):  # meanwhile, elsewhere
        lamp.price = Decimal(1500 + i)
        with at(START + datetime.timedelta(days=11, minutes=i)):
            lamp.save()
    page.get_by_role("button", name="Load more versions").click()
    expect(entries(page)).to_have_count(25)  # keyset pages: no duplicate
    ids = entries(page).evaluate_all("els => els.map((e) => e.dataset.historyId)")
    assert len(set(ids)) == 25
    footer = page.locator(".timeline-footer")
    expect(footer).to_contain_text(
        "25 of 27 versions shown: 2 newer versions were recorded since the page loaded."
    )
    expect(page.get_by_text("All 27 versions shown.")).to_have_count(0)
    footer.get_by_role("button", name="Reload the history").click()
    expect(entries(page)).to_have_count(20)
    expect(entries(page).first).to_contain_text("1,501.00")
    assert page.js_errors == []


def test_only_the_last_moment_asked_for_is_shown(
    open_as: Any, editor: Any, lamp: Product, monkeypatch: Any
) -> None:
    page = open_history(open_as, editor, lamp)
    page.get_by_role("tab", name="As of a date").click()
    card = page.locator(".as-of-card")
    expect(card).to_contain_text("Furniture")
    as_of = resolvers.as_of
    answered = threading.Event()

    def slow_for_the_first_day(api: Any, info: Any, id: Any, timestamp: Any) -> Any:
        if timestamp == START:  # the oldest version: answered after the newest
            answered.wait(10)
        else:
            answered.set()
        return as_of(api, info, id, timestamp)

    monkeypatch.setattr(resolvers, "as_of", slow_for_the_first_day)
    slider = page.get_by_label("Move through the versions")
    slider.focus()
    page.keyboard.press("Home")
    page.keyboard.press("End")  # before the first answer came back
    page.wait_for_function(
        "() => !document.querySelector('.as-of-form button').disabled"
    )
    expect(page.locator(".slider-value")).to_contain_text("Updated by editor")
    expect(card).to_contain_text("as of 7 Mar 2025, 13:30:00")  # the newest
    expect(card).to_contain_text("Furniture")
    assert page.js_errors == []
