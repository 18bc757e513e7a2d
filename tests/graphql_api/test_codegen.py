"""The committed SDL for frontend codegen: the project's own schema, never stale.

``graphql_api/schema.graphql`` is the schema of the project's models (the demo
settings, ``config.settings``), not of the test app. After an intended change:
``python manage.py export_schema --output graphql_api/schema.graphql`` (or
``UPDATE_SNAPSHOTS=1 pytest tests/graphql_api/test_codegen.py``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from django.apps import apps

from config import settings as project_settings
from graphql_api.schema import build_schema
from history_core import get_options, get_registered_models

ROOT = Path(__file__).resolve().parents[2]
SDL = ROOT / "graphql_api" / "schema.graphql"
README = ROOT / "README.md"


def project_models() -> list[Any]:
    """The tracked models the project's settings install (no test app's)."""
    labels = {
        config.label
        for config in apps.get_app_configs()
        if config.name in project_settings.INSTALLED_APPS
    }
    return [m for m in get_registered_models() if get_options(m).app_label in labels]


def test_the_committed_sdl_is_the_project_schema() -> None:
    printed = build_schema(models=project_models()).as_str() + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SDL.write_text(printed, encoding="utf-8")
    assert printed == SDL.read_text(encoding="utf-8"), (
        "graphql_api/schema.graphql is stale: run `python manage.py export_schema "
        "--output graphql_api/schema.graphql` and commit it."
    )


def test_the_committed_sdl_has_only_the_project_models() -> None:
    sdl = SDL.read_text(encoding="utf-8")
    assert "type ProductVersion implements" in sdl
    assert "type CategoryVersion implements" in sdl
    for test_model in ("Document", "Sku", "User"):
        assert f"type {test_model}Version" not in sdl


def test_the_readme_codegen_config_maps_every_custom_scalar() -> None:
    readme = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- codegen -->\s*```ts\n(.*?)```", readme, re.S)
    assert match, "README codegen.ts not found"
    config = match.group(1)
    assert "graphql_api/schema.graphql" in config
    scalars = re.findall(r"^scalar (\w+)", SDL.read_text(encoding="utf-8"), re.M)
    assert scalars
    for scalar in {*scalars, "BigInt", "UUID"}:
        assert re.search(rf"\b{scalar}:", config), f"{scalar} is not mapped"
