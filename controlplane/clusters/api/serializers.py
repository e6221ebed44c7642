"""Clusters' API serializers: clusters, connection tests, health, nodes, plugins and the connector catalog."""

from __future__ import annotations

from rest_framework import serializers

from controlplane.api.inputs import Input
from controlplane.clusters.domain.aggregate import FORMS, MODES
from controlplane.clusters.models import Cluster


class ClusterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cluster
        fields = [
            "id",
            "name",
            "form",
            "mode",
            "engine_version",
            "endpoints",
            "context_path",
            "auth_secret",
            "labels",
            "v1_endpoints",
            "timeouts",
            "tls_ca_secret",
            "tls_cert_secret",
            "tls_key_secret",
            "tls_verify",
            "tls_verify_reason",
            "version",
            "created_at",
            "updated_at",
        ]


# A URL path the engine's REST API lives under (e.g. "seatunnel/api"): nothing that would change the URL's meaning.
CONTEXT_PATH = r"^[A-Za-z0-9._~/-]*$"


TIMEOUTS_HELP = "seconds per call kind: connect, read, submit, stop, logs (absent: the default)"


class ClusterCreateSerializer(Input):
    name = serializers.CharField(max_length=100)
    form = serializers.ChoiceField(choices=list(FORMS))
    mode = serializers.ChoiceField(choices=list(MODES), default="hybrid")
    endpoints = serializers.ListField(
        child=serializers.CharField(max_length=300), min_length=1, max_length=8, required=False
    )
    # true: a cluster an install_cluster operation will install (no endpoints, no connection test yet)
    install = serializers.BooleanField(required=False, default=False)
    context_path = serializers.RegexField(CONTEXT_PATH, max_length=200, required=False, allow_blank=True, default="")
    auth_secret = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    labels = serializers.DictField(
        child=serializers.CharField(max_length=200, allow_blank=True), required=False, default=dict
    )
    v1_endpoints = serializers.ListField(
        child=serializers.CharField(max_length=300), max_length=8, required=False, default=list
    )
    # ranges and combinations are the domain's (CLUSTER_TIMEOUTS_INVALID, CLUSTER_TLS_INVALID, ..._REASON_REQUIRED)
    timeouts = serializers.DictField(
        child=serializers.FloatField(), required=False, default=dict, help_text=TIMEOUTS_HELP
    )
    tls_ca_secret = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    tls_cert_secret = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    tls_key_secret = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    tls_verify = serializers.BooleanField(required=False, default=True)
    tls_verify_reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ClusterUpdateSerializer(Input):
    name = serializers.CharField(max_length=100, required=False)
    endpoints = serializers.ListField(
        child=serializers.CharField(max_length=300), min_length=1, max_length=8, required=False
    )
    context_path = serializers.RegexField(CONTEXT_PATH, max_length=200, required=False, allow_blank=True)
    auth_secret = serializers.CharField(max_length=100, required=False, allow_blank=True)
    labels = serializers.DictField(child=serializers.CharField(max_length=200, allow_blank=True), required=False)
    v1_endpoints = serializers.ListField(child=serializers.CharField(max_length=300), max_length=8, required=False)
    timeouts = serializers.DictField(child=serializers.FloatField(), required=False, help_text=TIMEOUTS_HELP)
    tls_ca_secret = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tls_cert_secret = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tls_key_secret = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tls_verify = serializers.BooleanField(required=False)
    tls_verify_reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class ConnectionTestSerializer(serializers.Serializer):
    reachable = serializers.BooleanField()
    engine_version = serializers.CharField()
    workers = serializers.IntegerField()
    total_slots = serializers.IntegerField()
    unassigned_slots = serializers.IntegerField()
    running_jobs = serializers.IntegerField()


class HealthErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class HealthSerializer(serializers.Serializer):
    """The response shape of health/ and poll/ (documented in docs/API.md)."""

    cluster_id = serializers.CharField()
    reachable = serializers.BooleanField(allow_null=True)
    checked_at = serializers.DateTimeField(allow_null=True)
    error = HealthErrorSerializer(allow_null=True)
    engine_version = serializers.CharField()
    members = serializers.ListField(child=serializers.DictField())
    members_identified = serializers.BooleanField(allow_null=True)
    total_slots = serializers.IntegerField(allow_null=True)
    free_slots = serializers.IntegerField(allow_null=True)
    running_jobs = serializers.IntegerField(allow_null=True)
    pending_jobs = serializers.IntegerField(allow_null=True)
    heap_used = serializers.IntegerField(allow_null=True)
    heap_max = serializers.IntegerField(allow_null=True)
    last_reachable_at = serializers.DateTimeField(allow_null=True)


class NodeSerializer(serializers.Serializer):
    address = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["online", "lost"])
    status_since = serializers.DateTimeField()
    joined_at = serializers.DateTimeField()
    engine_version = serializers.CharField()
    last_seen = serializers.CharField(allow_null=True)
    is_master = serializers.BooleanField(allow_null=True)
    metrics = serializers.DictField(allow_null=True)
    agent = serializers.DictField(allow_null=True)  # {id, hostname, status} of the node's agent (by address)
    facts = serializers.DictField()  # the installer's facts (clusters.node_installed); {} when not installed by it


class ConnectorSerializer(serializers.Serializer):
    name = serializers.CharField()
    artifact = serializers.CharField()


class ConnectorsSerializer(serializers.Serializer):
    source = ConnectorSerializer(many=True)
    transform = ConnectorSerializer(many=True)
    sink = ConnectorSerializer(many=True)


class ConnectorJarSerializer(serializers.Serializer):
    file = serializers.CharField()
    artifact = serializers.CharField()  # connector-jdbc: what plugin-mapping.properties maps plugin names to
    version = serializers.CharField(allow_null=True)


class PluginNamesSerializer(serializers.Serializer):
    source = serializers.ListField(child=serializers.CharField())
    transform = serializers.ListField(child=serializers.CharField())
    sink = serializers.ListField(child=serializers.CharField())


class InstalledSerializer(serializers.Serializer):
    """One member: the jars its agent last reported in its SeaTunnel home, and the catalog's plugins they provide."""

    address = serializers.CharField()
    agent_id = serializers.CharField(allow_null=True)
    reported = serializers.BooleanField()
    unknown = serializers.ChoiceField(choices=["no_agent", "not_reported", "no_home", "unreadable"], allow_null=True)
    seatunnel_home = serializers.CharField(allow_null=True)
    connector_jars = ConnectorJarSerializer(many=True, allow_null=True)
    lib_jars = serializers.ListField(child=serializers.CharField(), allow_null=True)
    plugins = PluginNamesSerializer(allow_null=True)


class PluginsSerializer(serializers.Serializer):
    cluster_id = serializers.CharField()
    engine_version = serializers.CharField()
    catalog_version = serializers.CharField(allow_null=True)
    catalog_reason = serializers.CharField()
    connectors = ConnectorsSerializer(allow_null=True)
    installed = InstalledSerializer(many=True)
    installed_reason = serializers.CharField()


class CatalogSerializer(serializers.Serializer):
    version = serializers.CharField()
    catalog_version = serializers.CharField()
    known_versions = serializers.ListField(child=serializers.CharField())
    connectors = ConnectorsSerializer()
