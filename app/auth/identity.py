"""From a user id to the Context every ObjectQL call carries (role, manager chain)."""

from __future__ import annotations

import threading
import time

from app.events import ChangeEvent
from app.metrics import IDENTITY_HITS, IDENTITY_MISSES
from app.objectql.context import Context
from app.objectql.service import ObjectQL

CACHE_SECONDS = 30.0
MAX_CHAIN = 10_000


class InactiveUser(Exception):
    """The user does not exist or was deactivated: their tokens stop working at once."""


class Identities:
    """Builds Contexts and caches them briefly; any change to a user clears the cache."""

    def __init__(self, ql: ObjectQL):
        self.ql = ql
        self._cache: dict[str, tuple[float, Context]] = {}
        self._lock = threading.Lock()
        self.close = ql.events.subscribe(self._on_change)

    def _on_change(self, event: ChangeEvent) -> None:
        if event.touches("user"):
            with self._lock:
                self._cache.clear()

    def context_for(self, user_id: str) -> Context:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(user_id)
        if hit and now - hit[0] < CACHE_SECONDS:
            IDENTITY_HITS.inc()
            return hit[1]
        IDENTITY_MISSES.inc()
        ctx = self._build(user_id)
        with self._lock:
            self._cache[user_id] = (now, ctx)
        return ctx

    def _build(self, user_id: str) -> Context:
        system = Context.system()
        user = self.ql.find_one(system, "user", fields=["name", "role", "active"],
                                filters=[["id", "=", user_id]])
        if user is None or not user.get("active"):
            raise InactiveUser(user_id)
        return Context(user_id=user_id, role=user["role"], name=user["name"],
                       subordinate_ids=frozenset(self.subordinates(user_id)))

    def subordinates(self, user_id: str) -> set[str]:
        """Everyone below `user_id` in the manager chain (cycles are harmless)."""
        system = Context.system()
        found: set[str] = set()
        frontier = [user_id]
        while frontier and len(found) < MAX_CHAIN:
            rows = self.ql.find(system, "user", fields=["id"], limit=10_000,
                                filters=[["manager", "in", frontier[:1000]]]).records
            frontier = [r["id"] for r in rows if r["id"] not in found and r["id"] != user_id]
            found.update(frontier)
        return found
