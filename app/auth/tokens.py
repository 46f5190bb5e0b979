"""Signed access tokens (JWT, HS256 with HOTCRM_SECRET_KEY) via joserfc.

Only HS256 is accepted: `none`, RS/HS confusion and any other algorithm fail to decode.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

ALGORITHM = "HS256"
ACCESS_TTL = 3600


class InvalidToken(Exception):
    pass


def _key(secret: str) -> OctKey:
    return OctKey.import_key(secret.encode())


def issue_token(secret: str, user_id: str, role: str, ttl: int = ACCESS_TTL,
                now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    # `jti` names this one token so a logout can revoke it (app/auth/revocation.py).
    claims = {"sub": user_id, "role": role, "iat": issued, "exp": issued + ttl,
              "jti": secrets.token_urlsafe(16)}
    return jwt.encode({"alg": ALGORITHM, "typ": "JWT"}, claims, _key(secret),
                      algorithms=[ALGORITHM])


def decode_token(secret: str, token: str, now: float | None = None) -> dict[str, Any]:
    """The verified claims, or InvalidToken for anything tampered, expired or malformed."""
    if not token or len(token) > 4096:
        raise InvalidToken("missing or oversized token")
    try:
        decoded = jwt.decode(token, _key(secret), algorithms=[ALGORITHM])
        registry = JWTClaimsRegistry(now=int(now) if now is not None else None,
                                     leeway=5, sub={"essential": True},
                                     exp={"essential": True}, iat={"essential": True})
        registry.validate(decoded.claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc) or type(exc).__name__) from None
    claims = dict(decoded.claims)
    if not isinstance(claims.get("sub"), str):
        raise InvalidToken("token has no subject")
    return claims
