"""Multi-table children of a tracked model: they work, and the parent's rows keep
their history whichever class saved them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

from tests.testapp.models import Document, Memo


def _types(pk: Any) -> list[str]:
    records = Document.history.filter(id=pk).order_by("history_date", "history_id")
    return [r.history_type for r in records]


@pytest.mark.django_db(transaction=True)
def test_saving_a_child_records_the_tracked_parent_row() -> None:
    memo = Memo.objects.create(title="Child", urgent=True)
    memo.body = "edited"
    memo.urgent = False
    memo.save()
    memo.urgent = True
    memo.save()  # only the child's own column changed: nothing for the parent
    pk = memo.pk
    assert _types(pk) == ["+", "~"]
    latest = Document.history.filter(id=pk).latest()
    assert latest.body == "edited"
    assert latest.history_changed_fields == ["body", "updated_at"]
    memo.delete()
    assert _types(pk) == ["+", "~", "-"]
    assert not Document.objects.filter(pk=pk).exists()


@pytest.mark.django_db(transaction=True)
def test_child_save_and_parent_snapshot_roll_back_together() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        Memo.objects.create(title="Never")
        raise RuntimeError
    assert not Document.history.filter(title="Never").exists()


@pytest.mark.django_db
def test_untracked_child_queryset_paths_work() -> None:
    memo = Memo.objects.create(title="Child")
    assert Memo.objects.filter(pk=memo.pk).update(urgent=True) == 1
    assert Memo.objects.get(pk=memo.pk).urgent is True
    assert connection.vendor in {"sqlite", "postgresql"}
