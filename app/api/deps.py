"""Request dependencies: who is calling (bearer token or browser session).

Cross-site request forgery: a browser attaches the session cookie to requests any site
makes, so a call authenticated by the cookie that changes something (POST, PUT, PATCH,
DELETE) must come from our own pages: its Origin (or, without one, its Referer) must be
this site, and a body must be declared JSON (a cross-site form or `text/plain` fetch
cannot send `application/json` without a CORS preflight, which we never grant). Calls
with `Authorization: Bearer` carry no ambient credential and are not checked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

from app import runtime
from app.api.errors import ApiError
from app.api.offload import off_loop
from app.auth.identity import InactiveUser
from app.auth.sessions import SESSION_COOKIE, verify
from app.auth.tokens import InvalidToken
from app.objectql.context import Context


def client_ip(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy, run uvicorn with
    --forwarded-allow-ips so this is the client and not the proxy)."""
    return request.client.host if request.client else "unknown"


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc \
        else None


def same_origin(request: Request, *, when_absent: bool) -> bool:
    """Does the request come from a page of this site? By its Origin header, else its
    Referer; `when_absent` answers for a request carrying neither."""
    claimed = request.headers.get("origin")
    if claimed is None or claimed == "null":
        referer = request.headers.get("referer")
        if referer is None and claimed is None:
            return when_absent
        claimed = _origin_of(referer or "")
        if claimed is None:
            return False
    ours = {f"{request.url.scheme}://{request.url.netloc}".lower()}
    public = runtime.services().settings.public_url.rstrip("/")
    if public:
        ours.add(public.lower())
    return claimed.rstrip("/").lower() in ours


def _check_cookie_request(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    if not same_origin(request, when_absent=False):
        raise ApiError(403, "cross-site request refused: a request authenticated by the "
                            "session cookie must come from this site (or use a bearer token)",
                       code="csrf_refused")
    has_body = request.headers.get("content-length", "0") not in ("", "0") \
        or "transfer-encoding" in request.headers
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if has_body and media != "application/json":
        raise ApiError(415, "send the body as JSON (Content-Type: application/json)")


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class Caller:
    """Who says they are calling: the token as sent, checked for its form and (for a
    cookie) its origin, not yet verified. `context()` verifies it; a cache miss reads the
    user and a shared revocation store asks Redis, so call it off the event loop — inside
    the endpoint's own `off_loop` call, a request makes one thread hop instead of two
    (`current_context` below hops for the check, then again for the endpoint)."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token

    def context(self) -> Context:
        try:
            return verify(runtime.services(), self.token)
        except (InvalidToken, InactiveUser):
            raise ApiError(401, "invalid or expired token", headers=UNAUTHORIZED) from None


UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def caller_of(request: Request) -> Caller:
    """Who says they are calling (on the loop: no I/O): 401 for a missing token, 403 for
    a cookie-authenticated change from another site; `.context()` does the rest."""
    token = bearer_token(request)
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            _check_cookie_request(request)
    if not token:
        raise ApiError(401, "authentication required", headers=UNAUTHORIZED)
    return Caller(token)


async def caller(request: Request) -> Caller:
    """The caller of a plain `def` endpoint, which calls `.context()` itself: 401 for a
    missing token, 403 for a cookie-authenticated change from another site (on the loop:
    no I/O); a tampered, expired, revoked or deactivated one is 401 from `.context()`."""
    return caller_of(request)


async def current_context(request: Request) -> Context:
    """The caller's Context; 401 for a missing, tampered, expired, revoked or deactivated
    token; 403 for a cookie-authenticated change that does not come from this site."""
    # Off the event loop: a cache miss reads the user, a shared revocation store asks
    # Redis; neither may stall the other requests of this process.
    return await off_loop(caller_of(request).context)
