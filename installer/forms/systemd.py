"""Bare metal: one systemd unit per role of this host.

The engine runs in the foreground (`bin/seatunnel-cluster.sh` without `-d`; newer scripts `exec` the JVM),
so systemd watches the JVM itself: `Type=simple`, SIGTERM to the whole control group on stop (an older
script that does not `exec` leaves bash as the main process, and the JVM must still get the signal), a
stop timeout long enough for Hazelcast's graceful shutdown, and a restart policy with a start limit.
The engine ships no unit of its own (ZETA_FACTS.md §6); the role flags are `ServerCommandArgs`'
`-r master|worker`, and hybrid omits `-r` (`-r master_and_worker` fails in Java, §4.3).
"""

from __future__ import annotations

from installer.forms import Deployment, Role
from installer.forms.engine_config import WORKER_SEATUNNEL_FILE

__all__ = ["UNIT_DIR", "render_units", "unit_name", "unit_text"]

# Where the units go; the returned paths are relative to it.
UNIT_DIR = "/etc/systemd/system"

# The JVM answers SIGTERM with exit status 143 (128 + 15): a stop, not a failure to restart from.
_JVM_SIGTERM_STATUS = 143
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def unit_name(role: Role) -> str:
    """`seatunnel.service` for hybrid, `seatunnel-master.service`, `seatunnel-worker.service`."""
    return "seatunnel.service" if role is Role.HYBRID else f"seatunnel-{role.value}.service"


def unit_text(d: Deployment, role: Role) -> str:
    """The unit of one role."""
    exec_start = f"{d.home}/bin/seatunnel-cluster.sh"
    if role is not Role.HYBRID:
        exec_start += f" -r {role.value}"
    describe = "master and worker" if role is Role.HYBRID else role.value
    unit = [
        "[Unit]",
        f"Description=Apache SeaTunnel (Zeta) {describe} of cluster {d.cluster_name}",
        "Documentation=https://seatunnel.apache.org/docs/",
        "Wants=network-online.target",
        "After=network-online.target",
    ]
    if role is Role.WORKER and Role.MASTER in d.roles:
        # Ordering only: a worker on a master's host starts after it, and stops before it.
        unit.append(f"After={unit_name(Role.MASTER)}")
    unit += [
        # At most 5 starts in 10 minutes, then systemd gives up and the unit shows failed.
        "StartLimitIntervalSec=600",
        "StartLimitBurst=5",
        "",
        "[Service]",
        "Type=simple",
        f"User={d.user}",
        f"Group={d.group}",
        f"WorkingDirectory={d.home}",
        f"Environment=SEATUNNEL_HOME={d.home}",
    ]
    if d.java_home:
        # The script calls `java` from PATH, so JAVA_HOME alone would not choose the JVM.
        unit += [f"Environment=JAVA_HOME={d.java_home}", f"Environment=PATH={d.java_home}/bin:{_DEFAULT_PATH}"]
    if role is Role.WORKER and d.worker_http_port not in (None, d.http_port):
        unit.append(f"Environment=SEATUNNEL_CONFIG={d.home}/config/{WORKER_SEATUNNEL_FILE}")
    unit += [
        f"ExecStart={exec_start}",
        "KillMode=control-group",
        "KillSignal=SIGTERM",
        f"TimeoutStopSec={d.stop_timeout_seconds}",
        f"SuccessExitStatus={_JVM_SIGTERM_STATUS}",
        "Restart=on-failure",
        "RestartSec=10",
        f"LimitNOFILE={d.nofile}",
        "UMask=0027",
        # Hardening the JVM tolerates. Not MemoryDenyWriteExecute (the JIT writes code) and not PrivateTmp
        # (heap dumps and any local checkpoint under /tmp must outlive a restart).
        "NoNewPrivileges=yes",
        "ProtectSystem=full",
        # With ProtectSystem=full only /usr, /boot and /etc are read-only; these keep the engine's own
        # directories writable when the prefix sits under /usr. '-': a missing one does not stop the start.
        f"ReadWritePaths=-{d.logs} -{d.data} -{d.checkpoints} -{d.home}/logs",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectControlGroups=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ]
    header = "# Written by the SeaTunnel control plane's installer; a re-install overwrites local edits.\n"
    return header + "\n".join(unit) + "\n"


def render_units(d: Deployment) -> dict[str, str]:
    """One unit per role of this host, by file name under `UNIT_DIR`."""
    return {unit_name(role): unit_text(d, role) for role in d.roles}
