"""Foreign keys that Django nulls or resets on delete: the change is recorded."""

from __future__ import annotations

import pytest

from tests.testapp.models import Document, Reminder, Sku


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["instance", "queryset"])
def test_set_null_on_delete_records_the_nulled_rows(how: str) -> None:
    document = Document.objects.create(title="Plan")
    reminders = [
        Reminder.objects.create(document=document, note=f"r{i}") for i in range(3)
    ]
    if how == "instance":
        document.delete()
    else:
        Document.objects.filter(pk=document.pk).delete()
    for reminder in reminders:
        latest = reminder.history.latest()
        assert latest.history_type == "~"
        assert latest.document_id is None
        assert latest.history_changed_fields == ["document"]
        reminder.refresh_from_db()
        assert reminder.document_id is None


@pytest.mark.django_db
def test_set_default_on_delete_records_the_reset_rows() -> None:
    sku = Sku.objects.create(code="S-1")
    reminder = Reminder.objects.create(sku=sku, note="restock")
    sku.delete()
    latest = reminder.history.latest()
    assert (latest.history_type, latest.sku_id) == ("~", None)
