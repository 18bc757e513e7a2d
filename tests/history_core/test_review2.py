"""Second review: bulk paths of models related to tracked ones by inheritance.

Each test pins a bug found in review; they are marked xfail(strict=True) until fixed.
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


@pytest.mark.xfail(
    strict=True,
    reason="bulk.py: an untracked MTI child's update() writes the tracked parent's "
    "table (Django's related_updates) without recording the parent's version",
)
def test_child_queryset_update_of_a_parent_field_records_the_parent() -> None:
    memo = Memo.objects.create(title="Before")
    assert Memo.objects.filter(pk=memo.pk).update(title="After") == 1
    assert Document.objects.get(pk=memo.pk).title == "After"
    assert _document_versions(memo.pk, "title") == [("+", "Before"), ("~", "After")]


@pytest.mark.xfail(
    strict=True,
    reason="bulk.py: an untracked MTI child's bulk_update() of a parent field "
    "records no version of the tracked parent row",
)
def test_child_bulk_update_of_a_parent_field_records_the_parent() -> None:
    memo = Memo.objects.create(title="Before")
    memo.title = "After"
    Memo.objects.bulk_update([memo], ["title"])
    assert _document_versions(memo.pk, "title") == [("+", "Before"), ("~", "After")]


@pytest.mark.xfail(
    strict=True,
    reason="bulk.py _options: live_options(queryset.model) is None for a proxy, so "
    "update() through a proxy's manager is not captured",
)
def test_proxy_queryset_update_is_captured() -> None:
    document = DocumentProxy.objects.create(title="Proxy")
    DocumentProxy.objects.filter(pk=document.pk).update(body="changed")
    assert _document_versions(document.pk, "body", "history_changed_fields") == [
        ("+", "", []),
        ("~", "changed", ["body"]),
    ]


@pytest.mark.xfail(
    strict=True,
    reason="bulk.py _options: bulk_create through a proxy's manager records nothing",
)
def test_proxy_bulk_create_is_captured() -> None:
    (document,) = DocumentProxy.objects.bulk_create([DocumentProxy(title="Bulk")])
    assert _document_versions(document.pk) == [("+",)]


@pytest.mark.xfail(
    strict=True,
    reason="tracking.py: post_delete/pre_delete are connected for the concrete "
    "sender only; deleting a proxy instance records no '-' version",
)
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


@pytest.mark.xfail(
    strict=True,
    reason="capture.insert_from_table copies every concrete column (inherited ones "
    "included) FROM the child's own table: PostgreSQL raises, SQLite stores the "
    "column names as string literals",
)
def test_tracked_child_queryset_update_records_the_stored_row() -> None:
    notice = Notice.objects.create(name="Notice", pinned=False)
    assert Notice.objects.filter(pk=notice.pk).update(pinned=True) == 1
    history = notice.history.order_by("history_date", "history_id")
    assert list(history.values_list("history_type", "id", "name", "pinned")) == [
        ("+", notice.pk, "Notice", False),
        ("~", notice.pk, "Notice", True),
    ]
