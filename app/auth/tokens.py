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
VERIFIED_CACHE_SIZE = 10_000


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


# Tokens whose signature and claims were verified, until they expire: a client sends the
# same token with every request, and checking the HMAC and claims again cost a fifth of a
# REST read. Keyed by (secret, token), so only a token this exact secret signed can hit;
# an entry is used only before its `exp` (without the decoder's leeway; past `exp` the
# full check decides). Revocation and the user's state are not cached here: `verify`
# asks the revocation store and the identity cache on every request.
_verified: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}


def decode_token(secret: str, token: str, now: float | None = None) -> dict[str, Any]:
    """The verified claims, or InvalidToken for anything tampered, expired or malformed."""
    if not token or len(token) > 4096:
        raise InvalidToken("missing or oversized token")
    if now is None:
        hit = _verified.get((secret, token))
        if hit is not None and time.time() < hit[0]:
            return dict(hit[1])
    claims = _decode(secret, token, now)
    if now is None and isinstance(claims.get("exp"), int | float):
        if len(_verified) >= VERIFIED_CACHE_SIZE:
            _verified.clear()
        _verified[(secret, token)] = (float(claims["exp"]), dict(claims))
    return claims


def _decode(secret: str, token: str, now: float | None) -> dict[str, Any]:
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
