"""``TRUNCATE`` of a tracked table records the deletion of every row it empties.

PostgreSQL only: SQLite has no ``TRUNCATE`` (its ``DELETE FROM t`` with no
``WHERE`` fires the row triggers like any delete). ``flush`` and ``prune_history``
empty tables on purpose and record nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from history_core import context
from history_core.database import pruning
from tests.testapp.models import Comment, Document, Memo

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite has no TRUNCATE"
    ),
]


def _rows() -> dict[str, Any]:
    first = Document.objects.create(title="first", body="one")
    second = Document.objects.create(title="second", body="two")
    memo = Memo.objects.create(title="memo", body="three", urgent=True)
    comment = Comment.objects.create(document=first, text="hello")
    with connection.cursor() as cursor:  # PostgreSQL truncates no table with
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # foreign keys to check
    return {"docs": [first.pk, second.pk, memo.pk], "comment": comment.pk}


def _deletions(model: Any) -> list[Any]:
    return list(model.history.filter(history_type="-").order_by(model._meta.pk.attname))


def test_truncate_records_every_row_it_empties_with_its_context(user: Any) -> None:
    made = _rows()
    with context(user=user, reason="start over"), connection.cursor() as cursor:
        cursor.execute("TRUNCATE testapp_document CASCADE")

    docs = _deletions(Document)
    assert [d.id for d in docs] == made["docs"]
    assert [(d.title, d.body) for d in docs] == [
        ("first", "one"),
        ("second", "two"),
        ("memo", "three"),
    ]
    assert {(d.history_user_id, d.history_change_reason) for d in docs} == {
        (user.pk, "start over")
    }
    # CASCADE emptied the comments too: their deletion is recorded as well.
    assert [c.id for c in _deletions(Comment)] == [made["comment"]]
    assert not Document.objects.exists() and not Comment.objects.exists()


def test_a_rolled_back_truncate_leaves_no_version() -> None:
    _rows()
    with pytest.raises(RuntimeError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE testapp_document CASCADE")
        raise RuntimeError("changed my mind")
    assert _deletions(Document) == [] and Document.objects.count() == 3


def test_truncate_while_pruning_records_nothing() -> None:
    _rows()
    with pruning(connection.alias), connection.cursor() as cursor:
        cursor.execute("TRUNCATE testapp_document CASCADE")
    assert _deletions(Document) == [] and _deletions(Comment) == []


@pytest.mark.django_db(transaction=True)
def test_flush_records_nothing_and_capture_goes_on() -> None:
    _rows()
    call_command("flush", interactive=False, verbosity=0)
    assert not Document.history.exists()
    Document.objects.create(title="after flush")
    assert Document.history.count() == 1
