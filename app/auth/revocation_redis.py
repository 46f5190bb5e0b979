"""Revocations shared by every process through Redis.

Keys live under one prefix per database (like the change channel) and expire with the
tokens they refuse, so Redis never fills up. One MGET per request reads both the token's
and the user's entry. The local `MemoryRevocations` is written too and asked first:
the process that handled the logout refuses the old cookie even while Redis is away.

Trade-off, on purpose: when Redis cannot be reached, a revocation made by *another*
process is not seen until Redis is back (tokens stay signed and expire as usual); the
alternative — refusing every session while Redis is down — would make Redis a single
point of failure for sign-in, which the deployment promises it is not.
"""

from __future__ import annotations

import logging
import math
import time

import redis

from app.auth.revocation import MemoryRevocations

log = logging.getLogger(__name__)


class RedisRevocations:
    def __init__(self, redis_url: str, prefix: str) -> None:
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.5,
                                           socket_connect_timeout=0.5)
        self._prefix = prefix
        self._local = MemoryRevocations()

    def _token_key(self, token_id: str) -> str:
        return f"{self._prefix}:revoked:{token_id}"

    def _user_key(self, user_id: str) -> str:
        return f"{self._prefix}:signed_out:{user_id}"

    def revoke(self, token_id: str, expires_at: float) -> None:
        self._local.revoke(token_id, expires_at)
        ttl = max(1, math.ceil(expires_at - time.time()))
        try:
            self._redis.set(self._token_key(token_id), "1", ex=ttl)
        except redis.RedisError as exc:
            log.warning("logout recorded in this process only (Redis: %s)", exc)

    def revoke_user(self, user_id: str, issued_before: float, until: float) -> None:
        self._local.revoke_user(user_id, issued_before, until)
        ttl = max(1, math.ceil(until - time.time()))
        try:
            self._redis.set(self._user_key(user_id), repr(issued_before), ex=ttl)
        except redis.RedisError as exc:
            log.warning("sign-out-everywhere recorded in this process only (Redis: %s)", exc)

    def refuses(self, token_id: str | None, user_id: str, issued_at: float) -> bool:
        if self._local.refuses(token_id, user_id, issued_at):
            return True
        keys = [self._user_key(user_id)] + ([self._token_key(token_id)] if token_id else [])
        try:
            values = self._redis.mget(keys)
        except redis.RedisError:
            return False  # see the module docstring: Redis is not a point of failure
        cut_off, revoked = values[0], (values[1] if len(values) > 1 else None)
        if revoked is not None:
            return True
        return cut_off is not None and issued_at < float(cut_off)
