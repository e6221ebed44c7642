"""The cluster read model, written only by ``projections.ClustersProjector``."""

from __future__ import annotations

import uuid

from django.db import models

from controlplane.tenancy.scoping import TenantOwned


class Cluster(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=100)
    form = models.CharField(max_length=16)
    mode = models.CharField(max_length=16)
    engine_version = models.CharField(max_length=32)
    endpoints = models.JSONField(default=list)
    context_path = models.CharField(max_length=200, blank=True, default="")
    auth_secret = models.CharField(max_length=100, blank=True, default="")
    labels = models.JSONField(default=dict)
    v1_endpoints = models.JSONField(default=list, blank=True)  # []: the v1 REST answers on `endpoints`
    timeouts = models.JSONField(default=dict, blank=True)  # seconds per call kind; absent kinds: the defaults
    tls_ca_secret = models.CharField(max_length=100, blank=True, default="")
    tls_cert_secret = models.CharField(max_length=100, blank=True, default="")
    tls_key_secret = models.CharField(max_length=100, blank=True, default="")
    tls_verify = models.BooleanField(default=True)
    tls_verify_reason = models.CharField(max_length=500, blank=True, default="")
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    removed = models.BooleanField(default=False)

    class Meta:
        ordering = ["tenant_id", "workspace_id", "name"]
        default_permissions = ()

    def __str__(self) -> str:
        return self.name


def node_id(cluster_id: str, address: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"seatunnel-cluster:{cluster_id}/{address}").hex


class Node(TenantOwned):
    """A member of a cluster as the log knows it, written only by ``ClustersProjector`` from node events
    (joined, lost, returned, role changed): rebuildable from the log. The id is derived from cluster and address
    (``node_id``) so a rebuild reproduces it."""

    id = models.CharField(max_length=32, primary_key=True)
    cluster_id = models.CharField(max_length=64, db_index=True)
    address = models.CharField(max_length=300)  # host:port as the engine reports the member
    role = models.CharField(max_length=16, blank=True, default="")  # master | worker | hybrid | "" (unknown)
    status = models.CharField(max_length=16)  # online | lost
    # What the installer gathered on the node when it installed it (clusters.node_installed): hostname, engine
    # version, REST endpoint, Java, CPUs, memory, disk, prefix, agent id. {} for a node it did not install.
    facts = models.JSONField(default=dict, blank=True)
    joined_at = models.DateTimeField()
    status_since = models.DateTimeField()

    class Meta:
        ordering = ["cluster_id", "address"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["cluster_id", "address"], name="clusters_node_unique")]

    def __str__(self) -> str:
        return self.address


class Health(TenantOwned):
    """The latest observation of a cluster (one row per cluster), written by ``actions.do_record_cluster_health``
    on every poll. Not event-sourced and not rebuilt: it is a heartbeat (docs/adr/0006-health-is-an-observation.md);
    only the transitions it reveals go to the log."""

    cluster_id = models.CharField(max_length=64, primary_key=True)
    reachable = models.BooleanField()
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")
    engine_version = models.CharField(max_length=32, blank=True, default="")
    members = models.JSONField(default=list)  # per member: address, role, is_master, heap, cpu, threads, ...
    members_identified = models.BooleanField(default=True)  # False: the engine listed members without addresses
    total_slots = models.IntegerField(null=True)
    free_slots = models.IntegerField(null=True)
    running_jobs = models.IntegerField(null=True)
    pending_jobs = models.IntegerField(null=True)
    heap_used = models.BigIntegerField(null=True)  # bytes, summed over members
    heap_max = models.BigIntegerField(null=True)
    checked_at = models.DateTimeField()
    last_reachable_at = models.DateTimeField(null=True)
    last_seen = models.JSONField(default=dict)  # address -> ISO time the member was last listed

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.cluster_id}: {'reachable' if self.reachable else 'unreachable'}"
