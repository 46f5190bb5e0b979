"""Revoked tokens: a logout ends its session although tokens are signed, not stored.

A token names itself with its `jti` claim; revoking puts that id in a store until the
token would have expired anyway. "Sign out everywhere" records, per user, the moment
before which every token of that user is refused (their `iat` is older). Every request
asks the store once, after the signature check (`refuses`).

`MemoryRevocations` serves one process; `RedisRevocations` (revocation_redis.py) shares
the same answers between all processes with one Redis round trip per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class RevocationStore(Protocol):
    def revoke(self, token_id: str, expires_at: float) -> None:
        """Refuse `token_id` from now until `expires_at` (Unix time)."""

    def revoke_user(self, user_id: str, issued_before: float, until: float) -> None:
        """Refuse every token of `user_id` issued before `issued_before` (kept until
        `until`, when the longest-lived of those tokens has expired)."""

    def refuses(self, token_id: str | None, user_id: str, issued_at: float) -> bool: ...


class MemoryRevocations:
    """Revoked token ids and per-user cut-offs of this process, forgotten once expired."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._revoked: dict[str, float] = {}
        self._users: dict[str, tuple[float, float]] = {}  # user -> (issued_before, until)
        self._lock = threading.Lock()
        self._clock = clock or time.time

    def revoke(self, token_id: str, expires_at: float) -> None:
        now = self._clock()
        with self._lock:
            if len(self._revoked) > 10_000:  # drop the ones that expired on their own
                self._revoked = {k: v for k, v in self._revoked.items() if v > now}
            self._revoked[token_id] = expires_at

    def revoke_user(self, user_id: str, issued_before: float, until: float) -> None:
        with self._lock:
            self._users[user_id] = (issued_before, until)

    def is_revoked(self, token_id: str) -> bool:
        with self._lock:
            until = self._revoked.get(token_id)
        return until is not None and until > self._clock()

    def refuses(self, token_id: str | None, user_id: str, issued_at: float) -> bool:
        if token_id is not None and self.is_revoked(token_id):
            return True
        with self._lock:
            cut = self._users.get(user_id)
        return cut is not None and cut[1] > self._clock() and issued_at < cut[0]
