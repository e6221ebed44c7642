from __future__ import annotations

from rest_framework import serializers

from controlplane.api.inputs import Input
from controlplane.iam.models import ROLE_CHOICES, ApiToken, Invitation, LoginSession, Membership
from controlplane.iam.permissions import OBJECT_CODENAMES, OBJECT_KINDS, OBJECT_ROLE_ORDER
from controlplane.iam.selectors import invitation_state


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


class ObjectGrantSerializer(serializers.Serializer):
    """A role on one object: a django-guardian object permission (ADR 0019)."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    kind = serializers.SerializerMethodField()
    object = serializers.CharField(source="object_pk", read_only=True)
    role = serializers.SerializerMethodField()

    def get_kind(self, grant) -> str:  # type: ignore[no-untyped-def]
        return OBJECT_CODENAMES[grant.permission.codename][0]

    def get_role(self, grant) -> str:  # type: ignore[no-untyped-def]
        return OBJECT_CODENAMES[grant.permission.codename][1]


class ObjectGrantCreateSerializer(Input):
    username = serializers.CharField(max_length=150)
    kind = serializers.ChoiceField(choices=list(OBJECT_KINDS))
    object = serializers.CharField(max_length=64, help_text="the cluster's or job's id")
    role = serializers.ChoiceField(choices=list(OBJECT_ROLE_ORDER))


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
    token_kind = serializers.CharField(allow_null=True)
    token_tenant = serializers.CharField(allow_null=True)
    session = serializers.CharField(allow_null=True)


class PlatformTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = [
            "id",
            "kind",
            "tenant",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "version",
        ]


class PlatformTokenCreateSerializer(Input):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class PlatformTokenCreatedSerializer(PlatformTokenSerializer):
    token = serializers.CharField(help_text="the token itself: shown in this answer only")

    class Meta(PlatformTokenSerializer.Meta):
        fields = [*PlatformTokenSerializer.Meta.fields, "token"]


class LoginSerializer(Input):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class RefreshSerializer(Input):
    refresh = serializers.CharField(max_length=4096)


class LoginSessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = LoginSession
        fields = ["id", "created_at", "last_used_at", "expires_at", "client_address", "user_agent", "current"]

    def get_current(self, session: LoginSession) -> bool:
        return session.id == self.context.get("current")


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    platform_admin = serializers.BooleanField(source="is_superuser", read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)


class UserCreateSerializer(Input):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    password = serializers.CharField(required=False, allow_null=True, default=None, trim_whitespace=False)


class InvitationSerializer(serializers.ModelSerializer):
    workspace = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    state = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = [
            "id",
            "username",
            "email",
            "role",
            "workspace",
            "invited_by",
            "created_at",
            "expires_at",
            "state",
            "version",
        ]

    def get_state(self, invitation: Invitation) -> str:
        return invitation_state(invitation)


class InvitationCreatedSerializer(InvitationSerializer):
    token = serializers.CharField(help_text="the invitation token: shown in this answer only")

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "token"]


class InvitationAcceptedSerializer(serializers.Serializer):
    username = serializers.CharField()
    tenant = serializers.CharField()
    role = serializers.CharField()


class InvitationCreateSerializer(Input):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=ROLE_CHOICES)  # the model's choices: one RoleEnum in the document
    workspace = serializers.SlugField(max_length=50, required=False, allow_null=True, default=None)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    expires_in_hours = serializers.IntegerField(required=False, allow_null=True, default=None)


class InvitationAcceptSerializer(Input):
    token = serializers.CharField(max_length=200)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
