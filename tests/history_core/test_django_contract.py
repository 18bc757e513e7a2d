"""Contracts of the Django and driver details in ``history_core.compat``.

Each test names the detail it guards: when a release changes one, the failure says
which, before any behaviour test does.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models
from django.db.models.signals import pre_save
from django.test.utils import isolate_apps

from catalog.models import Product
from history_core import compat, register
from history_core.database import execute_wrapper


@pytest.mark.django_db
def test_contract_connection_execute_wrappers_is_a_list_we_can_join() -> None:
    assert isinstance(connection.execute_wrappers, list)
    with connection.cursor():
        pass
    assert execute_wrapper in connection.execute_wrappers


@pytest.mark.django_db
def test_contract_connection_connection_is_the_dbapi_connection() -> None:
    with connection.cursor():
        pass
    raw = compat.raw_connection(connection)
    assert hasattr(raw, "cursor") and hasattr(raw, "commit")


@pytest.mark.django_db
def test_contract_cursor_wrapper_exposes_the_driver_cursor() -> None:
    with connection.cursor() as cursor:
        assert hasattr(cursor, "cursor")
        if connection.vendor == "postgresql":
            # Django's default psycopg 3 setup binds on the client side.
            assert compat.accepts_several_statements(cursor)


def test_contract_options_auto_created_marks_m2m_tables() -> None:
    through = get_user_model().groups.through
    assert compat.is_auto_created(through)
    assert not compat.is_auto_created(Product)


@pytest.mark.django_db
def test_contract_queryset_raw_delete_deletes_without_collecting(
    make_product: Any,
) -> None:
    make_product()
    assert compat.raw_delete(Product.objects.all(), connection.alias) == 1


@pytest.mark.django_db
def test_contract_save_base_runs_a_save_in_its_own_frame(make_product: Any) -> None:
    depths: list[int] = []

    def record(sender: Any, **kwargs: Any) -> None:
        depths.append(compat.save_depth())

    pre_save.connect(record, sender=Product, weak=False, dispatch_uid="contract")
    try:
        make_product()
    finally:
        pre_save.disconnect(sender=Product, dispatch_uid="contract")
    assert depths == [1]
    assert compat.save_depth() == 0


def test_contract_composite_primary_keys_are_recognised() -> None:
    with isolate_apps("tests.testapp"):

        class Pair(models.Model):
            pk = models.CompositePrimaryKey("left", "right")
            left = models.IntegerField()
            right = models.IntegerField()

            class Meta:
                app_label = "testapp"

            def __str__(self) -> str:
                return f"{self.left}-{self.right}"

        assert compat.has_composite_pk(Pair)
        with pytest.raises(ImproperlyConfigured, match="composite primary key"):
            register(Pair, app="testapp")
    assert not compat.has_composite_pk(Product)
