"""Widget results cached per (dashboard, widget, security scope, filters), invalidated by
change events of the objects a widget reads.

Invalidation is by generation: each object has a counter, a change bumps it, and the
counters of the objects a widget reads are part of its cache key, so stale entries are
simply never asked for again (and age out). With Redis (`HOTCRM_REDIS_URL`) the counters
and values live in Redis, so a change in one process invalidates every process at once.
Open dashboards in other processes hear of the change through the change-event relay
(`app/events_redis.py`), like every other listener: the cache has no channel of its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Protocol

from redis.exceptions import RedisError

log = logging.getLogger(__name__)
TTL_SECONDS = 600
PREFIX = "hotcrm:dash:"


class WidgetCache(Protocol):
    backend: str

    def generations(self, objects: Iterable[str]) -> dict[str, int]: ...

    def get_many(self, keys: list[str]) -> list[Any | None]: ...

    def set_many(self, items: dict[str, Any]) -> None: ...

    def invalidate(self, object_name: str) -> None: ...

    def close(self) -> None: ...


def cache_key(parts: list[Any]) -> str:
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


class LocalCache:
    """One process: a bounded LRU dict and per-object generation counters."""

    backend = "memory"

    def __init__(self, max_entries: int = 5000):
        self._values: OrderedDict[str, Any] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def generations(self, objects: Iterable[str]) -> dict[str, int]:
        with self._lock:
            return {o: self._generations.get(o, 0) for o in objects}

    def get_many(self, keys: list[str]) -> list[Any | None]:
        with self._lock:
            found = []
            for key in keys:
                value = self._values.get(key)
                if value is not None:
                    self._values.move_to_end(key)
                found.append(value)
            return found

    def set_many(self, items: dict[str, Any]) -> None:
        with self._lock:
            self._values.update(items)
            while len(self._values) > self.max_entries:
                self._values.popitem(last=False)

    def invalidate(self, object_name: str) -> None:
        with self._lock:
            self._generations[object_name] = self._generations.get(object_name, 0) + 1

    def close(self) -> None:
        return None


class RedisCache:
    """Values and generations in Redis, shared by every process of one deployment."""

    backend = "redis"

    def __init__(self, url: str, namespace: str = PREFIX):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2)
        self._ns = namespace

    # Redis is optional at run time too: while it cannot be reached, dashboards are computed
    # fresh (generation -1 never matches a stored key) and nothing is stored.
    def generations(self, objects: Iterable[str]) -> dict[str, int]:
        names = sorted(objects)
        if not names:
            return {}
        try:
            values = self._redis.hmget(self._ns + "gen", names)
        except RedisError as exc:
            log.warning("dashboard cache unavailable (%s): computing fresh", exc)
            return {n: -1 for n in names}
        return {n: int(v or 0) for n, v in zip(names, values, strict=True)}

    def get_many(self, keys: list[str]) -> list[Any | None]:
        if not keys:
            return []
        try:
            raw = self._redis.mget([self._ns + k for k in keys])
        except RedisError:
            return [None] * len(keys)
        return [json.loads(v) if v is not None else None for v in raw]

    def set_many(self, items: dict[str, Any]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for key, value in items.items():
            pipe.set(self._ns + key, json.dumps(value, default=str), ex=TTL_SECONDS)
        with contextlib.suppress(RedisError):
            pipe.execute()

    def invalidate(self, object_name: str) -> None:
        try:
            self._redis.hincrby(self._ns + "gen", object_name, 1)
        except RedisError as exc:  # the relay's resync bumps every counter once it is back
            log.warning("dashboard cache not invalidated for %s (%s)", object_name, exc)

    def close(self) -> None:
        self._redis.close()
