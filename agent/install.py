"""`python -m agent.install install|upgrade|rollback|uninstall|plan|status ...`: the installer's standalone CLI,
for nodes without the control plane (docs/INSTALLER.md). It parses flags, asks for confirmation, draws progress
and calls the installer core (`installer.run`, `installer.plan`); `manage.py seatunnel` runs this same parser.

Exit codes (installer/errors.py): 0 ok; 1 unexpected error; 2 bad usage or spec (version string, member list);
3 the host is not fit (OS, Java, ports, disk, user, clock); 4 the distribution (unknown version, download,
checksum, signature, archive, connectors); 5 refused by policy (downgrade, nothing installed, nothing to roll
back to, an unfinished run without --resume, another run busy); 6 not healthy (an upgrade was rolled back);
7 the service (start/stop failed; systemd, or the compose/k8s tool and its engine or cluster, unavailable);
8 not confirmed; 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn

from installer import errors, plan, run
from installer.errors import InstallerError
from installer.progress import Reporter
from installer.spec import CLUSTER_FORMS, FORMS, ROLES, InstallSpec, Layout, parse_members
from installer.steps import switch

OPERATIONS = ("install", "upgrade", "rollback", "uninstall", "plan", "status")


def _spec_flags(parser: argparse.ArgumentParser, *, inherit: bool = False) -> None:
    """The spec's flags. With `inherit` (upgrade) a flag not given keeps the installed spec's value, so an
    upgrade needs only --version; otherwise the defaults below apply."""

    def add(*names: str, **options: Any) -> None:
        if inherit:
            options["default"] = argparse.SUPPRESS
        parser.add_argument(*names, **options)

    add("--version", dest="engine_version", help="the SeaTunnel version, e.g. 2.3.12")
    add(
        "--source",
        help="the tarball: an http(s) URL or a local file (default: the Apache archive, "
        "https://archive.apache.org/dist/seatunnel/<ver>/apache-seatunnel-<ver>-bin.tar.gz)",
    )
    add("--mirror", help="a base URL laid out like the archive: <mirror>/<ver>/<tarball>")
    add("--sha512", help="the expected SHA-512 (digest or checksum file) when no .sha512 is beside it")
    add("--keys", help="the project's KEYS file (path or URL) to check the .asc signature against")
    add("--role", choices=ROLES, default="hybrid")
    add(
        "--form",
        choices=FORMS,
        default="process",
        help="process (the installer supervises the engine), systemd (a unit per role), or compose|k8s (the whole "
        "cluster's files under <prefix>/deploy/<form>/, applied with docker compose / kubectl)",
    )
    add("--unit-dir", default="/etc/systemd/system", help="systemd form: where the unit goes (/etc/systemd/system)")
    add("--masters", type=int, default=2, help="compose/k8s: master replicas (2)")
    add("--workers", type=int, default=2, help="compose/k8s: worker replicas (2)")
    add("--image", help="compose/k8s: the engine image (default apache/seatunnel:<version>)")
    add("--namespace", default="seatunnel", help="k8s: the namespace (seatunnel; it must exist)")
    add("--members", default="", help="the cluster's members: host:port,host:port,...")
    add("--cluster-name", default="seatunnel")
    add("--member-port", type=int, help="the Hazelcast member port (default 5801; 5802 for a worker)")
    add("--http-port", type=int, default=8080, help="REST v2 port (default 8080)")
    add("--https-port", type=int, help="turn HTTPS on for REST v2 on this port (needs --key-store)")
    add("--key-store", help="the JKS/PKCS12 key store for HTTPS")
    add("--key-store-password-file", help="a file holding the key store password")
    add("--basic-auth-file", help="a file holding USER:PASSWORD for REST v2 basic auth")
    add("--checkpoint-dir", help="checkpoint storage (default <prefix>/data/checkpoint/)")
    add("--no-telemetry", action="store_true", help="leave telemetry.metric.enabled off")
    add("--heap", help="the JVM heap (-Xms/-Xmx), e.g. 4g")
    add("--user", help="the user the engine runs as")
    add("--java-home", help="the JDK (default $JAVA_HOME, else java on PATH)")
    add("--connectors", help="connectors to have: name,name,... or @plugin_config")
    add("--connectors-dir", help="a directory of connector jars (air-gapped sites)")
    add("--health-timeout", type=float, default=90.0, help="seconds to wait for health (90)")
    add("--expected-members", type=int, default=1, help="members the health check expects (1)")
    add("--min-free-disk-mb", type=int, default=1024, help="free disk the install needs (1024)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agent.install",
        description="Install, upgrade, roll back and uninstall SeaTunnel (Zeta) on this node. docs/INSTALLER.md",
    )
    sub = parser.add_subparsers(dest="operation", required=True, metavar="|".join(OPERATIONS))
    for name, text in (
        ("install", "install a version (fetch, verify, unpack, configure, start, health check)"),
        ("upgrade", "move to another version; rolls back by itself when the new one is not healthy"),
        ("plan", "show what install/upgrade/rollback/uninstall would change; changes nothing"),
    ):
        command = sub.add_parser(name, help=text, description=text)
        command.add_argument("--prefix", required=True, type=Path, help="the install directory, e.g. /opt/seatunnel")
        # upgrade (and plan, which may plan one) leave a flag not given unset: the installed spec or the
        # spec's own defaults (the same values as install's flag defaults) fill it.
        _spec_flags(command, inherit=name in ("upgrade", "plan"))
        if name == "plan":
            command.add_argument("--op", choices=("install", "upgrade", "rollback", "uninstall"))
            command.add_argument("--purge", action="store_true")
        else:
            command.add_argument("--resume", action="store_true", help="continue an interrupted run (same spec)")
            command.add_argument("--force", action="store_true", help="allow a downgrade")
            command.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
        command.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    for name, text in (
        ("rollback", "switch back to the previous version and its config"),
        ("uninstall", "remove the service and the files; keep logs/ and data/ unless --purge"),
        ("status", "what is installed, the service, its health"),
    ):
        command = sub.add_parser(name, help=text, description=text)
        command.add_argument("--prefix", required=True, type=Path)
        if name != "status":
            command.add_argument("-y", "--yes", action="store_true")
        if name == "uninstall":
            command.add_argument("--purge", action="store_true", help="remove logs/ and data/ as well")
        command.add_argument("--json", action="store_true")
    return parser


def _read_secret(path: str | None) -> str | None:
    return Path(path).read_text().strip() if path else None


SIMPLE = (
    "source", "mirror", "sha512", "keys", "role", "form", "cluster_name", "member_port", "http_port", "https_port",
    "key_store", "checkpoint_dir", "heap", "user", "java_home", "connectors_dir", "health_timeout", "expected_members",
    "unit_dir", "masters", "workers", "image", "namespace",
)  # fmt: skip


def spec_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The spec fields the flags give (for an upgrade: only those given on the command line)."""
    given = vars(args)
    fields: dict[str, Any] = {name: given[name] for name in SIMPLE if name in given}
    if given.get("engine_version"):
        fields["version"] = given["engine_version"]
    if "members" in given:
        fields["members"] = parse_members(given["members"])
    if given.get("key_store_password_file"):
        fields["key_store_password"] = _read_secret(given["key_store_password_file"])
    if given.get("basic_auth_file"):
        basic = _read_secret(given["basic_auth_file"]) or ""
        if ":" not in basic:
            raise InstallerError(errors.BAD_SPEC, "The basic auth file must hold USER:PASSWORD.", "Fix the file.")
        user, _, password = basic.partition(":")
        fields["basic_auth"] = (user, password)
    if "no_telemetry" in given:
        fields["telemetry"] = not given["no_telemetry"]
    if given.get("connectors"):
        fields["connectors"] = tuple(c.strip() for c in given["connectors"].split(",") if c.strip())
    if "min_free_disk_mb" in given:
        fields["min_free_disk"] = given["min_free_disk_mb"] << 20
    return fields


def spec_from_args(args: argparse.Namespace, *, inherit: bool = False) -> InstallSpec:
    fields = spec_fields(args)
    if "version" not in fields:
        raise InstallerError(errors.BAD_SPEC, "--version is required.", "Give the SeaTunnel version, e.g. 2.3.12.")
    prefix = args.prefix.resolve()
    if inherit:
        installed = switch.load_node(Layout(prefix))
        current = installed.get("current")
        if current and current in installed.get("specs", {}):
            base = dict(installed["specs"][current])
            # where the old tarball came from and its digest belong to the old version
            base.update(source=None, sha512=None, version=fields["version"])
            return dataclasses.replace(InstallSpec.from_json(base), **fields)
    return InstallSpec(prefix=prefix, **fields)


class ConsoleReporter(Reporter):
    """Step lines and a progress bar for the long steps (fetch, verify, unpack), on stderr."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar, self.task = None, None

    def step(self, name: str, state: str, detail: dict[str, Any] | None = None) -> None:
        self._close_bar()
        mark = {"started": "…", "done": "✓", "skipped": "·", "failed": "✗"}.get(state, state)
        if state != "started":
            self.console.print(f"{mark} {name}" + (" (done before)" if state == "skipped" else ""))

    def progress(self, name: str, done: int, total: int | None) -> None:
        if self.bar is None:
            self.bar = Progress(
                TextColumn(name), BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=self.console
            )
            self.bar.start()
            self.task = self.bar.add_task(name, total=total)
        assert self.task is not None
        self.bar.update(self.task, completed=done, total=total)

    def note(self, text: str) -> None:
        self._close_bar()
        self.console.print(f"! {text}")


def _confirm(args: argparse.Namespace, what: str) -> None:
    if getattr(args, "yes", False):
        return
    if not sys.stdin.isatty():
        raise InstallerError(errors.DECLINED, f"Not confirmed: {what}.", "Pass --yes to run without a prompt.")
    answer = input(f"{what}? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise InstallerError(errors.DECLINED, f"Not confirmed: {what}.", "Nothing was changed.")


def _plan(args: argparse.Namespace) -> dict[str, Any]:
    op = args.op
    if op in ("rollback", "uninstall"):
        return plan.plan_rollback(args.prefix) if op == "rollback" else plan.plan_uninstall(args.prefix, args.purge)
    if op is None:
        # compose and k8s describe the whole cluster: planning one is always planning its install
        cluster = getattr(args, "form", None) in CLUSTER_FORMS
        op = "upgrade" if (args.prefix / "current").is_symlink() and not cluster else "install"
    return plan.plan_install(spec_from_args(args, inherit=op == "upgrade"), op)


def _print_plan(console: Console, result: dict[str, Any]) -> None:
    console.print(f"plan: {result['operation']} {result.get('version') or ''} (nothing is changed)")
    for change in result["changes"]:
        where = change.get("path") or change.get("url") or ""
        extra = f" {change['from'] or '(none)'} -> {change['to']}" if change["kind"] == "link" else ""
        line = f"  {change['kind']:<9} {change.get('action', ''):<14} {where}{extra}"
        console.print(line, markup=False, highlight=False, soft_wrap=True)
        if change.get("diff"):
            console.print(change["diff"], markup=False, highlight=False, soft_wrap=True)
    for check in result.get("checks", []):
        if not check["ok"]:
            console.print(f"  check {check['check']}: {check['error']['code']}: {check['error']['message']}")
    for refusal in result.get("refusals", []):
        console.print(f"  refused: {refusal.get('code')}: {refusal.get('message', '')}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    err = Console(stderr=True)
    reporter = ConsoleReporter(err)
    try:
        if args.operation == "install":
            spec = spec_from_args(args) if not args.resume else _resume_spec(args)
            _confirm(args, f"Install SeaTunnel {spec.version} into {spec.prefix}")
            result = run.install(spec, reporter=reporter, resume=args.resume, force=args.force)
        elif args.operation == "upgrade":
            spec = spec_from_args(args, inherit=True) if not args.resume else _resume_spec(args)
            _confirm(args, f"Upgrade {spec.prefix} to SeaTunnel {spec.version}")
            result = run.upgrade(spec, reporter=reporter, resume=args.resume, force=args.force)
        elif args.operation == "rollback":
            _confirm(args, f"Roll {args.prefix} back to its previous version")
            result = run.rollback(args.prefix.resolve(), reporter=reporter)
        elif args.operation == "uninstall":
            _confirm(args, f"Uninstall SeaTunnel from {args.prefix}" + (" with logs and data" if args.purge else ""))
            result = run.uninstall(args.prefix.resolve(), purge=args.purge, reporter=reporter)
        elif args.operation == "plan":
            result = _plan(args)
            if not args.json:
                _print_plan(err, result)
        else:
            result = run.status(args.prefix.resolve())
    except InstallerError as error:
        reporter._close_bar()
        err.print(f"[bold red]{error.code}[/]: {error.message}", highlight=False)
        if error.hint:
            err.print(f"  {error.hint}", markup=False, highlight=False)
        if getattr(args, "json", False):
            print(json.dumps({"error": error.to_json()}, default=str))
        return error.exit_code
    except KeyboardInterrupt:
        reporter._close_bar()
        err.print("interrupted: run again with --resume to continue")
        return 130
    reporter._close_bar()
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    elif args.operation != "plan":
        err.print(f"{args.operation}: ok", highlight=False)
        if args.operation == "status":
            print(json.dumps(result, indent=2, default=str))
    return errors.EXIT_OK


def _resume_spec(args: argparse.Namespace) -> InstallSpec:
    """With --resume the journal's spec is used; only --prefix is needed."""
    from installer.journal import Journal
    from installer.spec import Layout

    record = Journal.load(Layout(args.prefix.resolve()).journal)
    if record is None:
        raise InstallerError(
            errors.NOTHING_TO_RESUME, f"No journal under {args.prefix}.", "Run the command without --resume."
        )
    return InstallSpec.from_json(record.spec)


if __name__ == "__main__":
    sys.exit(main())
