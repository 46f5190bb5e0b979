"""Widget results cached per (dashboard, widget, security scope, filters), invalidated by
change events of the objects a widget reads.

Invalidation is by generation: each object has a counter, a change bumps it, and the
counters of the objects a widget reads are part of its cache key, so stale entries are
simply never asked for again (and age out). With Redis (`HOTCRM_REDIS_URL`) the counters
and values live in Redis, so a change in one process invalidates every process at once;
a pub/sub message also tells the other processes' open dashboards to refresh.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from redis.exceptions import RedisError

log = logging.getLogger(__name__)
TTL_SECONDS = 600
CHANNEL = "changes"
PREFIX = "hotcrm:dash:"


class WidgetCache(Protocol):
    backend: str

    def generations(self, objects: Iterable[str]) -> dict[str, int]: ...

    def get_many(self, keys: list[str]) -> list[Any | None]: ...

    def set_many(self, items: dict[str, Any]) -> None: ...

    def invalidate(self, object_name: str) -> None: ...

    def listen(self, callback: Callable[[str], None]) -> None:
        """Call `callback(object)` for changes made by *other* processes."""

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

    def listen(self, callback: Callable[[str], None]) -> None:
        return None  # no other processes share this cache

    def close(self) -> None:
        return None


class RedisCache:
    """Values and generations in Redis; changes announced on a pub/sub channel."""

    backend = "redis"

    def __init__(self, url: str, namespace: str = PREFIX):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2)
        self._ns = namespace
        self._channel = namespace + CHANNEL
        self._origin = f"{os.getpid()}:{id(self)}"
        self._thread: threading.Thread | None = None
        self._pubsub: Any = None

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
        pipe = self._redis.pipeline(transaction=False)
        pipe.hincrby(self._ns + "gen", object_name, 1)
        pipe.publish(self._channel, json.dumps({"object": object_name, "origin": self._origin}))
        try:
            pipe.execute()
        except RedisError as exc:  # the relay's resync bumps every counter once it is back
            log.warning("dashboard cache not invalidated for %s (%s)", object_name, exc)

    def listen(self, callback: Callable[[str], None]) -> None:
        if self._thread is not None:
            return
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(self._channel)

        def loop() -> None:
            while self._pubsub is not None:
                try:
                    message = self._pubsub.get_message(timeout=1.0)
                except Exception:  # connection lost: stop quietly, the cache still works
                    log.warning("dashboard change channel closed", exc_info=True)
                    return
                if not message:
                    continue
                try:
                    data = json.loads(message["data"])
                except (ValueError, TypeError):
                    continue
                if data.get("origin") != self._origin and isinstance(data.get("object"), str):
                    callback(data["object"])

        self._thread = threading.Thread(target=loop, name="dashboard-changes", daemon=True)
        self._thread.start()

    def close(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if self._thread is not None:
            self._thread.join(timeout=2)
        if pubsub is not None:
            pubsub.close()
        self._redis.close()
