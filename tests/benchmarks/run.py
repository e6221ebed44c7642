"""Run the event log benchmarks and write a JSON report: ``python -m tests.benchmarks.run`` (``make bench``).

For each database (PostgreSQL, MariaDB/MySQL, a SQLite file) this creates a fresh ``bench`` database,
runs ``manage.py migrate`` into it, runs ``tests.benchmarks.suite`` against it in a child process (the
settings read one CONTROLPLANE_DATABASE_URL per process) and drops it again. The report goes to
``var/bench/report-<UTC timestamp>.json`` and ``var/bench/latest.json``; docs/BENCHMARKS.md explains it.

Exit status: 0 when every correctness check passed, 1 when one failed or a benchmark crashed (the
report is written either way); with --strict, a missed target also exits 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
BENCH_SECRET = "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
VENDORS = ("postgresql", "mysql", "sqlite")
TARGET_NOTE = (
    "Targets are set for a 2-core machine with PostgreSQL 15 (fsync on) and for a SQLite file in WAL mode "
    "with synchronous=FULL. MariaDB runs the same load for comparison: its entries are not gating."
)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _admin_settings(url: str) -> dict[str, Any]:
    from controlplane.config import parse_database_url

    return parse_database_url(url, ROOT / "var").settings


def create_database(vendor: str, url: str, name: str) -> str:
    """Drop and create ``name`` on the server of ``url``; returns the server's version."""
    s = _admin_settings(url)
    if vendor == "postgresql":
        import psycopg

        with psycopg.connect(
            host=s["HOST"],
            port=s["PORT"] or 5432,
            user=s["USER"],
            password=s["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
            return conn.execute("SHOW server_version").fetchone()[0]
    import MySQLdb

    conn = MySQLdb.connect(host=s["HOST"], port=int(s["PORT"] or 3306), user=s["USER"], passwd=s["PASSWORD"])
    try:
        cursor = conn.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        cursor.execute("SELECT VERSION()")
        return cursor.fetchone()[0]
    finally:
        conn.close()


def drop_database(vendor: str, url: str, name: str) -> None:
    s = _admin_settings(url)
    if vendor == "postgresql":
        import psycopg

        with psycopg.connect(
            host=s["HOST"],
            port=s["PORT"] or 5432,
            user=s["USER"],
            password=s["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    import MySQLdb

    conn = MySQLdb.connect(host=s["HOST"], port=int(s["PORT"] or 3306), user=s["USER"], passwd=s["PASSWORD"])
    try:
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def plan_for(vendor: str, args: argparse.Namespace) -> dict[str, Any]:
    plan: dict[str, Any] = {
        "duration": args.duration,
        "reader_class": args.reader_class,
        # The peer has no MariaDB recorder: there our figures stand alone.
        "peer": args.peer and vendor != "mysql",
        "peer_rounds": args.peer_rounds,
    }
    if vendor == "postgresql":
        plan["batched_events"] = 1_000_000
    elif vendor == "mysql":
        plan.update(batched_events=300_000, gating=False)
    else:
        plan.update(batched_events=500_000, non_gating=["catch_up_read", "projection_rebuild", "aggregate_load"])
    if args.quick:
        plan.update(
            duration=min(args.duration, 2.0),
            batched_events=20_000,
            aggregate_events=2_000,
            peer_duration=1.0,
            peer_batched_events=5_000,
            peer_read_events=5_000,
        )
    if args.only:
        plan["only"] = args.only
    return plan


def run_vendor(vendor: str, url: str, args: argparse.Namespace, env: dict[str, str], work: Path) -> dict[str, Any]:
    started = time.monotonic()
    out: dict[str, Any] = {"vendor": vendor}
    sqlite_file = work / f"{args.db_name}.sqlite3"
    try:
        if vendor == "sqlite":
            remove_sqlite(sqlite_file)
            remove_sqlite(work / "peer.sqlite3")  # the peer baseline's file (peer.py), left by a crashed run
            bench_url = f"sqlite:///{args.db_name}.sqlite3"
        else:
            bench_url = with_database(url, args.db_name)
            out["server_version"] = create_database(vendor, url, args.db_name)
        child_env = {**env, "CONTROLPLANE_DATABASE_URL": bench_url}
        print(f"== {vendor}: migrating {bench_url}", file=sys.stderr, flush=True)
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=child_env,
            check=True,
            timeout=600,
        )
        result_file = work / f"suite-{vendor}.json"
        result_file.unlink(missing_ok=True)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.benchmarks.suite",
                "--out",
                str(result_file),
                "--plan",
                json.dumps(plan_for(vendor, args)),
            ],
            cwd=ROOT,
            env=child_env,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0 or not result_file.exists():
            out["error"] = f"suite exited with {done.returncode}"
        if result_file.exists():
            out.update(json.loads(result_file.read_text()))
    except Exception as exc:  # a missing server must not lose the other databases' figures
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if not args.keep:
            try:
                if vendor == "sqlite":
                    remove_sqlite(sqlite_file)
                    remove_sqlite(work / "peer.sqlite3")
                else:
                    drop_database(vendor, url, args.db_name)
            except Exception as exc:
                out.setdefault("cleanup_error", f"{type(exc).__name__}: {exc}")
    out["wall_s"] = round(time.monotonic() - started, 1)
    return out


def source_digest() -> dict[str, Any]:
    """Which event log code was measured: the commit, and a digest of the working tree's eventlog files
    (others may be editing them while the benchmark runs)."""

    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return ""

    digest = hashlib.sha256()
    for path in sorted((ROOT / "controlplane" / "eventlog").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return {
        "commit": git("rev-parse", "HEAD") or None,
        "eventlog_uncommitted_changes": bool(git("status", "--porcelain", "--", "controlplane/eventlog")),
        "eventlog_sources_sha256": digest.hexdigest(),
    }


def summarise(databases: list[dict[str, Any]]) -> dict[str, Any]:
    entries = [b for d in databases for b in d.get("benchmarks", [])]
    gating = [b for b in entries if b["gating"] and b["passed"] is not None]
    return {
        "benchmarks": len(entries),
        "gating_targets_met": sum(1 for b in gating if b["passed"]),
        "gating_targets_missed": [f"{b['database']}:{b['id']}" for b in gating if not b["passed"]],
        "correctness_failures": [f"{b['database']}:{b['id']}" for b in entries if not b["correct"]],
        "suite_errors": [f"{d['vendor']}: {d['error']}" for d in databases if d.get("error")],
    }


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def print_table(report: dict[str, Any]) -> None:
    rows = [("database", "benchmark", "figure", "unit", "target", "met", "correct")]
    for database in report["databases"]:
        for b in database.get("benchmarks", []):
            target = b["target"]
            target_text = f"{target['op']} {_fmt(target['value'])}" if target else "-"
            met = "-" if b["passed"] is None else ("yes" if b["passed"] else "NO")
            if not b["gating"] and b["passed"] is not None:
                met += " (info)"
            rows.append(
                (
                    b["database"],
                    b["id"],
                    _fmt(b["figure"]),
                    b["unit"],
                    target_text,
                    met,
                    "yes" if b["correct"] else "NO",
                )
            )
            for s in b["secondary"]:
                rows.append(
                    (
                        "",
                        f"  {s['name']}",
                        _fmt(s["figure"]),
                        s["unit"],
                        f"{s['target']['op']} {_fmt(s['target']['value'])}",
                        "yes" if s["passed"] else "NO",
                        "",
                    )
                )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def _fsync_rate(result: dict[str, Any] | None) -> str:
    if not result or "fdatasync_ops_per_s" not in result:
        return "not measured"
    return f"{_fmt(result['fdatasync_ops_per_s'])} fdatasync/s"


def print_peer_table(report: dict[str, Any]) -> None:
    """Ours against pyeventsourcing: medians of alternating rounds, the ratio, and CPU per event each side."""
    rows = [("database", "shape", "ours/s", "peer/s", "ours/peer", "ours CPU us/event", "peer CPU us/event", "correct")]

    def cpu(figures: dict[str, Any]) -> str:
        short = {
            "writer_python_cpu_us_per_event": "client",
            "reader_python_cpu_us_per_event": "client",
            "writer_backend_cpu_us_per_event": "backend",
        }
        return ", ".join(f"{short[k]} {_fmt(v)}" for k, v in figures.items() if k in short and v is not None) or "-"

    for database in report["databases"]:
        for b in database.get("benchmarks", []):
            if not b["id"].endswith("_vs_peer"):
                continue
            d = b["details"]
            rows.append(
                (
                    b["database"],
                    b["id"].removesuffix("_vs_peer"),
                    _fmt(d.get("ours_median_events_per_s")),
                    _fmt(d.get("peer_median_events_per_s")),
                    "-" if b["figure"] is None else f"{b['figure']:.2f}x",
                    cpu(d.get("ours_cpu_us_per_event", {})),
                    cpu(d.get("peer_cpu_us_per_event", {})),
                    "yes" if b["correct"] else "NO",
                )
            )
    if len(rows) == 1:
        return
    machine = report["machine"]
    print("\nOurs against pyeventsourcing (medians of alternating rounds; ours/peer above 1: we are faster)")
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(
        f"fsync rate (pg_test_fsync): start {_fsync_rate(machine.get('pg_test_fsync'))}, "
        f"end {_fsync_rate(machine.get('pg_test_fsync_at_end'))}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test"),
        help="URL of the PostgreSQL server (its database name is replaced by --db-name)",
    )
    parser.add_argument(
        "--mysql",
        default=os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
        help="URL of the MariaDB/MySQL server (its database name is replaced by --db-name)",
    )
    parser.add_argument("--databases", default=",".join(VENDORS), help="comma-separated: postgresql,mysql,sqlite")
    parser.add_argument("--db-name", default="bench", help="database created and dropped on each server")
    parser.add_argument("--out-dir", default=str(ROOT / "var" / "bench"))
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per single-append benchmark")
    parser.add_argument("--only", nargs="*", help="benchmark ids to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of the harness")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases afterwards")
    parser.add_argument("--no-fsync-test", action="store_true", help="skip pg_test_fsync")
    parser.add_argument(
        "--peer",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the shapes through pyeventsourcing, alternating with ours, and report the ratios "
        "(needs the bench dependency group; --no-peer skips it)",
    )
    parser.add_argument("--peer-rounds", type=int, default=5, help="alternating rounds per side of each comparison")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a gating target is missed too")
    parser.add_argument(
        "--reader-class",
        default="controlplane.eventlog.reader:GlobalReader",
        help="module:Class of the tailing reader (to measure a candidate fix)",
    )
    args = parser.parse_args(argv)
    vendors = [v.strip() for v in args.databases.split(",") if v.strip()]
    unknown = set(vendors) - set(VENDORS)
    if unknown:
        parser.error(f"unknown database {', '.join(sorted(unknown))}; choose from {', '.join(VENDORS)}")

    from tests.benchmarks.machine import machine_facts, pg_test_fsync, pressure

    out_dir = Path(args.out_dir)
    work = out_dir / "data"
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "controlplane.settings",
        "CONTROLPLANE_DATA_DIR": str(work.resolve()),
        "CONTROLPLANE_LOG_LEVEL": "WARNING",
    }
    env.setdefault("CONTROLPLANE_SECRET_KEY", BENCH_SECRET)
    env.pop("CONTROLPLANE_REDIS_URL", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)

    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    print("== machine facts (pg_test_fsync takes ~15 s)", file=sys.stderr, flush=True)
    machine = machine_facts(work, None if args.no_fsync_test else 1)
    urls = {"postgresql": args.postgres, "mysql": args.mysql, "sqlite": ""}
    databases = [run_vendor(vendor, urls[vendor], args, env, work) for vendor in vendors]
    if not args.no_fsync_test:
        machine["pg_test_fsync_at_end"] = pg_test_fsync(work, 1)
    machine["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    machine["pressure_at_end"] = pressure()
    versions = machine["versions"]
    for database in databases:
        version = database.get("database", {}).get("version") or database.get("server_version")
        versions[{"postgresql": "postgresql", "mysql": "mariadb", "sqlite": "sqlite_in_django"}[database["vendor"]]] = (
            version
        )
    finished = dt.datetime.now(dt.UTC)
    report = {
        "report_version": 1,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "wall_s": round(time.monotonic() - t0, 1),
        "command": " ".join([Path(sys.executable).name, "-m", "tests.benchmarks.run", *(argv or sys.argv[1:])]),
        "source": source_digest(),
        "machine": machine,
        "note": TARGET_NOTE,
        "databases": databases,
        "summary": summarise(databases),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"report-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    shutil.copyfile(path, out_dir / "latest.json")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)

    print()
    print_table(report)
    print_peer_table(report)
    summary = report["summary"]
    print(f"\nreport: {path} (and {out_dir / 'latest.json'}), {report['wall_s']} s")
    if summary["gating_targets_missed"]:
        print(f"targets missed: {', '.join(summary['gating_targets_missed'])}")
    if summary["correctness_failures"] or summary["suite_errors"]:
        print(f"CORRECTNESS FAILURES: {summary['correctness_failures']} {summary['suite_errors']}")
        return 1
    if args.strict and summary["gating_targets_missed"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
