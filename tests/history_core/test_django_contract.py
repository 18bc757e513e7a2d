"""Contracts of the Django and driver details in ``history_core.compat``.

Each test names the detail it guards: when a release changes one, the failure says
which, before any behaviour test does.
"""

from __future__ import annotations

from decimal import Decimal
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


def test_contract_base_command_execute_is_wrapped_once_with_its_signature() -> None:
    import inspect

    from django.core.management.base import BaseCommand

    execute: Any = BaseCommand.execute
    assert execute._history_core is True
    original = inspect.signature(execute.__wrapped__)
    assert list(original.parameters) == ["self", "args", "options"]
    compat.wrap_command_execute(lambda original: original)  # idempotent
    assert BaseCommand.execute is execute


def test_contract_migrate_hands_its_progress_callback_to_the_executor() -> None:
    import inspect

    from django.core.management.commands import migrate

    command = migrate.Command()
    seen: list[tuple[str, Any, bool]] = []
    compat.wrap_migration_progress(command, lambda *report: seen.append(report))
    command.verbosity = 0
    command.migration_progress_callback("apply_start", "m", False)
    assert seen == [("apply_start", "m", False)]
    source = inspect.getsource(migrate)
    assert "MigrationExecutor(connection, self.migration_progress_callback)" in source
    parameters = inspect.signature(
        migrate.Command.migration_progress_callback
    ).parameters
    assert list(parameters) == ["self", "action", "migration", "fake"]


@pytest.mark.django_db
def test_contract_queryset_clone_is_what_chaining_calls(make_product: Any) -> None:
    product = make_product()
    assert callable(models.QuerySet._clone)
    chained: Any = product.history.filter(history_type="+").order_by("history_id")
    assert chained._object_pk == product.pk
    assert chained.as_of is not None


@pytest.mark.django_db
def test_contract_queryset_iterable_class_decides_what_iteration_yields(
    make_product: Any,
) -> None:
    product = make_product()
    assert models.QuerySet(Product)._iterable_class is models.query.ModelIterable

    class Names(models.query.ValuesListIterable):
        def __iter__(self) -> Any:
            for row in super().__iter__():
                yield f"<{row[0]}>"

    names = compat.iterate_with(Product.objects.values_list("name"), Names)
    assert list(names) == [f"<{product.name}>"]


def test_contract_query_where_is_empty_without_filters() -> None:
    assert not compat.filters_rows(Product.objects.all())
    assert compat.filters_rows(Product.objects.filter(pk=1))


@pytest.mark.django_db
def test_contract_manager_insert_writes_the_given_fields() -> None:
    fields = [f for f in Product._meta.concrete_fields if not f.primary_key]
    compat.insert_rows(
        Product._base_manager, [Product(name="raw", price=1)], fields, "default"
    )
    assert Product.objects.get().name == "raw"


def test_contract_field_db_converters_are_what_the_compiler_applies() -> None:
    field = Product._meta.get_field("price")
    col, converters = compat.db_converters(connection, field)
    assert col.target is field
    value: Any = 12.5 if connection.vendor == "sqlite" else Decimal("12.50")
    for converter in converters:
        value = converter(value, col, connection)
    assert str(value) == "12.50"


def test_contract_model_state_is_what_from_db_leaves() -> None:
    names = [f.attname for f in Product._meta.concrete_fields]
    django_from_db: Any = models.Model.from_db.__func__  # type: ignore[attr-defined]
    loaded = django_from_db(Product, "default", names, [None] * len(names))
    state = compat.loaded_state("default")
    assert type(state) is type(loaded._state)
    assert (state.adding, state.db) == (loaded._state.adding, loaded._state.db)
    assert state.fields_cache == {}
    assert state.fields_cache is not compat.loaded_state("default").fields_cache


def test_contract_signal_cache_knows_senders_without_receivers() -> None:
    from django.db.models.signals import post_init, pre_init
    from django.dispatch.dispatcher import NO_RECEIVERS

    historical = Product.history.model
    assert not compat.has_init_receivers(historical)
    for signal in (pre_init, post_init):
        assert signal.sender_receivers_cache.get(historical) is NO_RECEIVERS

    def receive(**kwargs: Any) -> None:
        pass

    for signal in (pre_init, post_init):
        signal.connect(receive, sender=historical, dispatch_uid="contract")
        try:
            assert compat.has_init_receivers(historical)
        finally:
            signal.disconnect(sender=historical, dispatch_uid="contract")
        assert not compat.has_init_receivers(historical)


def test_contract_field_attributes_that_only_store_the_value() -> None:
    with isolate_apps("tests.testapp"):

        class Kinds(models.Model):
            name = models.CharField(max_length=10)
            owner = models.ForeignKey("auth.User", on_delete=models.CASCADE)
            attachment = models.FileField()
            picture = models.ImageField(width_field="width")
            width = models.IntegerField(null=True)

            class Meta:
                app_label = "testapp"

            def __str__(self) -> str:
                return self.name

        stored = {
            f.attname: compat.stores_as_given(Kinds.__dict__[f.attname])
            for f in Kinds._meta.concrete_fields
        }
        assert stored == {
            "id": True,
            "name": True,
            "owner_id": True,
            "attachment": True,
            "picture": False,  # sets the width too
            "width": True,
        }
        fresh = Kinds.__new__(Kinds)
        fresh._state = compat.loaded_state("default")
        for attname, value in [("owner_id", 7), ("attachment", "a.txt")]:
            setattr(fresh, attname, value)
            assert fresh.__dict__[attname] == value
