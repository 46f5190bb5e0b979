"""Revoked tokens: a logout ends its session although tokens are signed, not stored.

A token names itself with its `jti` claim; revoking puts that id in a store until the
token would have expired anyway, and every request checks the store after the signature.
`RevocationStore` is the interface; `MemoryRevocations` serves the single-process setup.
A shared store (Redis `SET jti 1 EX ttl`, or a database table) implements the same two
methods so that several processes honour a logout made on any of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class RevocationStore(Protocol):
    def revoke(self, token_id: str, expires_at: float) -> None:
        """Refuse `token_id` from now until `expires_at` (Unix time)."""

    def is_revoked(self, token_id: str) -> bool: ...


class MemoryRevocations:
    """Revoked token ids of this process, forgotten once their token has expired."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._revoked: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock or time.time

    def revoke(self, token_id: str, expires_at: float) -> None:
        now = self._clock()
        with self._lock:
            if len(self._revoked) > 10_000:  # drop the ones that expired on their own
                self._revoked = {k: v for k, v in self._revoked.items() if v > now}
            self._revoked[token_id] = expires_at

    def is_revoked(self, token_id: str) -> bool:
        with self._lock:
            until = self._revoked.get(token_id)
        return until is not None and until > self._clock()
