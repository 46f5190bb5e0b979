"""Browser sign-in: the login form's POST target, logout, and OpenID Connect SSO.

Every outcome is a 303 redirect (never JSON, never a 500): to `next` with the session
cookie on success, else back to `/login?error=<code>&next=...` where the login page shows
the message. Error codes: invalid, throttled (+ retry_after), sso_refused, sso_unavailable.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app import runtime
from app.api.deps import client_ip, same_origin
from app.auth import oidc
from app.auth.identity import InactiveUser
from app.auth.login import LoginFailed, LoginThrottled
from app.auth.sessions import (
    SESSION_COOKIE,
    clear_session_cookie,
    end_all_sessions,
    end_session,
    safe_next,
    set_session_cookie,
    verify,
)
from app.auth.tokens import InvalidToken

log = logging.getLogger(__name__)
router = APIRouter(tags=["session"], include_in_schema=False)

MAX_EMAIL = 255
MAX_PASSWORD = 1024


def to_login(error: str, next_url: str, **extra: str | int) -> RedirectResponse:
    query = urlencode({"error": error, **{k: str(v) for k, v in extra.items()},
                       "next": next_url})
    return RedirectResponse(f"/login?{query}", status_code=303)


async def _login_form(request: Request) -> tuple[str, str, str] | None:
    """(email, password, next) from the posted form; None when it cannot be read (wrong
    content type, broken multipart, a part over the size limit)."""
    try:
        form = await request.form(max_files=0, max_fields=16)
    except Exception:  # any parser failure is a bad form, answered on the login page
        return None
    values = []
    for key, default in (("email", ""), ("password", ""), ("next", "/")):
        value = form.get(key, default)
        if not isinstance(value, str):
            return None
        values.append(value)
    return values[0], values[1], values[2]


@router.post("/auth/login")
async def login(request: Request) -> Response:
    posted = await _login_form(request)
    if posted is None:
        return to_login("invalid", "/")
    email, password, next_url = posted
    target = safe_next(next_url)
    if len(email) > MAX_EMAIL or len(password) > MAX_PASSWORD:
        return to_login("too_large", target)
    if not same_origin(request, when_absent=True):  # login CSRF
        return to_login("invalid", target)
    services = runtime.services()
    try:
        user = await run_in_threadpool(services.authenticator.login, email, password,
                                       client_ip(request))
    except LoginThrottled as exc:
        return to_login("throttled", target, retry_after=exc.retry_after)
    except LoginFailed:
        return to_login("invalid", target)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, services, user.user_id, user.role, request=request)
    return response


@router.api_route("/auth/logout", methods=["GET", "POST"])
async def logout(request: Request) -> Response:
    """Ends the session: the token is revoked (a copied cookie stops working too) and the
    cookie cleared. A cross-site logout link can at worst sign someone out."""
    end_session(runtime.services(), request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.post("/auth/logout-everywhere")
async def logout_everywhere(request: Request) -> Response:
    """Ends every session and API token of the signed-in user on every process (a lost
    laptop, a shared computer). Same-origin only: a cross-site form must not do this."""
    services = runtime.services()
    token = request.cookies.get(SESSION_COOKIE)
    if token and same_origin(request, when_absent=False):
        try:
            ctx = await run_in_threadpool(verify, services, token)
        except (InvalidToken, InactiveUser):
            ctx = None
        if ctx is not None and ctx.user_id:
            end_all_sessions(services, ctx.user_id)
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
