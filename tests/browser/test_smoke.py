"""The browser harness itself: a logged-in page reaches the admin index."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model


@pytest.mark.django_db(transaction=True)
def test_logged_in_staff_sees_the_admin_index(open_as: Any, shot: Any) -> None:
    admin = get_user_model().objects.create_superuser("root", password="pw-123456")
    page = open_as(admin, "/admin/")
    assert "Site administration" in page.inner_text("body")
    assert shot(page, "admin-index").stat().st_size > 0
    assert page.js_errors == []  # type: ignore[attr-defined]
