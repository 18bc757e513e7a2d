"""The registry, immutable records, system checks and the tracked ``auth.User``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.test.utils import isolate_apps

import history_core
from catalog.models import Product
from history_core import (
    AlreadyRegistered,
    ImmutableHistoryError,
    NotRegistered,
    get_options,
    is_registered,
    register,
    unregister,
)
from history_core.checks import check_tracked_models
from tests.testapp.models import Document, Untracked


@pytest.fixture
def throwaway() -> Iterator[Any]:
    """Build unsaved-only models in an isolated registry; forget their history."""
    made: list[type[models.Model]] = []

    def build(model_name: str, /, **fields: Any) -> type[models.Model]:
        attrs = {"__module__": __name__, **fields}
        attrs["Meta"] = type("Meta", (), {"app_label": "testapp"})
        model = type(model_name, (models.Model,), attrs)
        made.append(model)
        return model

    with isolate_apps("tests.testapp"):
        yield build
    for model in made:
        if is_registered(model):
            unregister(model)
        apps.all_models["testapp"].pop(f"historical{model._meta.model_name}", None)
    apps.clear_cache()


@pytest.mark.django_db
def test_history_records_cannot_be_saved_again(make_product: Any) -> None:
    record = make_product(price="1.00").history.get()
    record.price = 2
    with pytest.raises(ImmutableHistoryError, match="immutable"):
        record.save()
    assert Product.history.get().price == 1


@pytest.mark.django_db
def test_history_records_cannot_be_deleted_one_by_one(make_product: Any) -> None:
    record = make_product().history.get()
    with pytest.raises(ImmutableHistoryError, match="prune_history"):
        record.delete()
    assert Product.history.count() == 1


def test_registered_models_and_options() -> None:
    assert is_registered(Product)
    assert is_registered(get_user_model())
    assert not is_registered(Untracked)
    assert get_options(Document).excluded_fields == ("secret",)
    assert history_core.get_registered_models()[:2] == [
        apps.get_model("catalog.Category"),
        Product,
    ]


def test_get_options_of_an_untracked_model_says_how_to_fix_it() -> None:
    with pytest.raises(NotRegistered, match=r"testapp\.Untracked is not tracked"):
        get_options(Untracked)
    with pytest.raises(NotRegistered):
        history_core.get_history_for_model(Untracked)


def test_registering_twice_names_the_first_registration() -> None:
    with pytest.raises(AlreadyRegistered) as raised:
        register(Product)
    message = str(raised.value)
    assert "catalog.Product is already tracked" in message
    assert "catalog/models.py:34" in message


def test_user_registration_place_is_the_register_call() -> None:
    with pytest.raises(AlreadyRegistered, match=r"tests/testapp/models\.py:\d+"):
        register(get_user_model(), app="testapp")


def test_unregister_of_an_untracked_model_raises() -> None:
    with pytest.raises(NotRegistered, match="nothing to unregister"):
        unregister(Untracked)


def test_register_and_unregister_leave_the_model_class_as_it_was(
    throwaway: Any,
) -> None:
    Gadget = throwaway("Gadget", name=models.CharField(max_length=10))
    before = dict(Gadget.__dict__)
    manager_class = type(Gadget._default_manager)

    options = register(Gadget, app="testapp")

    assert is_registered(Gadget)
    assert options.historical_model.__name__ == "HistoricalGadget"
    assert Gadget.history.model is options.historical_model  # type: ignore[attr-defined]
    # Capture is in the database: no method, manager or Options class is replaced.
    added = set(Gadget.__dict__) - set(before)
    assert added == {"history", "_history_options_live"}
    assert all(Gadget.__dict__[k] is v for k, v in before.items())
    assert type(Gadget._default_manager) is manager_class
    assert type(Gadget._meta).__name__ == "Options"

    unregister(Gadget)

    assert not is_registered(Gadget)
    assert not hasattr(Gadget, "history")
    assert dict(Gadget.__dict__) == before


def _errors(model: type[models.Model]) -> dict[str, str]:
    return {
        m.id: m.msg
        for m in check_tracked_models()
        if m.obj is model and m.id is not None
    }


def test_tracked_models_of_the_project_pass_the_checks() -> None:
    assert check_tracked_models() == []


def test_check_e002_excluded_field_typo(throwaway: Any) -> None:
    Gadget = throwaway("Gadget", name=models.CharField(max_length=10))
    register(Gadget, app="testapp", excluded_fields=["nmae"])

    messages = [m for m in check_tracked_models() if m.obj is Gadget]

    assert [m.id for m in messages] == ["history_core.E002"]
    assert "'nmae'" in messages[0].msg and "testapp.Gadget" in messages[0].msg
    assert "fix its spelling" in messages[0].hint


def test_check_e003_field_clashing_with_metadata(throwaway: Any) -> None:
    Gadget = throwaway("Gadget", history_type=models.CharField(max_length=10))
    register(Gadget, app="testapp")

    assert "history_core.E003" in _errors(Gadget)
    assert "testapp.Gadget.history_type" in _errors(Gadget)["history_core.E003"]


def test_check_e004_excluded_primary_key(throwaway: Any) -> None:
    Gadget = throwaway("Gadget", name=models.CharField(max_length=10))
    register(Gadget, app="testapp", excluded_fields=["id"])

    assert "primary key cannot be excluded" in _errors(Gadget)["history_core.E004"]


def test_check_e001_requires_use_tz(settings: Any) -> None:
    settings.USE_TZ = False
    ids = [m.id for m in check_tracked_models()]
    assert ids == ["history_core.E001"]


@pytest.mark.django_db
def test_user_history_survives_the_users_deletion(make_product: Any) -> None:
    User = get_user_model()
    editor = User.objects.create_user("editor", password="pw-123456")
    editor.first_name = "Eddie"
    editor.save()
    with history_core.context(user=editor):
        product = make_product()
    editor_pk = editor.pk

    editor.delete()

    assert [r.history_type for r in User.history.filter(id=editor_pk)] == [
        "-",
        "~",
        "+",
    ]
    assert product.history.get().history_user_id == editor_pk
    historical_user = get_options(User).historical_model
    assert historical_user._meta.app_label == "testapp"
    field_names = {f.name for f in historical_user._meta.fields}
    assert not field_names & {"password", "last_login"}


def test_check_e005_a_tracked_model_where_no_trigger_can_record_it(
    monkeypatch: Any,
) -> None:
    from types import SimpleNamespace

    from history_core import checks

    class Databases(dict[str, Any]):
        pass

    fake = Databases(
        default=SimpleNamespace(vendor="sqlite"), legacy=SimpleNamespace(vendor="mysql")
    )
    monkeypatch.setattr(checks, "connections", fake)
    errors = [
        e for e in checks.check_capture_databases() if e.id == "history_core.E005"
    ]
    assert errors and all("'legacy' (mysql)" in e.msg for e in errors)
    assert {e.obj for e in errors} >= {Product, Document}


def test_shell_command_option_is_not_taken_for_the_command(capsys: Any) -> None:
    from django.core.management import call_command

    call_command("shell", command="print('from the shell')")  # manage.py shell -c
    assert "from the shell" in capsys.readouterr().out
