"""``npm ci`` in tests/clients, once per lock file: shared by the Node-based tests.

tests/graphql_api/test_clients.py runs Apollo/urql from there; the browser tests
inject ``axe-core`` from its ``node_modules``. A stamp in ``node_modules`` remembers
which ``package-lock.json`` was installed; parallel runs take turns on a file lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CLIENTS = Path(__file__).resolve().parent / "clients"
NODE = shutil.which("node")
NPM = shutil.which("npm")


def node_major() -> int:
    if NODE is None:
        return 0
    done = subprocess.run(  # noqa: S603 - the node found on PATH, fixed argument
        [NODE, "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    try:
        return int(done.stdout.strip().lstrip("v").split(".")[0])
    except ValueError:
        return 0


def skip_reason(purpose: str) -> str | None:
    """Why ``purpose`` cannot run here (no node/npm, or Node older than 20)."""
    if NODE is None or NPM is None:
        return f"node and npm are needed for {purpose}"
    if node_major() < 20:
        return f"Node 20+ is needed for {purpose}"
    return None


def install() -> None:
    """``npm ci`` in tests/clients, unless node_modules matches the lock file."""
    assert NPM is not None
    lock = CLIENTS / "package-lock.json"
    digest = hashlib.sha256(
        lock.read_bytes() + (CLIENTS / "package.json").read_bytes()
    ).hexdigest()
    stamp = CLIENTS / "node_modules" / ".installed-lock-sha256"
    with open(CLIENTS / ".install.lock", "w") as guard:  # parallel runs take turns
        fcntl.flock(guard, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == digest:
            return
        done = subprocess.run(  # noqa: S603 - npm from PATH, fixed arguments
            [NPM, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=CLIENTS,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "npm_config_update_notifier": "false"},
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed in {CLIENTS}:\n{done.stdout}\n{done.stderr}")
        stamp.write_text(digest)
