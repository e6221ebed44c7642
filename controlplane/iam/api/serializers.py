from __future__ import annotations

from rest_framework import serializers

from controlplane.api.inputs import Input
from controlplane.iam.models import ROLE_CHOICES, ApiToken, Membership


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    workspace = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "workspace", "granted_by", "granted_at", "version"]


class GrantSerializer(Input):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=ROLE_CHOICES)
    workspace = serializers.SlugField(max_length=50, required=False, allow_null=True, default=None)


class RoleChangeSerializer(Input):
    role = serializers.ChoiceField(choices=ROLE_CHOICES)  # the model's choices: one RoleEnum in the document


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at", "version"]


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="the token itself: shown in this answer only")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class ApiTokenCreateSerializer(Input):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class LogoutSerializer(Input):
    refresh = serializers.CharField()


class WhoAmISerializer(serializers.Serializer):
    username = serializers.CharField()
    platform_admin = serializers.BooleanField()
    token = serializers.CharField(allow_null=True)
