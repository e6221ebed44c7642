"""iam's routes: sign-in, sessions, platform tokens, users and accepting an invitation under ``/api/v1/``;
members, API tokens and invitations under ``/api/v1/tenants/<tenant>/``. (The console's OIDC sign-in is
``api/oidc.py``, mounted at ``/auth/oidc/``.)"""

from __future__ import annotations

from django.urls import path

from controlplane.api.routes import DETAIL, collection
from controlplane.iam.api.platform import PlatformTokenViewSet, UserViewSet
from controlplane.iam.api.views import (
    ApiTokenViewSet,
    InvitationAcceptViewSet,
    InvitationViewSet,
    LoginSessionViewSet,
    LoginView,
    LogoutViewSet,
    MemberViewSet,
    ObjectGrantViewSet,
    RefreshView,
    WhoAmIViewSet,
)

urlpatterns = [
    path("auth/token/", LoginView.as_view(), name="auth-token"),
    path("auth/token/refresh/", RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout/", LogoutViewSet.as_view({"post": "create"}), name="auth-logout"),
    path("auth/me/", WhoAmIViewSet.as_view({"get": "retrieve"}), name="auth-me"),
    path("auth/sessions/", LoginSessionViewSet.as_view({"get": "list"}), name="auth-sessions"),
    path(
        "auth/sessions/revoke-all/",
        LoginSessionViewSet.as_view({"post": "revoke_all"}),
        name="auth-sessions-revoke-all",
    ),
    path("auth/sessions/<str:pk>/", LoginSessionViewSet.as_view({"delete": "destroy"}), name="auth-session-detail"),
    path("platform-tokens/", collection(PlatformTokenViewSet), name="platform-token-list"),
    path("platform-tokens/<str:pk>/", collection(PlatformTokenViewSet, DETAIL), name="platform-token-detail"),
    path("users/", collection(UserViewSet), name="user-list"),
    path("invitations/accept/", InvitationAcceptViewSet.as_view({"post": "accept"}), name="invitation-accept"),
]

tenant_urlpatterns = [
    path("members/", collection(MemberViewSet), name="member-list"),
    path("members/<int:pk>/", collection(MemberViewSet, DETAIL), name="member-detail"),
    path("object-grants/", collection(ObjectGrantViewSet), name="object-grant-list"),
    path("object-grants/<int:pk>/", collection(ObjectGrantViewSet, DETAIL), name="object-grant-detail"),
    path("tokens/", collection(ApiTokenViewSet), name="token-list"),
    path("tokens/<str:pk>/", collection(ApiTokenViewSet, DETAIL), name="token-detail"),
    path("invitations/", collection(InvitationViewSet), name="invitation-list"),
    path("invitations/<str:pk>/", collection(InvitationViewSet, DETAIL), name="invitation-detail"),
]
