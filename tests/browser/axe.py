"""axe-core in the browser tests: inject it, run WCAG 2 A/AA rules, report violations.

axe comes from the npm registry through tests/clients/package-lock.json (installed
by ``tests.npm.install``, never from a CDN). Without node/npm the accessibility tests
are skipped, except under CI (``CI`` set), where that fails the run, as a missing
Chromium does.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.npm import CLIENTS, install, skip_reason

AXE = CLIENTS / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa"]
BLOCKING = {"serious", "critical"}


def axe_script() -> str:
    """The source of axe.min.js, ``npm ci``-installed on first use."""
    reason = skip_reason("the axe-core accessibility checks")
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI machines have Node 20 and npm")
        pytest.skip(reason)
    install()
    return AXE.read_text(encoding="utf-8")


def run_axe(
    page: Any, script: str, include: str, exclude: list[list[str]] | None = None
) -> list[dict[str, Any]]:
    """Axe's WCAG 2 A/AA violations inside ``include`` (minus ``exclude``)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=script)
    context: dict[str, Any] = {"include": [[include]]}
    if exclude:
        context["exclude"] = exclude
    result = page.evaluate(
        """([context, tags]) => axe.run(context, {
            runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
        }).then(r => r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(' ')),
        })))""",
        [context, TAGS],
    )
    return list(result)


def assert_accessible(
    page: Any, script: str, include: str, exclude: list[list[str]] | None = None
) -> None:
    """No serious or critical violation; otherwise print id, help and targets."""
    blocking = [
        v for v in run_axe(page, script, include, exclude) if v["impact"] in BLOCKING
    ]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["targets"])
        for v in blocking
    )
    if blocking:
        print(report)
    assert not blocking, f"axe violations on {page.url}:\n{report}"
