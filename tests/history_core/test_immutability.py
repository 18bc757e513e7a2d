"""History is written by the engine only: no ORM path or SQL statement rewrites it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from history_core import ImmutableHistoryError, register


@pytest.fixture
def record(make_product: Any) -> Any:
    return make_product(price="1.00").history.get()


@pytest.mark.django_db
def test_base_manager_refuses_updates_and_deletes(record: Any) -> None:
    historical = type(record)
    with pytest.raises(ImmutableHistoryError):
        historical._base_manager.filter(pk=record.pk).update(price=2)
    with pytest.raises(ImmutableHistoryError):
        historical._base_manager.filter(pk=record.pk).delete()
    assert historical._base_manager.get().price == 1


@pytest.mark.django_db
def test_bulk_create_with_update_conflicts_is_refused(record: Any) -> None:
    historical = type(record)
    copy = historical.objects.get(pk=record.pk)
    copy.price = 99
    with pytest.raises(ImmutableHistoryError, match="update_conflicts"):
        historical.objects.bulk_create(
            [copy],
            update_conflicts=True,
            unique_fields=["history_id"],
            update_fields=["price"],
        )
    assert historical.objects.get().price == 1


@pytest.mark.django_db
def test_update_or_create_of_a_version_is_refused(record: Any) -> None:
    with pytest.raises(ImmutableHistoryError):
        type(record).objects.update_or_create(
            history_id=record.pk, defaults={"price": 5}
        )


@pytest.mark.django_db
def test_loading_a_fixture_over_stored_versions_is_refused(
    record: Any, tmp_path: Path
) -> None:
    data = json.loads(serializers.serialize("json", [record]))
    data[0]["fields"]["price"] = "77.00"
    fixture = tmp_path / "history.json"
    fixture.write_text(json.dumps(data))

    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"):
        call_command("loaddata", str(fixture), stdout=io.StringIO())
    assert type(record).objects.get().price == 1


@pytest.mark.django_db
def test_a_fixture_of_new_versions_loads_as_new_rows(
    record: Any, tmp_path: Path
) -> None:
    data = json.loads(serializers.serialize("json", [record]))
    data[0]["pk"] = record.pk + 1000
    fixture = tmp_path / "history.json"
    fixture.write_text(json.dumps(data))

    call_command("loaddata", str(fixture), stdout=io.StringIO())

    assert type(record).objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE catalog_historicalproduct SET price = 5",
        "DELETE FROM catalog_historicalproduct",
    ],
)
def test_the_database_refuses_rewriting_history(record: Any, sql: str) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert type(record).objects.get().price == 1


@pytest.mark.django_db
def test_prune_history_may_delete(make_product: Any) -> None:
    product = make_product(price="1.00")
    product.price = 2
    product.save()

    call_command("prune_history", "--keep-last", "1", stdout=io.StringIO())

    assert [r.price for r in product.history.all()] == [2]


def test_auto_created_many_to_many_tables_are_refused() -> None:
    through = get_user_model().groups.through  # user.groups.add() writes here
    with pytest.raises(ImproperlyConfigured, match="many-to-many"):
        register(through, app="testapp")
