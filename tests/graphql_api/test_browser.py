"""GraphiQL in a real (headless) Chromium: the page renders offline, from our assets.

Skipped when no Chromium is installed; .ci/run installs Debian's package.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
]


def _render(url: str) -> str:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(  # noqa: S603 - fixed binary, local URL
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_graphiql_renders_in_chromium_without_network(live_server: Any) -> None:
    dom = _render(f"{live_server.url}/graphql/")
    assert "Loading GraphiQL" not in dom  # React replaced the placeholder
    assert "graphiql-container" in dom
    assert "graphiql-editor" in dom or "CodeMirror" in dom
    assert "productHistory" in dom  # our starter query is in the editor
    assert "/history/catalog.product/1/" in dom  # ...and it points to the page
