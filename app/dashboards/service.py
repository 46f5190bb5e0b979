"""Dashboards for one process: definitions from the metadata registry, widget data through
ObjectQL as the caller, a cache invalidated by change events, and change notifications
for open dashboards (live update)."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.dashboards.cache import LocalCache, RedisCache, WidgetCache, cache_key
from app.dashboards.compute import QueryMemo, compute_widget
from app.dashboards.filters import FilterState, parse_state
from app.dashboards.models import DashboardDef, WidgetDef
from app.events import ChangeEvent
from app.events_redis import namespace_for
from app.objectql.context import Context
from app.objectql.errors import NotFound
from app.objectql.service import ObjectQL

log = logging.getLogger(__name__)
ChangeListener = Callable[[str], None]


class Dashboards:
    def __init__(self, ql: ObjectQL, cache: WidgetCache | None = None, workers: int = 3):
        self.ql = ql
        self.workers = workers
        self.cache: WidgetCache = cache or LocalCache()
        self._listeners: list[ChangeListener] = []
        self._lock = threading.Lock()
        # Changes from this process and, through the Redis relay, from every other one.
        self._unsubscribe = ql.events.subscribe(self._on_change)

    # -- definitions ---------------------------------------------------------------------
    def definition(self, name: str) -> DashboardDef:
        found = self.ql.registry.dashboards.get(name)
        if found is None:
            raise NotFound(f"unknown dashboard '{name}'")
        return found

    def names(self) -> list[str]:
        return sorted(self.ql.registry.dashboards)

    def state(self, ctx: Context, name: str, params: dict[str, str]) -> FilterState:
        return parse_state(self.ql, ctx, self.definition(name), params)

    # -- data ----------------------------------------------------------------------------
    def data(self, ctx: Context, name: str, state: FilterState,
             widgets: Iterable[str] | None = None) -> dict[str, Any]:
        """{widget name: data} for the chosen widgets (all by default), cached."""
        dashboard = self.definition(name)
        chosen = [w for w in dashboard.widgets if widgets is None or w.name in set(widgets)]
        keys = self._keys(ctx, dashboard, chosen, state)
        cached = self.cache.get_many(keys)
        result = {w.name: value for w, value in zip(chosen, cached, strict=True)
                  if value is not None}
        missing = [(w, key) for w, key, value in zip(chosen, keys, cached, strict=True)
                   if value is None]
        memo = QueryMemo()

        def compute(widget: WidgetDef) -> dict[str, Any]:
            with self.ql.replica_reads(ctx):  # set per worker thread: contextvars stay put
                return compute_widget(self.ql, ctx, dashboard, widget, state, memo)

        if len(missing) > 1 and self.workers > 1:
            # SQLite and PostgreSQL both work while Python waits: overlap the queries.
            with ThreadPoolExecutor(self.workers, thread_name_prefix="widget") as pool:
                values = list(pool.map(compute, [w for w, _ in missing]))
        else:
            values = [compute(w) for w, _ in missing]
        fresh = {key: value for (_, key), value in zip(missing, values, strict=True)}
        result.update({w.name: v for (w, _), v in zip(missing, values, strict=True)})
        if fresh:
            self.cache.set_many(fresh)
        return {w.name: result[w.name] for w in chosen}

    def cached(self, ctx: Context, name: str, state: FilterState) -> dict[str, Any]:
        """The widgets whose data is in the cache, without computing any (first paint)."""
        dashboard = self.definition(name)
        keys = self._keys(ctx, dashboard, dashboard.widgets, state)
        return {w.name: value for w, value in zip(dashboard.widgets,
                                                  self.cache.get_many(keys), strict=True)
                if value is not None}

    def first_paint(self, ctx: Context, name: str, state: FilterState) -> dict[str, Any]:
        """What the page's first HTML carries: every cached widget, and the KPIs computed
        now (their aggregates read rollups: milliseconds), so the headline figures arrive
        with the page instead of after the websocket; charts and tables follow."""
        dashboard = self.definition(name)
        found = self.cached(ctx, name, state)
        kpis = [w.name for w in dashboard.widgets if w.kind == "kpi" and w.name not in found]
        if kpis:
            found.update(self.data(ctx, name, state, kpis))
        return found

    def widget(self, ctx: Context, name: str, widget: str, state: FilterState) -> Any:
        data = self.data(ctx, name, state, [widget])
        if widget not in data:
            raise NotFound(f"unknown widget '{widget}' on dashboard '{name}'")
        return data[widget]

    def _keys(self, ctx: Context, dashboard: DashboardDef, widgets: list[WidgetDef],
              state: FilterState) -> list[str]:
        reads = {w.name: sorted(dashboard.objects_read(w) | {"user"}) for w in widgets}
        generations = self.cache.generations({o for names in reads.values() for o in names})
        scope = [ctx.user_id, ctx.role, ctx.is_system, sorted(ctx.subordinate_ids)]
        digest = self._digest(dashboard)
        return [cache_key([digest, dashboard.name, w.name, scope, state.key(),
                           [(o, generations[o]) for o in reads[w.name]]]) for w in widgets]

    def _digest(self, dashboard: DashboardDef) -> str:
        """Changes of the definition (metadata reload, studio version) make new keys.
        Kept on the definition itself: an id() may be reused by a changed one."""
        if dashboard._digest is None:
            dashboard._digest = hashlib.blake2b(dashboard.model_dump_json().encode(),
                                                digest_size=8).hexdigest()
        return dashboard._digest

    # -- change events -------------------------------------------------------------------
    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        """`listener(object)` after any committed change (here or in another process)."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _on_change(self, event: ChangeEvent) -> None:
        if event.is_resync:
            # The Redis relay reconnected: changes may have been missed meanwhile, so
            # every widget starts afresh and every open dashboard refreshes.
            for name in [o.name for o in self.ql.registry.business_objects]:
                self.cache.invalidate(name)
                self._notify(name)
            return
        # A remote change is counted here too, even with the shared (Redis) generations:
        # the process that made it may never have opened a dashboard, and an extra bump
        # only makes keys new, never stale.
        self.cache.invalidate(event.object)
        self._notify(event.object)

    def _notify(self, object_name: str) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(object_name)
            except Exception:
                log.exception("dashboard listener failed")

    def close(self) -> None:
        self._unsubscribe()
        self.cache.close()


_instances: dict[int, Dashboards] = {}
_instances_lock = threading.Lock()


def dashboards_for(ql: ObjectQL, redis_url: str | None = None) -> Dashboards:
    """The one Dashboards of this ObjectQL service (created on first use). With Redis the
    cache lives under the database's namespace, like the change relay's channel, so two
    deployments sharing a Redis never share figures."""
    with _instances_lock:
        found = _instances.get(id(ql))
        if found is None or found.ql is not ql:
            cache: WidgetCache = LocalCache()
            if redis_url:
                namespace = namespace_for(ql.engine.url.render_as_string(hide_password=False))
                cache = RedisCache(redis_url, f"{namespace}:dash:")
            found = Dashboards(ql, cache)
            _instances[id(ql)] = found
        return found
