"""OpenID Connect single sign-on (authorization code flow with PKCE) via Authlib.

Active only when HOTCRM_OIDC_ISSUER, _CLIENT_ID and _CLIENT_SECRET are set. Authlib does
the protocol: discovery, state, nonce, PKCE S256, the token request and the ID token check
(signature against the provider's JWKS, iss, aud, exp, iat, nonce). This module adds what
HotCRM decides: the email must be verified, it must belong to an active user (or a new
user is provisioned with HOTCRM_OIDC_AUTO_PROVISION_ROLE), and every decision about a
verified identity is audited.

State, nonce and the PKCE verifier live in a short-lived signed cookie of their own
(`hotcrm_oidc`, path /auth/oidc, 10 minutes), set by `OidcSessionMiddleware`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authlib.integrations.starlette_client import OAuth
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app import audit, runtime
from app.config import Settings
from app.objectql.context import Context

if TYPE_CHECKING:
    from app.core import Services

log = logging.getLogger(__name__)

OIDC_PREFIX = "/auth/oidc/"
OIDC_COOKIE = "hotcrm_oidc"
OIDC_COOKIE_TTL = 600
SCOPE = "openid email profile"
NEXT_KEY = "hotcrm_next"
HTTP_TIMEOUT = 10.0


def oidc_enabled(settings: Settings) -> bool:
    """True when SSO is configured: the login page shows "Sign in with SSO"."""
    return bool(settings.oidc_issuer and settings.oidc_client_id
                and settings.oidc_client_secret)


class SsoRefused(Exception):
    """The provider's answer was valid but HotCRM does not let this identity in."""

    def __init__(self, reason: str, email: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.email = email


@dataclass(frozen=True)
class SsoUser:
    user_id: str
    role: str


# -- the Authlib client ---------------------------------------------------------------------
_client: tuple[tuple[str, str, str], Any] | None = None


def client_for(settings: Settings) -> Any:
    """The Authlib Starlette client for the configured provider (metadata and JWKS cached)."""
    global _client
    key = (settings.oidc_issuer.rstrip("/"), settings.oidc_client_id,
           settings.oidc_client_secret)
    if _client is None or _client[0] != key:
        oauth = OAuth()
        client = oauth.register(
            name="hotcrm", client_id=key[1], client_secret=key[2],
            server_metadata_url=f"{key[0]}/.well-known/openid-configuration",
            client_kwargs={"scope": SCOPE, "code_challenge_method": "S256",
                           "timeout": HTTP_TIMEOUT})
        _client = (key, client)
    return _client[1]


async def _load_metadata(client: Any, settings: Settings) -> dict[str, Any]:
    """Discovery; the document must name the configured issuer (OIDC Discovery §4.3)."""
    metadata: dict[str, Any] = await client.load_server_metadata()
    if str(metadata.get("issuer", "")).rstrip("/") != settings.oidc_issuer.rstrip("/"):
        raise SsoRefused("issuer_mismatch")
    methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if "client_secret_basic" in methods:
        client.client_kwargs["token_endpoint_auth_method"] = "client_secret_basic"
    elif "client_secret_post" in methods:
        client.client_kwargs["token_endpoint_auth_method"] = "client_secret_post"
    else:
        raise SsoRefused("unsupported_client_auth")
    return metadata


def redirect_uri(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/auth/oidc/callback"


async def begin(request: Request, settings: Settings, next_url: str) -> Response:
    """Redirect to the provider's authorization endpoint (state, nonce, PKCE S256)."""
    client = client_for(settings)
    await _load_metadata(client, settings)
    request.session[NEXT_KEY] = next_url
    response: Response = await client.authorize_redirect(request, redirect_uri(settings))
    return response


async def finish(request: Request, settings: Settings) -> dict[str, Any]:
    """Exchange the code and return the validated ID token claims; raises on any failure
    (Authlib's OAuthError/MismatchingStateError, joserfc errors, httpx errors, SsoRefused)."""
    client = client_for(settings)
    await _load_metadata(client, settings)
    token = await client.authorize_access_token(request)
    claims = token.get("userinfo") if isinstance(token, dict) else None
    if not claims or not token.get("id_token"):
        raise SsoRefused("no_id_token")
    return dict(claims)


# -- from verified claims to a HotCRM user ------------------------------------------------
def find_user(services: Services, email: str) -> dict[str, Any] | None:
    """The user with this email, compared case-insensitively (emails are unique that way)."""
    rows = services.ql.find(Context.system(), "user", limit=20,
                            fields=["name", "role", "active", "email"],
                            filters=[["email", "startswith", email]]).records
    return next((u for u in rows if str(u.get("email", "")).lower() == email), None)


def _display_name(claims: dict[str, Any], email: str) -> str:
    name = str(claims.get("name") or "").strip()
    if not name:
        parts = [str(claims.get(k) or "").strip() for k in ("given_name", "family_name")]
        name = " ".join(p for p in parts if p)
    return (name or email.split("@", 1)[0])[:120]


def _audit(services: Services, user_id: str | None, email: str, ok: bool,
           reason: str | None = None) -> None:
    changes: dict[str, Any] = {"email": [None, email], "method": [None, "oidc"]}
    if reason:
        changes["reason"] = [None, reason]
    with services.ql.transaction() as conn:
        audit.record(conn, object_name="user", record_id=user_id or "-",
                     action="login" if ok else "login_failed", user_id=user_id,
                     at=services.ql.clock(), changes=changes)


def resolve_user(services: Services, claims: dict[str, Any]) -> SsoUser:
    """Map verified ID token claims to an active user; audit the outcome (blocking I/O)."""
    email = str(claims.get("email") or "").strip().lower()
    if "@" not in email or len(email) > 255:
        raise SsoRefused("no_email")
    user: dict[str, Any] | None = None
    try:
        if claims.get("email_verified") not in (True, "true"):
            raise SsoRefused("email_not_verified", email)
        user = find_user(services, email)
        if user is not None and not user.get("active"):
            raise SsoRefused("inactive_user", email)
        with services.ql.transaction():
            if user is None:
                role = services.settings.oidc_auto_provision_role
                if not role:
                    raise SsoRefused("unknown_email", email)
                user = services.ql.insert(Context.system(), "user", {
                    "email": email, "name": _display_name(claims, email), "role": role})
                log.info("SSO provisioned user %s as %s", email, role)
            _audit(services, str(user["id"]), email, ok=True)
    except SsoRefused as exc:
        _audit(services, str(user["id"]) if user else None, email, ok=False,
               reason=exc.reason)
        raise
    return SsoUser(str(user["id"]), str(user["role"]))


# -- the state cookie -------------------------------------------------------------------------
class OidcSessionMiddleware:
    """Starlette's SessionMiddleware for /auth/oidc/ only, on a copy of the ASGI scope.

    Authlib keeps state, nonce and the PKCE verifier in `request.session`. A plain
    SessionMiddleware on the app would be picked up by NiceGUI (which then adds none of
    its own and would keep its browser storage in our 10-minute cookie); this one is a
    different class, touches no other path and leaves any outer session untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._sessions: tuple[tuple[str, bool], SessionMiddleware] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(OIDC_PREFIX):
            await self.app(scope, receive, send)
            return
        await self._middleware()(dict(scope), receive, send)

    def _middleware(self) -> SessionMiddleware:
        services = runtime.services()
        key = (services.secret_key, services.settings.public_url.lower().startswith("https:"))
        if self._sessions is None or self._sessions[0] != key:
            middleware = SessionMiddleware(
                self.app, secret_key=key[0], session_cookie=OIDC_COOKIE,
                max_age=OIDC_COOKIE_TTL, path=OIDC_PREFIX.rstrip("/"), same_site="lax",
                https_only=key[1])
            self._sessions = (key, middleware)
        return self._sessions[1]
