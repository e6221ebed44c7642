"""The health check: the engine's REST v2 `/overview` answers, with the installed `projectVersion`, and the
cluster has the expected members (`/system-monitoring-information`, one entry per member) and `workers`
(ZETA_FACTS §1.2: the key is `workers`, values are strings). A plain urllib client: the control plane's Zeta
client lives in `controlplane`, which the installer may not import."""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request
from typing import Any

from agent.managers import base as manager_base
from installer import errors
from installer.errors import InstallerError
from installer.spec import InstallSpec
from installer.steps import Context, service

POLL = 0.25


def base_url(spec: InstallSpec) -> str:
    host = f"[{spec.health_host}]" if ":" in spec.health_host else spec.health_host
    if spec.https_port is not None:
        return f"https://{host}:{spec.https_port}"
    return f"http://{host}:{spec.http_port}"


def get_json(spec: InstallSpec, path: str, timeout: float = 5.0) -> Any:
    headers = {"Accept": "application/json"}
    if spec.basic_auth is not None:
        token = base64.b64encode(":".join(spec.basic_auth).encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    request = urllib.request.Request(base_url(spec) + path, headers=headers)  # noqa: S310 - our own node
    context = None
    if spec.https_port is not None:
        # The node's own certificate, asked on the node itself: often self-signed, so not verified here.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
        return json.loads(response.read())


def expected_workers(spec: InstallSpec) -> int:
    return 0 if spec.role == "master" else 1


def probe(spec: InstallSpec) -> dict[str, Any]:
    """One look: what is wrong (in `problem`) or the facts that make it healthy."""
    try:
        overview = get_json(spec, "/overview")
        members = get_json(spec, "/system-monitoring-information")
    except (urllib.error.URLError, OSError, ValueError) as error:
        return {"problem": f"REST v2 at {base_url(spec)} does not answer ({getattr(error, 'reason', error)})"}
    version = overview.get("projectVersion")
    if version != spec.version:
        return {"problem": f"/overview says projectVersion {version!r}, expected {spec.version}"}
    workers = int(overview.get("workers", "0"))
    count = len(members) if isinstance(members, list) else 0
    if workers < expected_workers(spec):
        return {"problem": f"/overview says workers {workers}, expected at least {expected_workers(spec)}"}
    if count < spec.expected_members:
        return {"problem": f"{count} member(s) in the cluster, expected at least {spec.expected_members}"}
    return {"version": version, "workers": workers, "members": count, "url": base_url(spec)}


def run(ctx: Context) -> dict[str, Any]:
    spec = ctx.spec
    deadline = time.monotonic() + spec.health_timeout
    found = service.manager(ctx.layout) if spec.form in ("process", "systemd") else None
    # A supervised process that is not running has exited; a unit only when it shows failed or inactive (with
    # Restart=on-failure systemd starts it again meanwhile: `activating`).
    gone = {manager_base.FAILED, manager_base.STOPPED}
    while True:
        result = probe(spec)
        if "problem" not in result:
            return result
        state = found.status().state if found is not None else None
        if state is not None and (state != manager_base.RUNNING if spec.form == "process" else state in gone):
            raise InstallerError(
                errors.HEALTH_FAILED,
                f"The engine exited before it was healthy ({result['problem']}).",
                "See its log: " + service.log_tail(ctx.layout)[-500:].strip(),
                problem=result["problem"],
            )
        if time.monotonic() > deadline:
            raise InstallerError(
                errors.HEALTH_FAILED,
                f"The engine was not healthy after {spec.health_timeout:g} s: {result['problem']}.",
                "See the log under logs/, fix the cause and run again.",
                problem=result["problem"],
            )
        time.sleep(POLL)
