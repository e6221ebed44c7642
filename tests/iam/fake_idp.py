"""A small OpenID Connect provider for the tests: an HTTP server on a free loopback port, in a thread.

It serves a discovery document, a key set (an RSA and an EC P-256 key made here with ``cryptography``), an
authorization endpoint that is never visited (tests read the redirect and hand the code over themselves) and a
token endpoint that trades codes registered by the test for ID tokens, checking the client secret and PKCE.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

CLIENT_ID = "controlplane-console"
CLIENT_SECRET = "console-client-secret"


@dataclass
class Code:
    id_token: str
    redirect_uri: str
    challenge: str


@dataclass
class FakeIdP:
    server: ThreadingHTTPServer | None = None
    keys: dict[str, Any] = field(default_factory=dict)  # kid -> private key
    published: list[str] = field(default_factory=list)  # kids in the key set
    codes: dict[str, Code] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)  # path -> requests
    down: bool = False  # answer 503 to everything
    issuer_claimed: str | None = None  # what the discovery document says the issuer is (None: the truth)
    client_secret: str = CLIENT_SECRET
    auth_methods: list[str] = field(default_factory=lambda: ["client_secret_basic"])  # token endpoint's

    @property
    def issuer(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        self.add_key("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048))
        self.add_key("ec-1", ec.generate_private_key(ec.SECP256R1()))
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                idp._count(self.path)
                if idp.down:
                    return self._send(503, {"error": "down"})
                path = self.path.split("?", 1)[0]
                if path == "/.well-known/openid-configuration":
                    return self._send(200, idp.discovery())
                if path == "/jwks":
                    return self._send(200, idp.jwks())
                return self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:
                idp._count(self.path)
                if idp.down or self.path != "/token":
                    return self._send(503 if idp.down else 404, {"error": "unavailable"})
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                status, body = idp.token(form, self.headers.get("Authorization", ""))
                return self._send(status, body)

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True, name="fake-idp").start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def _count(self, path: str) -> None:
        key = path.split("?", 1)[0]
        self.hits[key] = self.hits.get(key, 0) + 1

    # --- documents ------------------------------------------------------------------------------------

    def add_key(self, kid: str, private_key: Any, publish: bool = True) -> None:
        self.keys[kid] = private_key
        if publish:
            self.published.append(kid)

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer_claimed or self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "token_endpoint_auth_methods_supported": self.auth_methods,
        }

    def jwks(self) -> dict:
        keys = []
        for kid in self.published:
            key = self.keys[kid].public_key()
            if isinstance(key, rsa.RSAPublicKey):
                jwk = json.loads(RSAAlgorithm.to_jwk(key))
                jwk["alg"] = "RS256"
            else:
                jwk = json.loads(ECAlgorithm.to_jwk(key))
                jwk["alg"] = "ES256"
            keys.append({**jwk, "kid": kid, "use": "sig"})
        return {"keys": keys}

    # --- tokens ---------------------------------------------------------------------------------------

    def claims(self, username: str = "erin", **overrides: Any) -> dict:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": f"sub-{username}",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "preferred_username": username,
            "email": f"{username}@example.org",
            "given_name": username.title(),
            "family_name": "Example",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(self, claims: dict, kid: str = "rsa-1", signing_key: Any = None, alg: str | None = None) -> str:
        key = signing_key if signing_key is not None else self.keys[kid]
        if alg is None:
            alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})

    def issue_code(self, id_token: str, redirect_uri: str, challenge: str) -> str:
        code = uuid.uuid4().hex
        self.codes[code] = Code(id_token=id_token, redirect_uri=redirect_uri, challenge=challenge)
        return code

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict]:
        if authorization.startswith("Basic ") and "client_secret_basic" in self.auth_methods:
            client, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            client, secret = unquote_plus(client), unquote_plus(secret)  # RFC 6749 2.3.1
        elif "client_secret" in form and "client_secret_post" in self.auth_methods:
            client, secret = form.get("client_id", ""), form["client_secret"]
        else:
            return 401, {"error": "invalid_client"}
        if (client, secret) != (CLIENT_ID, self.client_secret):
            return 401, {"error": "invalid_client"}
        code = self.codes.pop(form.get("code", ""), None)  # a code is good once
        if form.get("grant_type") != "authorization_code" or code is None:
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != code.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if digest != code.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        return 200, {"access_token": "opaque", "token_type": "Bearer", "id_token": code.id_token, "expires_in": 300}
