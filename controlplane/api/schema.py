"""OpenAPI descriptions drf-spectacular cannot infer on its own."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "controlplane.api.auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Personal API token `stcp_<prefix>_<secret>`, scoped to one tenant",
        }


class LoginJWTScheme(OpenApiAuthenticationExtension):
    target_class = "controlplane.api.auth.LoginJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Access token of a login (`POST /api/v1/auth/token/`); dies with its login",
        }
