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
from collections.abc import Callable
from typing import TypeVar

from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter, WindowStats

log = logging.getLogger(__name__)
T = TypeVar("T")
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

    def _call(self, method: Callable[..., T], item: RateLimitItem, *keys: str) -> T:
        """`method` of the shared limiter, or of the in-process one while the shared
        storage is unreachable (retried after RETRY_SHARED_AFTER seconds)."""
        name = method.__name__
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                return getattr(self._shared, name)(item, *keys)
            except StorageError as exc:
                log.warning("rate-limit storage unavailable (%s); limiting in process", exc)
                self._shared_down_until = time.monotonic() + RETRY_SHARED_AFTER
        return method(item, *keys)

    def hit(self, item: RateLimitItem, *keys: str) -> bool:
        return self._call(self._local.hit, item, *keys)

    def get_window_stats(self, item: RateLimitItem, *keys: str) -> WindowStats:
        return self._call(self._local.get_window_stats, item, *keys)

    def clear(self, item: RateLimitItem, *keys: str) -> None:
        # Both: a window counted in process while Redis was away must not outlive it.
        self._call(self._local.clear, item, *keys)
        if self._shared is not None:
            self._local.clear(item, *keys)
