"""The populate_history and prune_history management commands."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from catalog.models import Category, Product
from history_core import triggers
from history_core.database import pruning
from tests.testapp.models import Document

from .helpers import START, Clock, versions


def run(name: str, *args: str) -> str:
    """Run a management command; return what it printed."""
    out = io.StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def _forget_history(*objs: Any) -> None:
    """Drop every version of ``objs``, as if they predated tracking."""
    with pruning("default"):
        for obj in objs:
            type(obj).history.filter(id=obj.pk)._raw_delete("default")


@pytest.mark.django_db
def test_populate_records_a_first_version_of_rows_without_history(
    products: Any,
) -> None:
    bare = products(3, price="5.00")
    tracked = products(1)[0]
    tracked.name = "Changed"
    tracked.save()
    _forget_history(*bare)

    output = run("populate_history", "--model", "catalog.Product")

    for product in bare:
        assert versions(product, "name", "price") == [
            ("+", product.name, Decimal("5.00"))
        ]
    assert tracked.history.count() == 2
    assert "catalog.Product: [" in output and "100% (3/3)" in output
    assert output.rstrip().endswith("Populated 3 historical record(s).")


@pytest.mark.django_db
def test_populate_records_the_command_name(products: Any) -> None:
    product = products(1)[0]
    _forget_history(product)

    run("populate_history")

    assert product.history.get().history_context == {"command": "populate_history"}


@pytest.mark.django_db
def test_populate_works_in_batches_with_a_constant_query_cost(
    products: Any, queries: Any
) -> None:
    made = products(5)
    _forget_history(*made)

    with queries() as captured:
        output = run(
            "populate_history", "--model", "catalog.Product", "--batch-size", "2"
        )

    progress = [line for line in output.splitlines() if "%" in line]
    assert progress == [
        f"catalog.Product: [{bar}] {pct} ({done}/5)"
        for bar, pct, done in (
            ("#" * 12 + "-" * 18, " 40%", 2),
            ("#" * 24 + "-" * 6, " 80%", 4),
            ("#" * 30, "100%", 5),
        )
    ]
    inserts = [q for q in captured.captured_queries if "INSERT INTO" in q["sql"]]
    assert len(inserts) == 3
    assert Product.history.count() == 5


@pytest.mark.django_db
def test_populate_is_idempotent(products: Any) -> None:
    products(2)
    output = run("populate_history", "--model", "catalog.Product")

    assert "catalog.Product: every row already has history." in output
    assert Product.history.count() == 2


@pytest.mark.django_db
def test_populate_leaves_out_excluded_fields() -> None:
    document = Document.objects.create(title="Spec", secret="s3cr3t")
    _forget_history(document)

    run("populate_history", "--model", "testapp.Document")

    assert versions(document, "title") == [("+", "Spec")]


@pytest.mark.django_db
def test_populate_every_model_by_default(make_category: Any, products: Any) -> None:
    category, product = make_category(), products(1)[0]
    _forget_history(category, product)

    output = run("populate_history")

    assert category.history.count() == product.history.count() == 1
    assert output.rstrip().endswith("Populated 2 historical record(s).")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "nope.Missing"], "names no installed model"),
        (["--model", "testapp.Untracked"], "is not tracked"),
        (["--batch-size", "0"], "at least 1"),
    ],
)
@pytest.mark.django_db
def test_populate_rejects_bad_options(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("populate_history", *args)


def _three_versions_each(products: Any, clock: Clock) -> list[Product]:
    """Two products, each with versions at START, START+1h and START+2h."""
    made = products(2, price="1.00")
    for price in ("2.00", "3.00"):
        clock.tick(3600)
        for product in made:
            product.price = Decimal(price)
            product.save()
    return made


@pytest.mark.django_db
def test_prune_before_deletes_only_older_versions(products: Any, clock: Clock) -> None:
    made = _three_versions_each(products, clock)

    output = run(
        "prune_history",
        "--before",
        (START + timedelta(hours=1)).isoformat(),
        "--model",
        "catalog.Product",
    )

    for product in made:
        assert versions(product, "price") == [
            ("~", Decimal("2.00")),
            ("~", Decimal("3.00")),
        ]
    assert "catalog.Product: deleted 2 historical record(s)." in output
    assert output.rstrip().endswith("Deleted 2 historical record(s).")


@pytest.mark.django_db
def test_prune_before_keeps_the_version_in_force(products: Any, clock: Clock) -> None:
    quiet = products(1, price="7.00")[0]  # created at START, never changed since
    clock.tick(3600 * 24)
    run("prune_history", "--before", clock.tick(60).isoformat())
    assert versions(quiet, "price") == [("+", Decimal("7.00"))]
    assert quiet.history.as_of(clock.now).price == Decimal("7.00")


@pytest.mark.django_db
def test_prune_keep_last_keeps_the_newest_versions_of_each_object(
    products: Any, clock: Clock, make_category: Any
) -> None:
    made = _three_versions_each(products, clock)
    category = make_category()

    run("prune_history", "--keep-last", "1")

    for product in made:
        assert versions(product, "price") == [("~", Decimal("3.00"))]
    assert category.history.count() == 1


@pytest.mark.django_db
def test_prune_keep_last_breaks_ties_by_history_id(products: Any, clock: Clock) -> None:
    product = products(1, price="1.00")[0]
    for price in ("2.00", "3.00"):  # the frozen clock: equal history_date
        product.price = Decimal(price)
        product.save()

    run("prune_history", "--keep-last", "2")

    assert versions(product, "price") == [
        ("~", Decimal("2.00")),
        ("~", Decimal("3.00")),
    ]


def _at(hours: float) -> str:
    return (START + timedelta(hours=hours)).isoformat()


@pytest.mark.parametrize(
    ("args", "first_prices", "second_prices"),
    [
        # In force at 12:30 are the versions of 12:00: nothing may go (before issue
        # 13, both were deleted and as_of(12:30) said "did not exist yet").
        (["--before", _at(0.5)], ["1", "2", "3", "4"], ["1", "2", "3"]),
        (
            ["--before", _at(0.5), "--keep-last", "2"],
            ["1", "2", "3", "4"],
            ["1", "2", "3"],
        ),
        (["--before", _at(2.5)], ["3", "4"], ["3"]),
        (["--before", _at(2)], ["3", "4"], ["3"]),  # as_of is inclusive
        (["--keep-last", "3"], ["2", "3", "4"], ["1", "2", "3"]),
        (["--before", _at(2.5), "--keep-last", "3"], ["2", "3", "4"], ["1", "2", "3"]),
        (["--before", _at(2.5), "--keep-last", "1"], ["3", "4"], ["3"]),
    ],
)
@pytest.mark.django_db
def test_prune_keeps_the_version_in_force_at_the_cut_off(
    products: Any,
    clock: Clock,
    args: list[str],
    first_prices: list[str],
    second_prices: list[str],
) -> None:
    # first: 1.00 at 12:00, 2.00 at 13:00, 3.00 at 14:00, 4.00 at 15:00; second:
    # the same without 15:00.
    made = _three_versions_each(products, clock)
    clock.tick(3600)
    made[0].price = Decimal("4.00")
    made[0].save()
    instants = [START + timedelta(minutes=m) for m in range(0, 240, 15)]
    before = [[_answer(p, ts) for ts in instants] for p in made]
    whole = [sorted(Product.history.as_of(ts).values_list("price")) for ts in instants]

    run("prune_history", *args)

    for product, prices in zip(made, (first_prices, second_prices), strict=True):
        assert [price for _, price in versions(product, "price")] == [
            Decimal(f"{price}.00") for price in prices
        ]
    if args[0] == "--before":  # every answer from the cut-off on
        cut = datetime.fromisoformat(args[1])
        kept = [i for i, ts in enumerate(instants) if ts >= cut]
        for i in kept:
            ts = instants[i]
            assert [_answer(p, ts) for p in made] == [a[i] for a in before]
            assert sorted(Product.history.as_of(ts).values_list("price")) == whole[i]
        assert kept
    else:  # each object's answers from its oldest kept version on
        for product, answers in zip(made, before, strict=True):
            oldest = product.history.earliest().history_date
            for i, ts in enumerate(instants):
                if ts >= oldest:
                    assert _answer(product, ts) == answers[i]


def _answer(product: Product, ts: Any) -> Any:
    try:
        return product.history.as_of(ts).price
    except Product.DoesNotExist as error:
        return str(error)


@pytest.mark.django_db
def test_prune_keeps_a_deletion_in_force_and_drops_what_preceded_it(
    products: Any, clock: Clock
) -> None:
    gone, back = products(2, price="1.00")
    pk = back.pk
    clock.tick(60)
    for product in (gone, back):
        product.price = Decimal("2.00")
        product.save()
    clock.tick(60)
    deleted_at = clock.now
    Product.objects.filter(pk__in=[gone.pk, back.pk]).delete()
    cut = clock.tick(60)
    clock.tick(60)
    Product.objects.create(id=pk, name="Back", price=Decimal("3.00"))

    output = run("prune_history", "--before", cut.isoformat())

    assert "Deleted 4 historical record(s)." in output
    assert versions(gone, "price") == [("-", Decimal("2.00"))]
    assert versions(Product(pk=pk), "price") == [
        ("-", Decimal("2.00")),
        ("+", Decimal("3.00")),
    ]
    # Still "had been deleted", with its date, not "did not exist yet".
    with pytest.raises(Product.DoesNotExist, match="had been deleted at") as raised:
        gone.history.as_of(cut)
    assert deleted_at.isoformat() in str(raised.value)
    assert not Product.history.as_of(cut).exists()
    assert Product(pk=pk).history.as_of(clock.now).price == Decimal("3.00")
    # The admin's "recover deleted" reads the deletion.
    assert Product.history.filter(history_type="-", id=gone.pk).exists()


@pytest.mark.django_db
def test_prune_before_breaks_ties_at_the_cut_off_by_history_id(
    products: Any, clock: Clock
) -> None:
    product = products(1, price="1.00")[0]
    tied = clock.tick(3600)
    for price in ("2.00", "3.00"):  # the frozen clock: equal history_date
        product.price = Decimal(price)
        product.save()

    run("prune_history", "--before", tied.isoformat())  # strictly before: both stay
    assert [p for _, p in versions(product, "price")] == [
        Decimal("2.00"),
        Decimal("3.00"),
    ]

    run("prune_history", "--before", (tied + timedelta(microseconds=1)).isoformat())
    assert versions(product, "price") == [("~", Decimal("3.00"))]
    assert product.history.as_of(tied).price == Decimal("3.00")


@pytest.mark.parametrize(
    "args",
    [
        ["--before", "2030-01-01T13:30:00Z"],
        ["--keep-last", "1"],
        ["--before", "2030-01-01T13:30:00+05:00", "--keep-last", "1"],
    ],
)
@pytest.mark.django_db
def test_prune_is_one_delete_per_model_whatever_the_history(
    products: Any, clock: Clock, queries: Any, args: list[str]
) -> None:
    for _ in range(2):
        _three_versions_each(products, clock)
        with queries() as captured:
            run("prune_history", "--model", "catalog.Product", *args)
        deletes = [q for q in captured.captured_queries if "DELETE FROM" in q["sql"]]
        assert len(deletes) == 1
        assert len(captured.captured_queries) <= 8


@pytest.mark.django_db
def test_prune_dry_run_prints_and_deletes_nothing(products: Any, clock: Clock) -> None:
    _three_versions_each(products, clock)
    Category.objects.create(name="Books")

    output = run("prune_history", "--keep-last", "1", "--dry-run")

    assert "catalog.Product: would delete 4 historical record(s)." in output
    assert "catalog.Category: would delete 0 historical record(s)." in output
    assert output.rstrip().endswith("Dry run: would delete 4 historical record(s).")
    assert Product.history.count() == 6


@pytest.mark.django_db
def test_prune_records_nothing_of_its_own(products: Any, clock: Clock) -> None:
    _three_versions_each(products, clock)
    run("prune_history", "--keep-last", "1")
    assert not Product.history.filter(history_context__has_key="command").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Nothing to prune"),
        (["--dry-run"], "Nothing to prune"),
        (["--before", "2030-01-01T00:00:00"], "has no time zone"),
        (["--before", "2030-01-01"], "has no time zone"),
        (["--before", "last tuesday"], "is not an ISO-8601 timestamp"),
        (["--keep-last", "0"], "at least 1"),
        (["--keep-last", "1", "--model", "catalog.Nope"], "names no installed model"),
    ],
)
@pytest.mark.django_db
def test_prune_rejects_bad_options_and_deletes_nothing(
    products: Any, args: list[str], message: str
) -> None:
    products(1)[0].save()
    with pytest.raises(CommandError, match=message):
        run("prune_history", *args)
    assert Product.history.count() == 1


@pytest.mark.django_db
def test_history_triggers_check_and_install(make_product: Any) -> None:
    assert "has its triggers" in run("history_triggers", "--check")
    with connection.cursor() as cursor:
        for found in triggers.installed(connection.alias):
            if found.relname == "catalog_product":
                on = " ON catalog_product" if connection.vendor == "postgresql" else ""
                cursor.execute(f'DROP TRIGGER "{found.name}"{on}')
    with pytest.raises(CommandError, match="trigger problem"):
        run("history_triggers", "--check", "--model", "catalog.Product")
    product = make_product()
    assert not product.history.exists()  # what --check warns about

    assert "Installed the triggers of 1" in run(
        "history_triggers", "--model", "catalog.Product"
    )
    product.name = "Recorded again"
    product.save()
    assert product.history.get().name == "Recorded again"


@pytest.mark.django_db(transaction=True)
def test_flush_empties_history_and_capture_goes_on(make_product: Any) -> None:
    make_product()
    call_command("flush", interactive=False, verbosity=0)

    assert not Product.history.exists()  # no '-' versions of the flushed rows
    product = make_product()
    assert product.history.count() == 1  # the triggers are back


def _plan(*targets: tuple[str, str | None]) -> Any:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return executor.migration_plan(list(targets))


@pytest.mark.django_db
def test_migrate_drops_only_the_triggers_of_tables_it_alters() -> None:
    from history_core.tracking import drop_triggers

    before = {found.name for found in triggers.installed(connection.alias)}
    drop_triggers(connection.alias, plan=_plan(("sessions", None)))
    assert {found.name for found in triggers.installed(connection.alias)} == before

    drop_triggers(connection.alias, plan=_plan(("catalog", None)))
    left = {found.relname for found in triggers.installed(connection.alias)}
    assert "catalog_product" not in left and "catalog_historicalproduct" not in left
    assert "testapp_document" in left  # other apps' tables keep recording


@pytest.mark.django_db
def test_a_failed_migrate_puts_the_triggers_back(monkeypatch: Any) -> None:
    from django.core.management.commands import migrate

    def fail(self: Any, *args: Any, **options: Any) -> None:
        triggers.drop(connection.alias)  # as pre_migrate may have done
        raise RuntimeError("a migration failed")

    monkeypatch.setattr(migrate.Command, "handle", fail)
    with pytest.raises(RuntimeError, match="a migration failed"):
        call_command("migrate", verbosity=0)

    assert "has its triggers" in run("history_triggers", "--check")


@pytest.mark.django_db
def test_history_triggers_check_reports_a_trigger_changed_by_hand() -> None:
    from history_core import get_options

    options = get_options(Product)
    trigger = next(
        t
        for t in triggers.triggers_of(options, connection.alias)
        if t.name.endswith("_u") and t.table == "catalog_product"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # the function's body, edited
            cursor.execute(
                trigger.function.replace("RETURN NULL;", "RETURN NULL; -- x")
            )
        else:  # the trigger, made again without history_core's definition
            cursor.execute(f'DROP TRIGGER "{trigger.name}"')
            cursor.execute(
                trigger.create.replace(" BEGIN /* history_core ", " BEGIN /* ")
            )
    with pytest.raises(CommandError, match="trigger problem"):
        run("history_triggers", "--check", "--model", "catalog.Product")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("history_triggers", "--check", stdout=out)
    assert f"catalog.Product: trigger {trigger.name} stale" in out.getvalue()

    run("history_triggers", "--model", "catalog.Product")
    assert "as this code installs them" in run("history_triggers", "--check")


@pytest.mark.django_db
def test_history_triggers_removes_a_trigger_no_tracked_model_needs() -> None:
    orphan = (
        f"{triggers.PREFIX}0123456789abcdef_u"  # as a model no longer tracked left it
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f'CREATE TRIGGER "{orphan}" AFTER UPDATE ON testapp_untracked '
                'FOR EACH STATEMENT EXECUTE FUNCTION "history_core_append_only"()'
            )
        else:
            cursor.execute(
                f'CREATE TRIGGER "{orphan}" AFTER UPDATE ON testapp_untracked '
                "BEGIN SELECT 1; END"
            )
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 trigger problem"):
        call_command("history_triggers", "--check", stdout=out)
    assert f"testapp_untracked: trigger {orphan} orphaned" in out.getvalue()

    run("history_triggers")
    assert orphan not in {found.name for found in triggers.installed(connection.alias)}
    assert "as this code installs them" in run("history_triggers", "--check")
