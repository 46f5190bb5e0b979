"""Password login with throttling and an audit entry for every attempt.

Throttling reserves before it checks: each attempt first takes a slot atomically (the
`limits` moving window: a Lua script in Redis, a lock in memory) for its email and for
its client address, and only an attempt that got both slots may verify a password. So
32 parallel guesses for one email verify 5 and the rest get 429, on one process or many.
A correct password clears its email's window; the per-address window counts every
attempt (successes too) and is wide enough for an office behind one NAT address.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItemPerMinute

from app import audit
from app.auth.limiter import ResilientLimiter
from app.auth.passwords import verify_password
from app.config import LOGIN_ATTEMPTS_PER_ADDRESS
from app.objectql.context import Context
from app.objectql.service import ObjectQL

FAILURES_PER_MINUTE = 5  # per email
ATTEMPTS_PER_MINUTE_PER_ADDRESS = LOGIN_ATTEMPTS_PER_ADDRESS  # HOTCRM_LOGIN_ATTEMPTS_PER_ADDRESS


class LoginFailed(Exception):
    """Wrong email or password (deliberately the same message for both)."""


class LoginThrottled(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"too many failed attempts; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class LoginResult:
    user_id: str
    role: str
    name: str


class Authenticator:
    def __init__(self, ql: ObjectQL, storage_url: str = "memory://",
                 attempts_per_address: int = ATTEMPTS_PER_MINUTE_PER_ADDRESS):
        self.ql = ql
        self._limit = RateLimitItemPerMinute(FAILURES_PER_MINUTE)
        self._address_limit = RateLimitItemPerMinute(attempts_per_address)
        self._limiter = ResilientLimiter(storage_url)

    def login(self, email: str, password: str, address: str | None = None) -> LoginResult:
        key = (email or "").strip().lower()[:255]
        if address and not self._limiter.hit(self._address_limit, "login-ip", address):
            raise self._throttled(self._address_limit, "login-ip", address)
        if not self._limiter.hit(self._limit, "login", key):
            raise self._throttled(self._limit, "login", key)
        user = self._find_user(key)
        ok = bool(user and user.get("active")
                  and verify_password(self.ql, user["id"], password or ""))
        self._audit(user["id"] if user else None, key, ok)
        if not ok or user is None:
            raise LoginFailed("wrong email or password")
        self._limiter.clear(self._limit, "login", key)
        return LoginResult(user["id"], user["role"], user["name"])

    def _throttled(self, limit: RateLimitItemPerMinute, *keys: str) -> LoginThrottled:
        stats = self._limiter.get_window_stats(limit, *keys)
        return LoginThrottled(max(1, int(stats.reset_time - time.time()) + 1))

    def _find_user(self, email: str) -> dict[str, Any] | None:
        """Emails are unique case-insensitively; match them the same way."""
        if "@" not in email:
            return None
        candidates = self.ql.find(Context.system(), "user", limit=20,
                                  fields=["name", "role", "active", "email"],
                                  filters=[["email", "startswith", email]]).records
        return next((u for u in candidates if str(u["email"]).lower() == email), None)

    def _audit(self, user_id: str | None, email: str, ok: bool) -> None:
        with self.ql.transaction() as conn:
            audit.record(conn, object_name="user", record_id=user_id or "-",
                         action="login" if ok else "login_failed", user_id=user_id,
                         at=self.ql.clock(), changes={"email": [None, email]})
