"""Multi-table children of a tracked model: they work, untouched by its tracking."""

from __future__ import annotations

import pytest

from tests.testapp.models import Document, Memo


@pytest.mark.django_db(transaction=True)
def test_untracked_child_of_a_tracked_model_saves_updates_and_deletes() -> None:
    memo = Memo.objects.create(title="Child", urgent=True)
    memo.body = "edited"
    memo.urgent = False
    memo.save()
    Memo.objects.filter(pk=memo.pk).update(urgent=True)
    stored = Memo.objects.get(pk=memo.pk)
    assert (stored.body, stored.urgent) == ("edited", True)
    assert not hasattr(Memo, "history") or Memo.history.model is Document.history.model
    stored.delete()
    assert not Memo.objects.filter(pk=memo.pk).exists()
    assert not Document.objects.filter(pk=memo.pk).exists()


@pytest.mark.django_db
def test_deleting_a_child_records_the_tracked_parent_row_deleted() -> None:
    memo = Memo.objects.create(title="Gone soon")
    pk = memo.pk
    memo.delete()
    assert list(
        Document.history.filter(id=pk).values_list("history_type", flat=True)
    ) == ["-"]
