"""Run the benchmark suite of issue 4: ``.venv/bin/python bench/run.py``.

Options:
    --db sqlite|postgres|both   databases to run on (default: both, one process each)
    --smoke                     tiny sizes, one repetition: checks the suite still runs
    --repeat N                  repetitions, systems interleaved (default 5)
    --only W1,R2,...            run only these workloads (S1: the slowest request the
                                cost limit accepts, bench/scanbench.py; A1-A6, the admin's change
                                log, run only when named here, or ``A`` for all
                                six, and in --smoke)
    --profile                   cProfile plain and history_core on --only's workloads

Each database gets a fresh database of its own (SQLite: a file in the temporary
directory; PostgreSQL: ``test_bench`` on ``BENCH_PG_URL``), dropped at the end. The
peers (django-simple-history, django-pghistory) join when installed from
``bench/requirements-bench.txt``; without them they are skipped.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--only", default="")
    parser.add_argument("--profile", action="store_true")
    return parser.parse_args(argv)


def _run_each(argv: list[str]) -> int:
    """``--db both``: one child process per database (their apps differ)."""
    status = 0
    for db in ("sqlite", "postgres"):
        child = [sys.executable, __file__, *argv, "--db", db]
        status |= subprocess.call(child, cwd=ROOT)  # noqa: S603 - our own script
    return status


def _sizes(smoke: bool, vendor: str) -> dict[str, object]:
    from bench.dataset import Shape

    if smoke:
        return {
            "single": 20,
            "bulk": 100,
            "large": 200,
            "cascade": 200,
            "r3": Shape(100, 3),
            "r4_loops": 200,
            "r2": Shape(20, 50, 5),
            "r2_lookups": 10,
            "g1_page": 10,
            "g2_page": 20,
            "g_requests": 1,
            "a_requests": 1,
            "scan_rows": 2000,
        }
    r2_objects = 1000 if vendor == "postgresql" else 100  # SQLite: 100,100 rows
    return {
        "single": 2000,
        "bulk": 10000,
        "large": 100000,
        "cascade": 50000,
        "r3": Shape(10000, 10),
        "r4_loops": 20000,
        "r2": Shape(r2_objects, 1000, 100),
        "r2_lookups": 100,
        "g1_page": 50,
        "g2_page": 100,
        "g_requests": 10,
        "a_requests": 10,
        # S1: issue 13's 1,000,000 rows on PostgreSQL; SQLite fills rows slowly
        "scan_rows": 1_000_000 if vendor == "postgresql" else 100_000,
    }


def _describe(vendor: str) -> str:
    import django
    from django.db import connection

    server = ""
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        import sqlite3

        server = f"SQLite {sqlite3.sqlite_version} (file, WAL, synchronous=NORMAL)"
    return (
        f"{server}; Python {platform.python_version()}; Django {django.get_version()}"
    )


def _git(*args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed git commands
            ["git", "-C", str(ROOT), *args],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
        )
    except OSError:  # no git: the revision is simply unknown
        return ""
    return done.stdout.strip()


def _revision() -> str:
    """The commit measured, and whether the tracking engine had local changes."""
    head = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "history_core", "graphql_api")
    return f"{head or '?'}{' + uncommitted changes' if dirty else ''}"


def _bench(args: argparse.Namespace) -> None:
    from django.db import connection

    from bench.adminbench import run_admin, wanted
    from bench.gqlbench import run_graphql
    from bench.harness import Results
    from bench.reads import run_reads
    from bench.scanbench import run_scans
    from bench.systems import available_systems
    from bench.writes import run_writes

    vendor = connection.vendor
    sizes = _sizes(args.smoke, vendor)
    repeat = args.repeat or (1 if args.smoke else 5)
    only = {w.strip().upper() for w in args.only.split(",") if w.strip()} or None
    systems = available_systems()
    if args.profile:
        from bench.profiling import run_profiles

        print(f"## Profiles on {_describe(vendor)}; revision {_revision()}")
        run_profiles(systems, sizes, only or {"W1"})
        return
    results = Results(vendor)
    print(f"## {_describe(vendor)}", flush=True)
    print(f"systems: {', '.join(s.name for s in systems)}; repetitions: {repeat}")
    print(f"revision: {_revision()}", flush=True)
    run_writes(results, systems, sizes, repeat, only)
    run_reads(results, [s for s in systems if s.workloads is None], sizes, repeat, only)
    tracked = next(s for s in systems if s.name == "history_core")
    run_admin(results, tracked, sizes, repeat, wanted(only, args.smoke))
    run_graphql(results, sizes, repeat, only)
    run_scans(results, sizes, repeat, only)
    print(f"\n### Results on {_describe(vendor)}\n")
    print(results.table())
    print("\nNotes:\n" + "\n".join(f"- {n}" for n in results.notes))
    for title, sql, plan in results.plans:
        print(f"\n{title}:\n```\n{sql}\n\n{plan}\n```")


def _main_one(args: argparse.Namespace) -> int:
    os.environ["BENCH_DB"] = args.db
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django
    from django.test.utils import setup_databases, teardown_databases

    django.setup()
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    try:
        _bench(args)
    finally:
        teardown_databases(old, verbosity=0)
    return 0


def main(argv: list[str]) -> int:
    args = _parse(argv)
    if args.db == "both":
        return _run_each(argv)
    return _main_one(args)


if __name__ == "__main__":
    # Run as a script: import the project (and ``bench``) from the repository root,
    # never modules of this folder under their bare names.
    sys.path[:] = [
        str(ROOT),
        *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"),
    ]
    sys.exit(main(sys.argv[1:]))
