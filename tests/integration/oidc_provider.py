"""A small but real OpenID Connect provider on loopback, for tests.

Speaks the protocol HotCRM's SSO uses: discovery, JWKS (RSA, joserfc), /authorize that
answers at once with a code, /token with client authentication (basic or post, as
discovery says) and PKCE S256 verification, RS256-signed ID tokens. `behaviour` lets a
test make it misbehave: another issuer, a signing key that is not in the JWKS, a wrong
nonce, an unverified email.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

KID = "test-key-1"


def make_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": KID, "use": "sig", "alg": "RS256"})


@dataclass
class Provider:
    key: RSAKey
    other_key: RSAKey  # same kid, not in the JWKS: a forged signature
    client_id: str = "hotcrm-test"
    client_secret: str = "provider-secret"
    behaviour: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.behaviour.get("discovery_issuer", self.issuer),
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": self.behaviour.get(
                "auth_methods", ["client_secret_basic", "client_secret_post"]),
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def authorize(self, params: dict[str, str]) -> tuple[int, dict[str, str]]:
        self.authorize_requests.append(params)
        redirect = params.get("redirect_uri", "")
        if (params.get("client_id") != self.client_id or params.get("response_type") != "code"
                or params.get("code_challenge_method") != "S256"
                or not params.get("code_challenge") or not redirect
                or "openid" not in params.get("scope", "").split()):
            return 400, {}
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"redirect_uri": redirect, "nonce": params.get("nonce"),
                            "challenge": params["code_challenge"]}
        query = urlencode({"code": code, "state": params.get("state", "")})
        return 302, {"Location": f"{redirect}?{query}"}

    def _client_auth(self, form: dict[str, str], header: str | None) -> str | None:
        """The authenticated client id and the method used, or None."""
        methods = self.discovery()["token_endpoint_auth_methods_supported"]
        if header and header.lower().startswith("basic ") and "client_secret_basic" in methods:
            raw = base64.b64decode(header[6:]).decode()
            client_id, _, secret = raw.partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
            method = "client_secret_basic"
        elif "client_secret" in form and "client_secret_post" in methods:
            client_id, secret = form.get("client_id", ""), form["client_secret"]
            method = "client_secret_post"
        else:
            return None
        ok = client_id == self.client_id and secrets.compare_digest(secret, self.client_secret)
        return method if ok else None

    def token(self, form: dict[str, str], auth_header: str | None) -> tuple[int, dict[str, Any]]:
        method = self._client_auth(form, auth_header)
        self.token_requests.append({"form": form, "method": method})
        if method is None:
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)  # codes are single-use
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier"}
        now = int(time.time())
        email = self.behaviour.get("email", "admin@test.local")
        claims = {"iss": self.behaviour.get("iss", self.issuer), "sub": f"sub-{email}",
                  "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": self.behaviour.get("nonce", grant["nonce"]),
                  "email": email, "email_verified": self.behaviour.get("email_verified", True),
                  "name": self.behaviour.get("name", "Sam Sso")}
        key = self.other_key if self.behaviour.get("forge_signature") else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": KID}, claims, key)
        return 200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                     "expires_in": 300, "id_token": id_token, "scope": "openid email profile"}

    # -- server -------------------------------------------------------------------------
    def start(self) -> Provider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _reply(self, status: int, body: dict[str, Any] | None = None,
                       headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body or {}).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._reply(200, provider.discovery())
                elif url.path == "/jwks":
                    self._reply(200, provider.jwks())
                elif url.path == "/authorize":
                    status, headers = provider.authorize(params)
                    self._reply(status, headers=headers)
                else:
                    self._reply(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                if urlsplit(self.path).path != "/token":
                    self._reply(404, {"error": "not_found"})
                    return
                status, reply = provider.token(form, self.headers.get("Authorization"))
                self._reply(status, reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True,
                         name="oidc-provider").start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
