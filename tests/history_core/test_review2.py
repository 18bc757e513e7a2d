"""Second review: bulk paths of models related to tracked ones by inheritance.

Each test pins a bug found in review and since fixed.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.testapp.models import Document, Memo, Notice

pytestmark = pytest.mark.django_db


class DocumentProxy(Document):
    """A proxy of a tracked model: the same rows, another Python class."""

    class Meta:
        proxy = True
        app_label = "testapp"


def _document_versions(pk: Any, *fields: str) -> list[tuple[Any, ...]]:
    records = Document.history.filter(id=pk).order_by("history_date", "history_id")
    return list(records.values_list("history_type", *fields))


def test_child_queryset_update_of_a_parent_field_records_the_parent() -> None:
    memo = Memo.objects.create(title="Before")
    assert Memo.objects.filter(pk=memo.pk).update(title="After") == 1
    assert Document.objects.get(pk=memo.pk).title == "After"
    assert _document_versions(memo.pk, "title") == [("+", "Before"), ("~", "After")]


def test_child_bulk_update_of_a_parent_field_records_the_parent() -> None:
    memo = Memo.objects.create(title="Before")
    memo.title = "After"
    Memo.objects.bulk_update([memo], ["title"])
    assert _document_versions(memo.pk, "title") == [("+", "Before"), ("~", "After")]


def test_proxy_queryset_update_is_captured() -> None:
    document = DocumentProxy.objects.create(title="Proxy")
    DocumentProxy.objects.filter(pk=document.pk).update(body="changed")
    assert _document_versions(document.pk, "body", "history_changed_fields") == [
        ("+", "", []),
        ("~", "changed", ["body"]),
    ]


def test_proxy_bulk_create_is_captured() -> None:
    (document,) = DocumentProxy.objects.bulk_create([DocumentProxy(title="Bulk")])
    assert _document_versions(document.pk) == [("+",)]


@pytest.mark.parametrize("how", ["instance", "queryset"])
def test_proxy_delete_is_captured(how: str) -> None:
    document = DocumentProxy.objects.create(title="Doomed")
    pk = document.pk
    if how == "instance":
        document.delete()
    else:
        DocumentProxy.objects.filter(pk=pk).delete()
    assert not Document.objects.filter(pk=pk).exists()
    assert _document_versions(pk) == [("+",), ("-",)]


def test_tracked_child_queryset_update_records_the_stored_row() -> None:
    notice = Notice.objects.create(name="Notice", pinned=False)
    assert Notice.objects.filter(pk=notice.pk).update(pinned=True) == 1
    history = notice.history.order_by("history_date", "history_id")
    assert list(history.values_list("history_type", "id", "name", "pinned")) == [
        ("+", notice.pk, "Notice", False),
        ("~", notice.pk, "Notice", True),
    ]
