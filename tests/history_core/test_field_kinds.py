"""Every kind of field is copied into history correctly, on every write path."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import F

from history_core import get_options
from history_core.database import pruning
from tests.testapp.models import Document, Measure, Node, Queue, Ticket

from .helpers import versions


@pytest.mark.django_db
def test_self_foreign_key_points_at_the_live_model() -> None:
    root = Node.objects.create(label="root")
    child = Node.objects.create(label="child", parent=root)

    record = child.history.get()

    assert record.parent_id == root.pk
    assert record.parent == root  # the live Node, not one of its versions
    historical = get_options(Node).historical_model
    assert historical._meta.get_field("parent").related_model is Node


@pytest.mark.django_db
def test_uuid_primary_key_paths_record_versions() -> None:
    made = Node.objects.bulk_create([Node(label=f"n{i}") for i in range(3)])
    Node.objects.filter(pk__in=[n.pk for n in made]).update(label="renamed")
    for node in made:
        node.label = f"again {node.pk}"
    Node.objects.bulk_update(made, ["label"])
    Node.objects.filter(pk=made[0].pk).delete()

    assert [kind for kind, _ in versions(made[0], "label")] == ["+", "~", "~", "-"]
    assert versions(made[1], "label")[-1] == ("~", f"again {made[1].pk}")
    assert isinstance(made[1].history.latest().id, uuid.UUID)


@pytest.mark.django_db
def test_populate_history_handles_uuid_keys() -> None:
    node = Node.objects.create(label="old row")
    with pruning("default"):
        Node.history.filter(id=node.pk)._raw_delete("default")

    call_command("populate_history", "--model", "testapp.Node", stdout=io.StringIO())

    assert versions(node, "label") == [("+", "old row")]


@pytest.mark.django_db
def test_foreign_key_to_a_later_model_keeps_its_to_field() -> None:
    queue = Queue.objects.create(code="OPS")
    ticket = Ticket.objects.create(title="Disk full", queue=queue)

    record = ticket.history.get()

    assert record.queue_id == "OPS"
    assert record.queue == queue
    field: Any = get_options(Ticket).historical_model._meta.get_field("queue")
    assert field.target_field.name == "code"


@pytest.mark.django_db
def test_generated_field_versions_hold_the_new_value() -> None:
    measure = Measure.objects.create(width=2, height=3)
    measure.width = 5
    measure.save()
    Measure.objects.filter(pk=measure.pk).update(height=F("height") + 1)

    assert versions(measure, "area") == [("+", 6), ("~", 15), ("~", 20)]


@pytest.mark.django_db
def test_deleting_rows_without_history_with_only_pk_records_the_full_row() -> None:
    document = Document.objects.create(title="Old", body="kept in history")
    with pruning("default"):
        Document.history.filter(id=document.pk)._raw_delete("default")

    Document.objects.filter(pk=document.pk).only("pk").delete()

    assert versions(document, "title", "body") == [("-", "Old", "kept in history")]


def test_historical_copies_keep_field_defaults() -> None:
    historical = get_options(Document).historical_model
    assert historical._meta.get_field("version").default == 1
    measure = get_options(Measure).historical_model
    assert measure._meta.get_field("colour").default == "blue"
