"""Models that override Django's save internals keep them called and respected."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from tests.testapp.models import TenantNote, current_tenant

from .helpers import versions


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    TenantNote.calls.clear()


@pytest.mark.django_db
def test_overrides_are_called_and_their_narrowed_update_is_respected() -> None:
    note = TenantNote.objects.create(tenant="a", text="v1")
    assert TenantNote.calls == ["save_base", "_do_insert"]

    note.text = "v2"
    note.save()
    assert TenantNote.calls[-2:] == ["save_base", "_do_update"]
    assert versions(note, "text") == [("+", "v1"), ("~", "v2")]

    # Another tenant's save: the override's UPDATE matches no row, so Django goes
    # on to INSERT, which clashes; nothing changes and nothing is recorded.
    token = current_tenant.set("b")
    try:
        note.text = "stolen"
        with pytest.raises(IntegrityError), transaction.atomic():
            note.save()
    finally:
        current_tenant.reset(token)

    note.refresh_from_db()
    assert note.text == "v2"
    assert versions(note, "text") == [("+", "v1"), ("~", "v2")]
