"""What every page needs: the signed-in user, or a redirect to the login page."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse

from app import runtime
from app.auth.sessions import context_from_request
from app.core import Services
from app.objectql.context import Context


def services() -> Services:
    return runtime.services()


def signed_in(request: Request) -> Context | None:
    return context_from_request(request)


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
