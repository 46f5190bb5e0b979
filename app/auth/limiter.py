"""Rate limiting that survives its shared storage going away.

The login limits live in Redis when it is configured, so every process counts the same
attempts. Redis is optional and never a single point of failure: when it cannot be
reached, the same limits are applied per process (in memory) until it is back — a
little looser across replicas for that while, but sign-in keeps working and stays
throttled.
"""

from __future__ import annotations

import logging
import time

from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter, WindowStats

log = logging.getLogger(__name__)
RETRY_SHARED_AFTER = 5.0  # seconds before a failed shared storage is tried again


class ResilientLimiter:
    """A moving-window limiter on shared storage with an in-process fallback."""

    def __init__(self, storage_url: str = "memory://") -> None:
        local = MovingWindowRateLimiter(MemoryStorage())
        self._local = local
        self._shared = (None if storage_url.startswith("memory://") else
                        MovingWindowRateLimiter(storage_from_string(
                            storage_url, wrap_exceptions=True, socket_timeout=1,
                            socket_connect_timeout=1)))
        self._shared_down_until = 0.0

    def _pick(self) -> MovingWindowRateLimiter:
        if self._shared is None or time.monotonic() < self._shared_down_until:
            return self._local
        return self._shared

    def _failed(self, exc: Exception) -> None:
        log.warning("rate-limit storage unavailable (%s); limiting in process", exc)
        self._shared_down_until = time.monotonic() + RETRY_SHARED_AFTER

    def hit(self, item: RateLimitItem, *keys: str) -> bool:
        limiter = self._pick()
        try:
            return limiter.hit(item, *keys)
        except StorageError as exc:
            self._failed(exc)
            return self._local.hit(item, *keys)

    def get_window_stats(self, item: RateLimitItem, *keys: str) -> WindowStats:
        limiter = self._pick()
        try:
            return limiter.get_window_stats(item, *keys)
        except StorageError as exc:
            self._failed(exc)
            return self._local.get_window_stats(item, *keys)

    def clear(self, item: RateLimitItem, *keys: str) -> None:
        limiter = self._pick()
        try:
            limiter.clear(item, *keys)
        except StorageError as exc:
            self._failed(exc)
        self._local.clear(item, *keys)
