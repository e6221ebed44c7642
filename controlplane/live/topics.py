"""Topics: what one websocket follows, as a filter over the global event log.

A topic names the keys the hub routes events to it by (``keys``; an event's keys come from ``event_keys``), a
predicate that decides for each routed event (``match``), and a SQL pre-filter that narrows the read of
missed events (``prefilter``; ``match`` still decides).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q

from controlplane.eventlog.records import RecordedEvent
from controlplane.iam.permissions import TENANT_ONLY

Key = tuple[str, str]


class Topic:
    """The base: ``keys`` route events to the subscriber (hub.py), ``match`` decides for each routed event, in
    position order, on the subscriber's own task (so a topic may learn as it goes), ``prefilter`` narrows the
    read of missed events in SQL, and ``prepare`` runs on a database thread after joining, before anything is
    sent (to load what ``match`` needs to know about events up to the join)."""

    def __init__(self, name: str, tenant_id: str, keys: set[Key], prefilter: Q) -> None:
        self.name = name  # for logs: "run <id>", "operation <id>", "activity <tenant>"
        self.tenant_id = tenant_id
        self.keys = frozenset(keys)
        self._prefilter = prefilter

    def match(self, event: RecordedEvent) -> bool:
        raise NotImplementedError

    def prefilter(self) -> Q:
        return self._prefilter

    def prepare(self) -> None:
        return None

    def refresh(self, fresh: Topic) -> None:
        """Take what a new authorization found (the socket's periodic check); most topics have nothing to take."""
        return None


def event_keys(event: RecordedEvent) -> Iterator[Key]:
    """The routing keys of an event: its stream, its tenant, and (tenant, stream type)."""
    yield ("stream", event.stream_id)
    tenant_id = event.metadata.tenant_id
    if tenant_id:
        yield ("tenant", tenant_id)
        yield ("type", f"{tenant_id}/{event.stream_type}")


class StreamTopic(Topic):
    """Every event of one stream (a run, a cluster, ...)."""

    def __init__(self, name: str, tenant_id: str, stream_id: str) -> None:
        super().__init__(name, tenant_id, {("stream", stream_id)}, Q(stream_id=stream_id))
        self.stream_id = stream_id

    def match(self, event: RecordedEvent) -> bool:
        return event.stream_id == self.stream_id


def run_topic(run_id: str, tenant_id: str) -> Topic:
    from controlplane.jobs.run_actions import run_stream

    return StreamTopic(f"run {run_id}", tenant_id, run_stream(run_id).id)


# --- the operation topic: its filter lives in this one class -------------------------------------------
ACTION_STREAM_TYPE = "agents.action"  # controlplane/agents: one stream per agent action


class OperationTopic(Topic):
    """The operation's own stream, and the streams of the agent actions it caused.

    An action's first event (``agents.action_requested``) names ``operation_id``; its later events (delivered,
    progress, result) only name the action. So the topic learns: the actions already requested come from the
    agents read model (``prepare``, after joining), a new one from its first event as it passes by."""

    def __init__(self, operation_id: str, tenant_id: str, stream_id: str) -> None:
        super().__init__(
            f"operation {operation_id}",
            tenant_id,
            {("stream", stream_id), ("type", f"{tenant_id}/{ACTION_STREAM_TYPE}")},
            Q(stream_id=stream_id),
        )
        self.operation_id = operation_id
        self.stream_id = stream_id
        self.action_streams: set[str] = set()

    def prepare(self) -> None:
        from controlplane.agents.actions import action_stream
        from controlplane.agents.selectors import operation_action_ids_for_system

        ids = operation_action_ids_for_system(self.tenant_id, self.operation_id)
        self.action_streams.update(action_stream(action_id).id for action_id in ids)

    def match(self, event: RecordedEvent) -> bool:
        if event.stream_id == self.stream_id:
            return True
        if event.stream_type != ACTION_STREAM_TYPE or event.metadata.tenant_id != self.tenant_id:
            return False
        if event.stream_id in self.action_streams:
            return True
        if event.payload.get("operation_id") == self.operation_id:
            self.action_streams.add(event.stream_id)
            return True
        return False

    def prefilter(self) -> Q:
        return Q(stream_id=self.stream_id) | Q(stream_id__in=sorted(self.action_streams))


# --- the tenant activity feed --------------------------------------------------------------------------
# The point that guards reading each context's events through the API, by the stream type's context (the part
# before the dot); a stream type listed in full overrides its context. A context missing here is not shown in
# activity feeds at all (fail closed): add it when its events are fit for the feed.
ACTIVITY_POINTS: dict[str, str] = {
    "tenancy": "tenant.read",
    "clusters": "cluster.read",
    "jobs": "job.read",
    "secrets": "secret.read",
    "operations": "operation.read",
    "agents": "cluster.read",
    "agents.bootstrap_token": "cluster.update",  # listing bootstrap tokens needs cluster.update in the API
    "alerts": "alert.read",  # rules, alerts and silences: what the alerts API shows to alert.read
}


@dataclass(frozen=True)
class Grants:
    """The read points a user holds in one tenant: on the whole tenant, and per workspace."""

    tenant_wide: frozenset[str]
    by_workspace: dict[str, frozenset[str]]

    def allows(self, point: str, workspace_id: str | None) -> bool:
        if point in self.tenant_wide:
            return True
        if workspace_id is None or point in TENANT_ONLY:
            return False
        return point in self.by_workspace.get(workspace_id, frozenset())

    @property
    def empty(self) -> bool:
        return not self.tenant_wide and not any(self.by_workspace.values())


def activity_point(event: RecordedEvent) -> str | None:
    point = ACTIVITY_POINTS.get(event.stream_type)
    return point if point is not None else ACTIVITY_POINTS.get(event.stream_type.split(".", 1)[0])


class ActivityTopic(Topic):
    """Every event of the tenant that the user may read, each judged by its context's read point."""

    def __init__(self, tenant_id: str, slug: str, grants: Grants) -> None:
        super().__init__(f"activity {slug}", tenant_id, {("tenant", tenant_id)}, Q(tenant_id=tenant_id))
        self.grants = grants

    def refresh(self, fresh: Topic) -> None:
        if isinstance(fresh, ActivityTopic):
            self.grants = fresh.grants  # a role granted or withdrawn since the socket joined

    def match(self, event: RecordedEvent) -> bool:
        if event.metadata.tenant_id != self.tenant_id:
            return False
        point = activity_point(event)
        return point is not None and self.grants.allows(point, event.metadata.workspace_id)
