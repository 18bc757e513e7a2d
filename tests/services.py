"""Services the tests start next to PostgreSQL, on loopback ports, stopped by pid.

``PgBouncer`` runs Debian's ``pgbouncer`` (installed by ``scripts/test.sh`` when it
runs as root) in transaction pooling mode, as hosted PostgreSQL usually runs it.
It refuses to run as root, so as root it is started as the ``postgres`` user.

Where a service cannot be started the tests that need it are skipped, unless
``HISTORY_CORE_REQUIRE_SERVICES=1`` (set by ``.ci/run``): then they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest


def unavailable(reason: str) -> None:
    """Skip the test, or fail it where CI requires every service."""
    if os.environ.get("HISTORY_CORE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


@contextmanager
def pgbouncer(
    upstream_port: int, user: str, pool_size: int = 2, port: int | None = None
) -> Iterator[int]:
    """Run PgBouncer in transaction mode in front of ``127.0.0.1:upstream_port``.

    Yields the port it listens on (``port``, or a free one). Every database of the upstream server is
    reachable through it, with at most ``pool_size`` server connections each.
    """
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        unavailable("pgbouncer is not installed (Debian package pgbouncer)")
    port = port or free_port()
    folder = Path(tempfile.mkdtemp(prefix="history-core-pgbouncer-"))
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host=127.0.0.1 port={upstream_port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
        "unix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        f"pool_mode = transaction\ndefault_pool_size = {pool_size}\n"
        "min_pool_size = 0\nreserve_pool_size = 0\nmax_client_conn = 200\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"pidfile = {folder / 'pgbouncer.pid'}\nlogfile = {folder / 'pgbouncer.log'}\n"
    )
    command = [binary, "-d", str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        for path in folder.iterdir():
            shutil.chown(path, "postgres")
        command = ["runuser", "-u", "postgres", "--", *command]
    started = subprocess.run(  # noqa: S603 - our own fixed command line
        command, capture_output=True, text=True, check=False
    )
    pidfile = folder / "pgbouncer.pid"
    try:
        if started.returncode != 0 or not _wait_for_port(port):
            log = (folder / "pgbouncer.log").read_text() if pidfile.exists() else ""
            unavailable(f"pgbouncer did not start: {started.stderr}{log}"[-2000:])
        yield port
    finally:
        if pidfile.exists():
            with suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
            deadline = time.monotonic() + 5
            while pidfile.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(folder, ignore_errors=True)
