"""Every permission point (resource, action) and what each built-in role holds. The one list: docs/SECURITY.md
mirrors it and a test keeps the two in step.

Viewer reads; Operator also runs and stops things; Admin also configures; Owner also manages members and
the tenant. ``secret.reveal``, ``audit.export`` and ``diagnostics.download`` (archives hold node logs) are points
of their own so they can be held back.
"""

from __future__ import annotations

POINTS: dict[str, str] = {
    "tenant.read": "See the tenant, its quotas and workspaces",
    "tenant.update": "Rename the tenant, set its quotas",
    "tenant.disable": "Disable or enable the tenant",
    "workspace.read": "See workspaces",
    "workspace.create": "Create workspaces",
    "member.read": "See who holds which role",
    "member.manage": "Grant and revoke roles",
    "secret.read": "List secrets and their metadata (never values)",
    "secret.create": "Create secrets",
    "secret.update": "Store a new version of a secret",
    "secret.delete": "Delete secrets",
    "secret.reveal": "Read a secret's plaintext value (audited)",
    "audit.read": "Read the audit trail",
    "audit.export": "Export the audit trail (CSV, JSON Lines)",
    "cluster.read": "See clusters, nodes and their health",
    "cluster.create": "Register clusters",
    "cluster.update": "Change cluster settings",
    "cluster.delete": "Remove clusters",
    "cluster.restart": "Restart clusters and nodes",
    "cluster.install": "Install SeaTunnel on nodes, scale clusters out and in (installer operations)",
    "cluster.upgrade": "Upgrade a cluster's SeaTunnel version, node by node",
    "job.read": "See jobs, versions and runs",
    "job.create": "Create jobs",
    "job.update": "Change job configs (new versions), roll back",
    "job.delete": "Delete jobs",
    "job.run": "Start, retry and resume runs",
    "job.stop": "Stop, pause and cancel runs",
    "operation.read": "See operations and their progress",
    "operation.run": "Start operations (restart, diagnose, ...)",
    "operation.cancel": "Cancel operations",
    "fault.read": "Match error texts and logs against the fault library",
    "diagnostics.download": "Download diagnostic archives: node logs and configs, secrets redacted (audited)",
    "alert.read": "See alerts",
    "alert.manage": "Acknowledge alerts, silence, edit rules and channels",
}

_READ = {p for p in POINTS if p.endswith(".read")}
_OPERATE = {
    "job.run",
    "job.stop",
    "cluster.restart",
    "operation.run",
    "operation.cancel",
    "alert.manage",
    "diagnostics.download",
}
_CONFIGURE = {
    "workspace.create",
    "secret.create",
    "secret.update",
    "secret.delete",
    "secret.reveal",
    "audit.export",
    "cluster.create",
    "cluster.update",
    "cluster.delete",
    "cluster.install",
    "cluster.upgrade",
    "job.create",
    "job.update",
    "job.delete",
}
_OWN = {"tenant.update", "tenant.disable", "member.manage"}

ROLES: dict[str, frozenset[str]] = {
    "viewer": frozenset(_READ - {"audit.read"}),
    "operator": frozenset(_READ - {"audit.read"} | _OPERATE),
    "admin": frozenset(_READ | _OPERATE | _CONFIGURE),
    "owner": frozenset(_READ | _OPERATE | _CONFIGURE | _OWN),
}
ROLE_ORDER = ("viewer", "operator", "admin", "owner")

# Points that only make sense on the whole tenant (a workspace grant never gives them).
TENANT_ONLY = frozenset({"tenant.update", "tenant.disable", "member.manage", "audit.read", "audit.export"})

# A role on one object (a django-guardian object permission, ADR 0019): what it holds on that object only (and on
# what belongs to it: a job's runs, the operations on a cluster). Its
# holder also sees the object's tenant and workspace (``access.MEMBER_POINTS``) and, in lists, the objects granted.
OBJECT_ROLES: dict[str, dict[str, frozenset[str]]] = {
    "cluster": {
        "viewer": frozenset({"cluster.read", "operation.read"}),
        "operator": frozenset(
            {
                "cluster.read",
                "cluster.restart",
                "operation.read",
                "operation.run",
                "operation.cancel",
                "diagnostics.download",
            }
        ),
    },
    "job": {"viewer": frozenset({"job.read"}), "operator": frozenset({"job.read", "job.run", "job.stop"})},
}
OBJECT_ROLE_ORDER = ("viewer", "operator")
OBJECT_KINDS = tuple(OBJECT_ROLES)
# The model each kind is granted on, by label: iam sits below clusters and jobs, so it names them (as guardian's
# content types do) instead of importing them.
OBJECT_MODELS = {"cluster": "clusters.Cluster", "job": "jobs.Job"}
# Rows a grant on one object governs, by model label: (kind, the field holding the granted object's id).
GOVERNED = {
    "clusters.cluster": ("cluster", "id"),
    "operations.operation": ("cluster", "cluster_id"),
    "diagnostics.diagnosticarchive": ("cluster", "cluster_id"),
    "diagnostics.finding": ("cluster", "cluster_id"),
    "jobs.job": ("job", "id"),
    "jobs.run": ("job", "job_id"),
}


def object_codename(kind: str, role: str) -> str:
    """The guardian permission codename of a role on one object: ``("job", "operator")`` -> ``job_operator``."""
    if role not in OBJECT_ROLES[kind]:
        raise KeyError(f"unknown role {role!r} on a {kind}")
    return f"{kind}_{role}"


OBJECT_CODENAMES = {object_codename(kind, role): (kind, role) for kind in OBJECT_ROLES for role in OBJECT_ROLES[kind]}
