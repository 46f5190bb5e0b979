"""Browser sign-in: the login form's POST target, logout, and OpenID Connect SSO.

Every outcome is a 303 redirect (never JSON, never a 500): to `next` with the session
cookie on success, else back to `/login?error=<code>&next=...` where the login page shows
the message. Error codes: invalid, throttled (+ retry_after), sso_refused, sso_unavailable.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app import runtime
from app.auth import oidc
from app.auth.login import LoginFailed, LoginThrottled
from app.auth.sessions import clear_session_cookie, safe_next, set_session_cookie

log = logging.getLogger(__name__)
router = APIRouter(tags=["session"], include_in_schema=False)

MAX_EMAIL = 255
MAX_PASSWORD = 1024


def to_login(error: str, next_url: str, **extra: str | int) -> RedirectResponse:
    query = urlencode({"error": error, **{k: str(v) for k, v in extra.items()},
                       "next": next_url})
    return RedirectResponse(f"/login?{query}", status_code=303)


def _same_origin(request: Request) -> bool:
    """A cross-site form post (login CSRF) carries a foreign Origin; browsers always send
    Origin on POST, other clients may omit it."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    allowed = {f"{request.url.scheme}://{request.url.netloc}",
               runtime.services().settings.public_url.rstrip("/")}
    return origin.rstrip("/") in allowed


@router.post("/auth/login")
async def login(request: Request,
                email: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = "",
                next_url: Annotated[str, Form(alias="next")] = "/") -> Response:
    target = safe_next(next_url)
    if not _same_origin(request):
        return to_login("invalid", target)
    services = runtime.services()
    try:
        user = await run_in_threadpool(services.authenticator.login,
                                       email[:MAX_EMAIL], password[:MAX_PASSWORD])
    except LoginThrottled as exc:
        return to_login("throttled", target, retry_after=exc.retry_after)
    except LoginFailed:
        return to_login("invalid", target)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, services, user.user_id, user.role, request=request)
    return response


@router.api_route("/auth/logout", methods=["GET", "POST"])
async def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


def _require_oidc() -> None:
    if not oidc.oidc_enabled(runtime.services().settings):
        raise HTTPException(404, "single sign-on is not configured")


@router.get("/auth/oidc/login")
async def oidc_login(request: Request,
                     next_url: Annotated[str, Query(alias="next")] = "/") -> Response:
    _require_oidc()
    target = safe_next(next_url)
    try:
        return await oidc.begin(request, runtime.services().settings, target)
    except oidc.SsoRefused as exc:
        log.warning("OIDC sign-in could not start: %s", exc.reason)
        return to_login("sso_unavailable", target)
    except Exception:  # provider unreachable, bad discovery document, ...
        log.warning("OIDC sign-in could not start", exc_info=True)
        return to_login("sso_unavailable", target)


@router.get("/auth/oidc/callback")
async def oidc_callback(request: Request) -> Response:
    _require_oidc()
    services = runtime.services()
    target = safe_next(request.session.pop(oidc.NEXT_KEY, "/"))
    try:
        claims = await oidc.finish(request, services.settings)
        user = await run_in_threadpool(oidc.resolve_user, services, claims)
    except oidc.SsoRefused as exc:
        log.info("OIDC sign-in refused: %s (%s)", exc.reason, exc.email or "no email")
        return to_login("sso_refused", target)
    except Exception as exc:  # any protocol or validation failure is a refusal, never a 500
        log.warning("OIDC sign-in failed: %s: %s", type(exc).__name__, exc)
        return to_login("sso_refused", target)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, services, user.user_id, user.role, request=request)
    return response
