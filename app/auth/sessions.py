"""Browser sessions on the same identity as API tokens.

A session is an HS256 JWT from `issue_token` (TTL `SESSION_TTL`) in an HttpOnly,
SameSite=Lax cookie; `current_context` (REST) and `context_from_request` (pages) accept it.
Logging out clears the cookie and revokes the token (its `jti`, see revocation.py), so a
copy of the old cookie stops working at once; deactivating the user ends every session
and token at once (Identities refuses inactive users).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.responses import Response

from app import runtime
from app.auth.identity import InactiveUser
from app.auth.tokens import ACCESS_TTL, InvalidToken, decode_token, issue_token
from app.objectql.context import Context

if TYPE_CHECKING:
    from app.core import Services

SESSION_COOKIE = "hotcrm_session"
SESSION_TTL = 12 * 3600
MAX_NEXT_LENGTH = 2048


def _secure(services: Services, request: HTTPConnection | None) -> bool:
    """Secure cookies when the browser talks https: directly or via HOTCRM_PUBLIC_URL."""
    if request is not None and request.url.scheme in ("https", "wss"):
        return True
    return services.settings.public_url.lower().startswith("https://")


def set_session_cookie(response: Response, services: Services, user_id: str, role: str, *,
                       request: HTTPConnection | None = None) -> str:
    """Sign a session for the user and attach it to `response`; returns the token."""
    token = issue_token(services.secret_key, user_id, role, SESSION_TTL)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_TTL, path="/", httponly=True,
                        samesite="lax", secure=_secure(services, request))
    return token


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def verify(services: Services, token: str) -> Context:
    """The Context of a session cookie or bearer token: signature, expiry, revocation and
    an active user. InvalidToken or InactiveUser otherwise. The one check every door uses."""
    claims = decode_token(services.secret_key, token)
    token_id = claims.get("jti")
    if services.revocations.refuses(token_id if isinstance(token_id, str) else None,
                                    claims["sub"], float(claims["iat"])):
        raise InvalidToken("this session was ended")
    return services.identities.context_for(claims["sub"])


def end_session(services: Services, token: str | None) -> None:
    """Revoke `token` (a logout); a missing, forged or expired one needs nothing."""
    if not token:
        return
    try:
        claims = decode_token(services.secret_key, token)
    except InvalidToken:
        return
    if isinstance(claims.get("jti"), str):
        services.revocations.revoke(claims["jti"], float(claims["exp"]))


def end_all_sessions(services: Services, user_id: str) -> None:
    """Sign `user_id` out everywhere: every session and token issued until now stops
    working on every process; signing in again afterwards works as usual."""
    now = time.time()
    # Tokens carry whole seconds in `iat`: refuse the current second too, so a token
    # issued a moment ago cannot slip through; a new sign-in waits out that second.
    services.revocations.revoke_user(user_id, math.floor(now) + 1,
                                     now + max(SESSION_TTL, ACCESS_TTL))


def context_from_request(request: HTTPConnection) -> Context | None:
    """The signed-in user's Context from the session cookie; None when missing, tampered,
    expired, revoked or the user is inactive. This is the check pages use."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return verify(runtime.services(), token)
    except (InvalidToken, InactiveUser):
        return None


def safe_next(url: str | None) -> str:
    """`url` when it is a same-site relative path ("/x"), else "/" (no open redirects).

    Refused: absolute and scheme-relative URLs ("//evil", "https://evil"), backslashes
    (browsers read "/\\evil" as "//evil"), control characters (browsers drop tabs and
    newlines, turning "/\\t/evil" into "//evil") and anything oversized.
    """
    if not url or len(url) > MAX_NEXT_LENGTH or not url.startswith("/"):
        return "/"
    if url.startswith("//") or "\\" in url:
        return "/"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return "/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return "/"
    return url
