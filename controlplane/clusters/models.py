"""The cluster read model, written only by ``projections.ClustersProjector``."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from controlplane.tenancy.scoping import TenantOwned


class Cluster(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True, verbose_name=_("ID"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    form = models.CharField(max_length=16, verbose_name=_("form"))
    mode = models.CharField(max_length=16, verbose_name=_("mode"))
    engine_version = models.CharField(max_length=32, verbose_name=_("engine version"))
    endpoints = models.JSONField(default=list, verbose_name=_("endpoints"))
    context_path = models.CharField(max_length=200, blank=True, default="", verbose_name=_("context path"))
    auth_secret = models.CharField(max_length=100, blank=True, default="", verbose_name=_("auth secret"))
    labels = models.JSONField(default=dict, verbose_name=_("labels"))
    # []: the v1 REST answers on `endpoints`
    v1_endpoints = models.JSONField(default=list, blank=True, verbose_name=_("v1 endpoints"))
    # seconds per call kind; absent kinds: the defaults
    timeouts = models.JSONField(default=dict, blank=True, verbose_name=_("timeouts"))
    tls_ca_secret = models.CharField(max_length=100, blank=True, default="", verbose_name=_("tls ca secret"))
    tls_cert_secret = models.CharField(max_length=100, blank=True, default="", verbose_name=_("tls cert secret"))
    tls_key_secret = models.CharField(max_length=100, blank=True, default="", verbose_name=_("tls key secret"))
    tls_verify = models.BooleanField(default=True, verbose_name=_("tls verify"))
    tls_verify_reason = models.CharField(max_length=500, blank=True, default="", verbose_name=_("tls verify reason"))
    version = models.PositiveIntegerField(verbose_name=_("version"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))
    removed = models.BooleanField(default=False, verbose_name=_("removed"))

    class Meta:
        verbose_name = _("cluster")
        verbose_name_plural = _("clusters")
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

    id = models.CharField(max_length=32, primary_key=True, verbose_name=_("ID"))
    cluster_id = models.CharField(max_length=64, db_index=True, verbose_name=_("cluster id"))
    address = models.CharField(max_length=300, verbose_name=_("address"))  # host:port as the engine reports the member
    # master | worker | hybrid | "" (unknown)
    role = models.CharField(max_length=16, blank=True, default="", verbose_name=_("role"))
    status = models.CharField(max_length=16, verbose_name=_("status"))  # online | lost
    # What the installer gathered on the node when it installed it (clusters.node_installed): hostname, engine
    # version, REST endpoint, Java, CPUs, memory, disk, prefix, agent id. {} for a node it did not install.
    facts = models.JSONField(default=dict, blank=True, verbose_name=_("facts"))
    joined_at = models.DateTimeField(verbose_name=_("joined at"))
    status_since = models.DateTimeField(verbose_name=_("status since"))

    class Meta:
        verbose_name = _("node")
        verbose_name_plural = _("nodes")
        ordering = ["cluster_id", "address"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["cluster_id", "address"], name="clusters_node_unique")]

    def __str__(self) -> str:
        return self.address


class Health(TenantOwned):
    """The latest observation of a cluster (one row per cluster), written by ``actions.do_record_cluster_health``
    on every poll. Not event-sourced and not rebuilt: it is a heartbeat (docs/adr/0006-health-is-an-observation.md);
    only the transitions it reveals go to the log."""

    cluster_id = models.CharField(max_length=64, primary_key=True, verbose_name=_("cluster id"))
    reachable = models.BooleanField(verbose_name=_("reachable"))
    error_code = models.CharField(max_length=64, blank=True, default="", verbose_name=_("error code"))
    error_message = models.CharField(max_length=500, blank=True, default="", verbose_name=_("error message"))
    engine_version = models.CharField(max_length=32, blank=True, default="", verbose_name=_("engine version"))
    # per member: address, role, is_master, heap, cpu, threads, ...
    members = models.JSONField(default=list, verbose_name=_("members"))
    # False: the engine listed members without addresses
    members_identified = models.BooleanField(default=True, verbose_name=_("members identified"))
    total_slots = models.IntegerField(null=True, verbose_name=_("total slots"))
    free_slots = models.IntegerField(null=True, verbose_name=_("free slots"))
    running_jobs = models.IntegerField(null=True, verbose_name=_("running jobs"))
    pending_jobs = models.IntegerField(null=True, verbose_name=_("pending jobs"))
    heap_used = models.BigIntegerField(null=True, verbose_name=_("heap used"))  # bytes, summed over members
    heap_max = models.BigIntegerField(null=True, verbose_name=_("heap max"))
    checked_at = models.DateTimeField(verbose_name=_("checked at"))
    last_reachable_at = models.DateTimeField(null=True, verbose_name=_("last reachable at"))
    # address -> ISO time the member was last listed
    last_seen = models.JSONField(default=dict, verbose_name=_("last seen"))

    class Meta:
        verbose_name = _("health")
        verbose_name_plural = _("healths")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.cluster_id}: {'reachable' if self.reachable else 'unreachable'}"
