"""The operations: install, upgrade, rollback, uninstall, status. Each is a list of idempotent steps run
through the journal (`installer.journal`): a step recorded `done` is skipped on `--resume`, one that was cut
off runs again. What is on disk changes in this order: downloads and `versions/<v>/` (inert until linked),
the version's config, the service definition, then the `current` link (atomically), then the service.

Upgrade keeps the previous version under `versions/`, backs up its config, calls the `before_switch` hook (the
control plane stops streaming jobs with a savepoint there; nothing is built for that here), stops the old
engine, switches, starts and health-checks the new one, and rolls back by itself when that fails: stop, link
the old version again, restore its config, start it, check it. `after_switch` (resume the jobs) runs once the
new version is healthy.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installer import cluster_forms, errors, fsutil, journal, versions
from installer.errors import InstallerError
from installer.journal import Journal, RunLock
from installer.progress import Reporter
from installer.spec import CLUSTER_FORMS, InstallSpec, Layout
from installer.steps import (
    Context,
    backup,
    configure,
    connectors,
    fetch,
    health,
    preflight,
    service,
    switch,
    unpack,
    verify,
)

Hook = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Hooks:
    """Callables the caller passes in. `before_switch` runs while the old version still serves (the control plane
    savepoints streaming jobs there); `after_switch` once the new one is healthy (it resumes them). Each gets
    {"from": old version, "to": new version, "prefix": str}. The standalone CLI passes none."""

    before_switch: Hook | None = None
    after_switch: Hook | None = None


StepFn = Callable[[Context], dict[str, Any]]


def _run_steps(ctx: Context, record: Journal, steps: list[tuple[str, StepFn]]) -> None:
    for name, fn in steps:
        done = record.done(name)
        if done is not None:
            ctx.results[name] = done.result
            ctx.reporter.step(name, "skipped", done.result)
            continue
        step = record.begin(name)
        ctx.reporter.step(name, "started")
        try:
            result = fn(ctx)
        except InstallerError as error:
            record.fail(step, error.to_json())
            ctx.reporter.step(name, "failed", error.to_json())
            raise
        except Exception as error:
            record.fail(step, {"code": "INSTALLER_UNEXPECTED", "message": repr(error)})
            ctx.reporter.step(name, "failed")
            raise
        ctx.results[name] = result
        record.finish(step, result)
        ctx.reporter.step(name, "done", result)


def _open_journal(layout: Layout, operation: str, spec: InstallSpec, resume: bool) -> tuple[Journal, InstallSpec]:
    existing = Journal.load(layout.journal)
    if resume:
        if existing is None or existing.status == journal.DONE:
            raise InstallerError(
                errors.NOTHING_TO_RESUME,
                f"There is no unfinished run under {layout.prefix} to resume.",
                "Run the command without --resume.",
            )
        if existing.operation != operation:
            raise InstallerError(
                errors.UNFINISHED_RUN,
                f"The unfinished run under {layout.prefix} is an {existing.operation}, not an {operation}.",
                f"Resume it with `{existing.operation} --resume`.",
            )
        existing.resumed += 1
        existing.status = journal.RUNNING
        existing.save()
        return existing, InstallSpec.from_json(existing.spec)
    if existing is not None and existing.status == journal.RUNNING:
        raise InstallerError(
            errors.UNFINISHED_RUN,
            f"An {existing.operation} of {existing.spec.get('version')} under {layout.prefix} stopped after "
            f"step {existing.last_done() or '(none)'} and did not finish.",
            f"Run `{existing.operation} --resume` to continue it (the node is not half-switched: `current` "
            "still names the version it named before).",
            operation=existing.operation,
        )
    record = Journal(path=layout.journal, operation=operation, spec=spec.to_json())
    record.save()
    return record, spec


def _finish(record: Journal, ctx: Context, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    record.end(journal.DONE)
    return {
        "operation": record.operation,
        "version": ctx.spec.version,
        "prefix": str(ctx.layout.prefix),
        "run_id": record.run_id,
        "steps": {name: result for name, result in ctx.results.items()},
        **(extra or {}),
    }


def _guard(record: Journal, body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return body()
    except InstallerError as error:
        if record.status == journal.RUNNING:
            record.end(journal.FAILED, error.to_json())
        raise
    except BaseException as error:
        # KeyboardInterrupt and kills stay `running` on disk (the process may not get here): resumable.
        if isinstance(error, Exception):
            record.end(journal.FAILED, {"code": "INSTALLER_UNEXPECTED", "message": repr(error)})
        raise


# -- install ----------------------------------------------------------------------------------------


def _preflight(ctx: Context) -> dict[str, Any]:
    result = preflight.run(ctx, our_pid=service.running_pid(ctx.layout))
    tools = service.check_tools(ctx.spec)  # systemd answers, before anything changes
    return {**result, "service": tools} if tools else result


def _record_installed(ctx: Context) -> dict[str, Any]:
    node = switch.load_node(ctx.layout)
    if node.get("current") != ctx.spec.version:
        node["previous"] = node.get("current")
    node["current"] = ctx.spec.version
    node.setdefault("specs", {})[ctx.spec.version] = ctx.spec.to_json()
    switch.save_node(ctx.layout, node)
    return {"current": node["current"], "previous": node["previous"]}


# What an install and an upgrade both do before configuring: the new version's files, checked and unpacked.
PREPARE: list[tuple[str, StepFn]] = [
    ("preflight", _preflight),
    ("fetch", fetch.run),
    ("verify", verify.run),
    ("unpack", unpack.run),
    ("connectors", connectors.run),
]


def install(
    spec: InstallSpec, *, reporter: Reporter | None = None, resume: bool = False, force: bool = False
) -> dict[str, Any]:
    if spec.form in CLUSTER_FORMS:
        return cluster_forms.install(spec, reporter=reporter)
    layout = Layout(spec.prefix)
    with RunLock(layout.lock):
        record, spec = _open_journal(layout, "install", spec, resume)
        ctx = Context(spec=spec, layout=layout, reporter=reporter or Reporter(), force=force)

        def body() -> dict[str, Any]:
            # node.json names a version only once an install of it finished (its last step): a run cut off after
            # the switch is still a first install, undone if its engine does not come up.
            current = switch.load_node(layout).get("current")
            if current is not None and current != spec.version:
                raise InstallerError(
                    errors.ALREADY_INSTALLED,
                    f"SeaTunnel {current} is already installed under {layout.prefix}.",
                    f"Use `upgrade --version {spec.version}` to move to another version.",
                    current=current,
                )
            first = current is None
            _run_steps(
                ctx,
                record,
                [
                    *PREPARE,
                    ("configure", configure.run),
                    ("service", service.define),
                    ("switch", switch.run),
                ],
            )
            try:
                _run_steps(ctx, record, [("start", service.start), ("health", health.run)])
            except InstallerError:
                if first:
                    _undo_first_install(layout)
                raise
            _run_steps(ctx, record, [("record", _record_installed)])
            return _finish(record, ctx)

        return _guard(record, body)


def _undo_first_install(layout: Layout) -> None:
    """A first install whose engine did not come up: stop it, unlink `current`, drop the service definition (and
    a systemd unit). The unpacked version stays under versions/ for a look at it; the node runs nothing, as before."""
    try:
        service.stop(layout)
    finally:
        fsutil.remove_link(layout.current)
        service.undefine(layout)


# -- upgrade ----------------------------------------------------------------------------------------


def _carry_over(ctx: Context) -> dict[str, Any]:
    """Jars an operator added to the previous version's lib/ (JDBC drivers, ZETA_FACTS §4.2) and plugins/ go
    along to the new version; connectors are versioned and come from the connectors step instead."""
    assert ctx.previous is not None
    old = ctx.layout.version_dir(ctx.previous)
    new = ctx.layout.version_dir(ctx.spec.version)
    carried = []
    for sub in ("lib", "plugins"):
        source = old / sub
        if not source.is_dir():
            continue
        for path in sorted(source.rglob("*.jar")):
            relative = path.relative_to(old)
            target = new / relative
            shipped = (new / sub).is_dir() and any((new / sub).glob(path.name))
            if target.exists() or shipped:
                continue
            if sub == "lib" and _shipped_in(ctx, ctx.previous, relative):
                continue  # the old release's own jar, not an operator's
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            carried.append(str(relative))
    return {"carried": carried}


def _shipped_in(ctx: Context, version: str, relative: Path) -> bool:
    marker = unpack.read_marker(ctx.layout.version_dir(version)) or {}
    return str(relative) in set(marker.get("lib", []))


def _hook(ctx: Context, hook: Hook | None, name: str) -> dict[str, Any]:
    if hook is None:
        return {"hook": "none (no control plane: streaming jobs were not savepointed by the installer)"}
    try:
        hook({"from": ctx.previous, "to": ctx.spec.version, "prefix": str(ctx.layout.prefix)})
    except InstallerError:
        raise
    except Exception as error:
        raise InstallerError(
            errors.HOOK_FAILED,
            f"The {name} hook failed: {error}.",
            "Nothing was switched; fix the cause (or stop the jobs by hand) and run again.",
        ) from None
    return {"hook": "called"}


def upgrade(
    spec: InstallSpec,
    *,
    reporter: Reporter | None = None,
    resume: bool = False,
    force: bool = False,
    hooks: Hooks | None = None,
) -> dict[str, Any]:
    if spec.form in CLUSTER_FORMS:
        raise InstallerError(
            errors.FORM_NOT_AVAILABLE,
            f"The {spec.form} form is upgraded by installing the new version: its files describe the whole cluster.",
            f"Run `install --form {spec.form} --version {spec.version}`; it renders the files again and applies them.",
            form=spec.form,
        )
    layout = Layout(spec.prefix)
    hooks = hooks or Hooks()
    with RunLock(layout.lock):
        record, spec = _open_journal(layout, "upgrade", spec, resume)
        ctx = Context(spec=spec, layout=layout, reporter=reporter or Reporter(), force=force)

        def body() -> dict[str, Any]:
            node = switch.load_node(layout)
            # On resume after the switch, node.json still names the old version as current.
            previous = node.get("current")
            if previous is None:
                raise InstallerError(
                    errors.NOT_INSTALLED, f"Nothing is installed under {layout.prefix}.", "Use `install` first."
                )
            ctx.previous = previous
            kind = versions.check_change(previous, spec.version, force=force)
            if kind == "same":
                record.end(journal.DONE)
                return {"operation": "upgrade", "version": spec.version, "changed": False}
            _run_steps(
                ctx,
                record,
                [
                    *PREPARE,
                    ("carry_over", _carry_over),
                    ("configure", configure.run),
                    ("backup", lambda c: backup.backup(c.layout, previous)),
                    ("before_switch", lambda c: _hook(c, hooks.before_switch, "before_switch")),
                    ("stop_old", lambda c: service.stop(c.layout)),
                    ("service", service.define),
                    ("switch", switch.run),
                ],
            )
            try:
                _run_steps(ctx, record, [("start", service.start), ("health", health.run)])
            except InstallerError as failure:
                rolled = _roll_back(ctx, previous, node)
                record.end(journal.ROLLED_BACK, failure.to_json())
                raise InstallerError(
                    errors.ROLLED_BACK,
                    f"{spec.version} did not become healthy ({failure.message}); the node was rolled back to "
                    f"{previous}, which is {'healthy' if rolled.get('healthy') else 'NOT healthy either'}.",
                    "See the new version's log under logs/; fix the cause and run the upgrade again.",
                    failure=failure.to_json(),
                    rollback=rolled,
                ) from None
            _run_steps(ctx, record, [("record", _record_installed)])
            _run_steps(ctx, record, [("after_switch", lambda c: _hook(c, hooks.after_switch, "after_switch"))])
            return _finish(record, ctx, {"previous": previous, "change": kind})

        return _guard(record, body)


def _roll_back(ctx: Context, version: str, node: dict[str, Any]) -> dict[str, Any]:
    """Switch back to `version`: stop what runs, link it, restore its config, define its service, start, check."""
    layout = ctx.layout
    old_spec = InstallSpec.from_json(node["specs"][version]) if version in node.get("specs", {}) else None
    result: dict[str, Any] = {"to": version}
    result["stop"] = service.stop(layout)
    result["switch"] = switch.switch(layout, version)
    result["restore"] = backup.restore(layout, version)
    back = Context(spec=old_spec or ctx.spec, layout=layout, reporter=ctx.reporter)
    result["service"] = service.define(back)
    try:
        result["start"] = service.start(back)
        result["health"] = health.run(back)
        result["healthy"] = True
    except InstallerError as error:
        result["healthy"] = False
        result["error"] = error.to_json()
    return result


# -- rollback by hand ---------------------------------------------------------------------------------


def rollback(prefix: Path, *, reporter: Reporter | None = None) -> dict[str, Any]:
    layout = Layout(prefix)
    with RunLock(layout.lock):
        node = switch.load_node(layout)
        current, previous = node.get("current"), node.get("previous")
        if previous is None or not layout.version_dir(previous).is_dir():
            raise InstallerError(
                errors.NO_PREVIOUS_VERSION,
                f"There is no previous version under {layout.prefix} to roll back to"
                + (f" (current: {current})." if current else "."),
                "Nothing was changed.",
            )
        spec = InstallSpec.from_json(node["specs"][previous])
        record = Journal(path=layout.journal, operation="rollback", spec=spec.to_json())
        record.save()
        ctx = Context(spec=spec, layout=layout, reporter=reporter or Reporter(), previous=current)

        def body() -> dict[str, Any]:
            result = _roll_back(ctx, previous, node)
            if not result["healthy"]:
                raise InstallerError(
                    errors.HEALTH_FAILED,
                    f"Rolled back to {previous}, but it is not healthy: {result['error']['message']}",
                    "See the log under logs/.",
                    rollback=result,
                )
            node["current"], node["previous"] = previous, current
            switch.save_node(layout, node)
            record.end(journal.DONE)
            return {"operation": "rollback", "version": previous, "from": current, "rollback": result}

        return _guard(record, body)


# -- uninstall ----------------------------------------------------------------------------------------


def uninstall(prefix: Path, *, purge: bool = False, reporter: Reporter | None = None) -> dict[str, Any]:
    """Stop and remove the service, `current`, versions, downloads and the installer's state; keep `logs/` and
    `data/` (checkpoints) unless `purge`."""
    layout = Layout(prefix)
    reporter = reporter or Reporter()
    if not layout.state_dir.exists() and not layout.current.is_symlink():
        raise InstallerError(
            errors.NOT_INSTALLED, f"Nothing is installed under {layout.prefix}.", "Nothing was changed."
        )
    with RunLock(layout.lock):
        removed: list[str] = []
        stopped = service.stop(layout)
        reporter.step("stop", "done", stopped)
        undefined = service.undefine(layout)
        removed += undefined["removed"]
        fsutil.remove_link(layout.current)
        for path in (layout.versions, layout.downloads, layout.state_dir / "dist", layout.backups, layout.run_dir):
            if path.exists():
                fsutil.remove_tree(path)
                removed.append(str(path.relative_to(layout.prefix)))
        layout.node_state.unlink(missing_ok=True)
        if purge:
            for path in (layout.logs, layout.data):
                if path.exists():
                    fsutil.remove_tree(path)
                    removed.append(str(path.relative_to(layout.prefix)))
        kept = [str(p.relative_to(layout.prefix)) for p in (layout.logs, layout.data) if p.exists()]
        layout.journal.unlink(missing_ok=True)
    if purge:
        layout.lock.unlink(missing_ok=True)
        if layout.state_dir.exists() and not any(layout.state_dir.iterdir()):
            layout.state_dir.rmdir()
        if layout.prefix.exists() and not any(layout.prefix.iterdir()):
            layout.prefix.rmdir()
    reporter.step("remove", "done")
    return {"operation": "uninstall", "stopped": stopped, "removed": removed, "kept": kept, "purge": purge}


# -- status -------------------------------------------------------------------------------------------


def status(prefix: Path) -> dict[str, Any]:
    layout = Layout(prefix)
    node = switch.load_node(layout)
    record = Journal.load(layout.journal)
    result: dict[str, Any] = {
        "prefix": str(layout.prefix),
        "current": layout.current_version(),
        "previous": node.get("previous"),
        "versions": sorted(p.name for p in layout.versions.iterdir() if not p.name.startswith("."))
        if layout.versions.is_dir()
        else [],
        "last_run": None
        if record is None
        else {
            "operation": record.operation,
            "status": record.status,
            "last_step": record.last_done(),
            "error": record.error,
        },
    }
    try:
        found = service.manager(layout)
        result["service"] = found.status().to_json() if found else None
    except InstallerError as error:
        result["service"] = {"state": "unknown", "error": error.to_json()}
    current = result["current"]
    if current and current in node.get("specs", {}):
        result["health"] = health.probe(InstallSpec.from_json(node["specs"][current]))
    return result
