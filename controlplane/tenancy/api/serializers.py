from __future__ import annotations

from rest_framework import serializers

from controlplane.api.inputs import Input
from controlplane.tenancy.models import Tenant, Workspace


class TenantSerializer(serializers.ModelSerializer):
    quotas = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = ["id", "slug", "name", "disabled", "disabled_reason", "quotas", "version", "created_at"]

    def get_quotas(self, tenant: Tenant) -> dict[str, int | None]:
        return {
            "clusters": tenant.quota_clusters,
            "jobs": tenant.quota_jobs,
            "concurrent_runs": tenant.quota_concurrent_runs,
        }


class TenantCreateSerializer(Input):
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(max_length=50)


class TenantRenameSerializer(Input):
    name = serializers.CharField(max_length=100)


class DisableSerializer(Input):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class QuotasSerializer(Input):
    clusters = serializers.IntegerField(min_value=0, allow_null=True, required=False)
    jobs = serializers.IntegerField(min_value=0, allow_null=True, required=False)
    concurrent_runs = serializers.IntegerField(min_value=0, allow_null=True, required=False)


class WorkspaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Workspace
        fields = ["id", "slug", "name", "created_at"]


class WorkspaceCreateSerializer(Input):
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(max_length=50)
