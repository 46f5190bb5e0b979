"""Request dependencies: who is calling (bearer token or browser session)."""

from __future__ import annotations

from fastapi import Request

from app import runtime
from app.api.errors import ApiError
from app.auth.identity import InactiveUser
from app.auth.sessions import SESSION_COOKIE
from app.auth.tokens import InvalidToken, decode_token
from app.objectql.context import Context


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(SESSION_COOKIE)


async def current_context(request: Request) -> Context:
    """The caller's Context; 401 for a missing, tampered, expired or deactivated token."""
    token = bearer_token(request)
    unauthorized = {"WWW-Authenticate": "Bearer"}
    if not token:
        raise ApiError(401, "authentication required", headers=unauthorized)
    services = runtime.services()
    try:
        claims = decode_token(services.secret_key, token)
        return services.identities.context_for(claims["sub"])
    except (InvalidToken, InactiveUser):
        raise ApiError(401, "invalid or expired token", headers=unauthorized) from None
