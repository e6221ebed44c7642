"""The one mapping from the core's `InstallSpec` onto `installer.forms.Deployment`, the forms' input.

Every form's files (systemd units, the compose project, the Kustomize directory) come from this mapping, so
the values a form renders are the ones the core configures: the prefix and its `current` link, the role, the
ports, the JDK, the user, the heap, the directories. A spec the forms refuse (`FormError`) is an
INSTALLER_BAD_SPEC naming the field.
"""

from __future__ import annotations

import grp
import os
import pwd

from installer import errors
from installer.errors import InstallerError
from installer.forms import Deployment, FormError, Role
from installer.spec import DEFAULT_MEMBER_PORT, WORKER_MEMBER_PORT, InstallSpec, Layout

DEFAULT_HEAP = "2g"
STOP_TIMEOUT_SECONDS = 120  # SIGTERM, then this long for Hazelcast's graceful shutdown (TimeoutStopSec=)


def service_user(spec: InstallSpec) -> tuple[str, str]:
    """The engine's user and group: `--user` (its primary group), else the installing user, as the process form
    runs it."""
    try:
        entry = pwd.getpwnam(spec.user) if spec.user else pwd.getpwuid(os.getuid())
    except KeyError:
        raise InstallerError(
            errors.USER_MISSING, f"The user {spec.user!r} does not exist.", "Create it, or pass another --user."
        ) from None
    try:
        group = grp.getgrgid(entry.pw_gid).gr_name
    except KeyError:
        group = entry.pw_name
    return entry.pw_name, group


def to_deployment(spec: InstallSpec) -> Deployment:
    layout = Layout(spec.prefix)
    role = Role(spec.role)
    # The forms keep the master and the worker port apart (both roles may share a host); this node's role
    # gets the spec's member port, the other role a port that differs from it.
    port = spec.hazelcast_port
    if role is Role.WORKER:
        master_port, worker_port = (DEFAULT_MEMBER_PORT if port != DEFAULT_MEMBER_PORT else WORKER_MEMBER_PORT), port
    else:
        master_port, worker_port = port, (WORKER_MEMBER_PORT if port != WORKER_MEMBER_PORT else DEFAULT_MEMBER_PORT)
    user, group = service_user(spec)
    checkpoint = spec.checkpoint_dir or str(layout.data / "checkpoint")
    try:
        return Deployment(
            version=spec.version,
            prefix=str(layout.prefix),
            roles=(role,),
            cluster_name=spec.cluster_name,
            master_port=master_port,
            worker_port=worker_port,
            http_port=spec.http_port,
            user=user,
            group=group,
            java_home=spec.java_home or os.environ.get("JAVA_HOME") or None,
            heap=spec.heap or DEFAULT_HEAP,
            log_dir=str(layout.logs),
            data_dir=str(layout.data),
            # hdfs://, s3a://: not a local path (the unit's ReadWritePaths then names the default, harmlessly)
            checkpoint_dir=None if "://" in checkpoint else checkpoint.rstrip("/"),
            stop_timeout_seconds=STOP_TIMEOUT_SECONDS,
            image=spec.image,
            masters=spec.masters,
            workers=spec.workers,
            namespace=spec.namespace,
        )
    except FormError as error:
        raise InstallerError(
            errors.BAD_SPEC,
            f"The {spec.form} form cannot be rendered from this spec: {error}.",
            "Fix the flag it names and run again.",
        ) from None
