"""What every page needs: the signed-in user, or a redirect to the login page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse

from app import runtime
from app.auth.sessions import context_from_request
from app.core import Services
from app.metadata.models import ObjectDef
from app.objectql.context import Context
from app.objectql.errors import NotFound, PermissionDenied
from app.objectql.service import ObjectQL
from components.shell import frame

# How long a page builder that awaits worker-thread reads may take before NiceGUI gives up.
PAGE_BUILD_SECONDS = 20.0


def services() -> Services:
    return runtime.services()


def signed_in(request: Request) -> Context | None:
    return context_from_request(request)


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


@dataclass
class ObjectPage:
    """A signed-in user on a page of an object they may read."""

    ctx: Context
    obj: ObjectDef
    ql: ObjectQL


def object_page(request: Request, object_name: str, missing: Callable[[], None], *,
                allow_system: bool = True) -> ObjectPage | RedirectResponse | None:
    """The user and object for `/o/{object}/...` pages: a redirect to the login page when
    signed out, `missing()` inside the frame (and None) for an unknown or unreadable object."""
    ctx = signed_in(request)
    if ctx is None:
        return to_login(request)
    ql = services().ql
    try:
        obj = ql.readable_object(ctx, object_name)
        if obj.system and not allow_system:
            raise NotFound(f"unknown object '{object_name}'")
    except (NotFound, PermissionDenied):
        with frame(ctx, "Not found"):
            missing()
        return None
    return ObjectPage(ctx, obj, ql)
