"""`POST /api/auth/token` (OAuth2 password form) and `GET /api/me`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app import runtime
from app.api.deps import client_ip, current_context
from app.api.errors import ApiError
from app.api.responses import json_response
from app.auth.login import LoginFailed, LoginThrottled
from app.auth.tokens import ACCESS_TTL, issue_token
from app.objectql.context import Context

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/token")
async def token(request: Request, username: Annotated[str, Form(max_length=255)],
                password: Annotated[str, Form(max_length=1024)]) -> Response:
    services = runtime.services()
    try:
        user = await run_in_threadpool(services.authenticator.login, username, password,
                                       client_ip(request))
    except LoginThrottled as exc:
        raise ApiError(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    except LoginFailed:
        raise ApiError(401, "wrong email or password", code="invalid_credentials") from None
    access = issue_token(services.secret_key, user.user_id, user.role, ACCESS_TTL)
    return json_response({"access_token": access, "token_type": "bearer",
                          "expires_in": ACCESS_TTL})


@router.get("/me")
def me(ctx: Annotated[Context, Depends(current_context)]) -> Response:
    ql = runtime.services().ql
    user = ql.get(Context.system(), "user", ctx.user_id or "",
                  fields=["email", "name", "role", "manager", "active"])
    perms = ql.registry.permissions.get(ctx.role)
    objects = {}
    for obj in ql.registry.values():
        p = perms.object(obj.name) if perms else None
        if p and p.read:
            objects[obj.name] = p.model_dump()
    return json_response({"user": user, "role": ctx.role,
                          "team": sorted(ctx.subordinate_ids), "permissions": objects})
