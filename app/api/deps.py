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
from starlette.concurrency import run_in_threadpool

from app import runtime
from app.api.errors import ApiError
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


async def current_context(request: Request) -> Context:
    """The caller's Context; 401 for a missing, tampered, expired, revoked or deactivated
    token; 403 for a cookie-authenticated change that does not come from this site."""
    token = bearer_token(request)
    unauthorized = {"WWW-Authenticate": "Bearer"}
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            _check_cookie_request(request)
    if not token:
        raise ApiError(401, "authentication required", headers=unauthorized)
    try:
        # Off the event loop: a cache miss reads the user, a shared revocation store asks
        # Redis; neither may stall the other requests of this process.
        return await run_in_threadpool(verify, runtime.services(), token)
    except (InvalidToken, InactiveUser):
        raise ApiError(401, "invalid or expired token", headers=unauthorized) from None
