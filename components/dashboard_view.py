"""A dashboard on a page: filter bar, the 12-column grid from metadata, and one card per
widget (components/dashboard_card.py) that loads on its own (skeleton first, so the page
is usable before the slowest widget); widgets refresh themselves when a change event
touches an object they read (live update)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from nicegui import background_tasks, run, ui

from app.dashboards.compute import field_of
from app.dashboards.filters import PERIOD_LABELS, FilterState, select_options
from app.dashboards.models import PERIOD_PRESETS, DashboardDef, WidgetDef
from app.dashboards.service import Dashboards
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from components.dashboard_card import WidgetCard

CSS = (Path(__file__).with_name("dashboard.css")).read_text(encoding="utf-8")
LIVE_DEBOUNCE = 0.3


class DashboardView:
    def __init__(self, service: Dashboards, ctx: Context, dashboard: DashboardDef,
                 state: FilterState, owners: list[dict[str, str]], *, base_url: str,
                 on_state: Callable[[FilterState], None] | None = None):
        self.service, self.ctx, self.dashboard, self.state = service, ctx, dashboard, state
        self.base_url = base_url
        self.owners = owners
        self.on_state = on_state
        self.cards: dict[str, WidgetCard] = {}
        self._pending: set[str] = set()
        self._flush: asyncio.TimerHandle | None = None
        ui.add_css(CSS)
        self._filter_bar()
        with ui.element("div").classes("dash-grid w-full").props(
                f'data-dashboard="{dashboard.name}"'):
            for widget in dashboard.widgets:
                self.cards[widget.name] = WidgetCard(self, widget)

    # -- filters --------------------------------------------------------------------------
    def _filter_bar(self) -> None:
        d, ql = self.dashboard, self.service.ql
        with ui.row().classes("w-full items-center gap-2 dash-filters").props(
                'data-testid="page-header"'):
            ui.icon(d.icon or "insights", size="1.6rem").classes("text-indigo-500")
            ui.label(d.label).classes("text-xl font-semibold text-slate-900 dark:text-white")
            self.period_label = ui.label("").classes(
                "text-sm text-slate-500 dark:text-slate-400 max-sm:hidden")
            ui.space()
            for f in d.filters:
                if f.type == "period":
                    self._period_filter(f.display_label)
                elif f.type == "owner":
                    choices = {"": "Everyone" if self.ctx.role != "sales_rep" else "Me",
                               **{c["value"]: c["label"] for c in self.owners}}
                    ui.select(choices, value=self.state.owner or "", label=f.display_label,
                              on_change=lambda e: self._set(owner=e.value or None)).props(
                        'dense outlined options-dense data-testid="filter-owner"').classes(
                        "w-44")
                else:
                    name = f.name
                    choices = {"": "All", **{o["value"]: o["label"]
                                             for o in select_options(ql, d, name)}}
                    ui.select(choices, value=self.state.select(name) or "",
                              label=f.display_label,
                              on_change=lambda e, n=name: self._set(select=(n, e.value))
                              ).props(f'dense outlined options-dense data-testid="filter-{name}"'
                                      ).classes("w-40")
        self._show_period()

    def _period_filter(self, label: str) -> None:
        period = self.state.period
        self.period_select = ui.select(
            {p: PERIOD_LABELS[p] for p in PERIOD_PRESETS},
            value=period.preset if period else "this_quarter", label=label,
            on_change=lambda e: self._period_changed(e.value)).props(
            'dense outlined options-dense data-testid="filter-period"').classes("w-40")
        with ui.row().classes("items-center gap-1") as self.custom_range:
            start = period.start.isoformat() if period else ""
            end = (period.end - timedelta(days=1)).isoformat() if period else ""
            self.start_input = ui.input("From", value=start).props(
                'dense outlined type=date data-testid="filter-from"').classes("w-36")
            self.end_input = ui.input("To", value=end).props(
                'dense outlined type=date data-testid="filter-to"').classes("w-36")
            ui.button(icon="check", on_click=self._custom_range).props(
                'flat round dense aria-label="Apply range" data-testid="filter-apply"')
        self.custom_range.visible = bool(period and period.preset == "custom")

    async def _period_changed(self, preset: str) -> None:
        self.custom_range.visible = preset == "custom"
        if preset != "custom":
            await self._set(period=preset)

    async def _custom_range(self) -> None:
        await self._set(period="custom", start=self.start_input.value,
                        end=self.end_input.value)

    async def _set(self, **change: Any) -> None:
        params = self.state.to_params()
        if "period" in change:
            params["period"] = change["period"]
            params.pop("from", None)
            params.pop("to", None)
            if change["period"] == "custom":
                params["from"], params["to"] = change.get("start") or "", change.get("end") or ""
        if "owner" in change:
            params.pop("owner", None)
            if change["owner"]:
                params["owner"] = change["owner"]
        if "select" in change:
            name, value = change["select"]
            params.pop(name, None)
            if value:
                params[name] = value
        try:
            state = await run.io_bound(self.service.state, self.ctx, self.dashboard.name,
                                       params)
        except ObjectQLError as exc:
            ui.notify(exc.message, type="warning")
            return
        if state is None:  # shutting down
            return
        self.state = state
        query = urlencode(self.state.to_params())
        ui.navigate.history.replace(self.base_url + (f"?{query}" if query else ""))
        if self.on_state:
            self.on_state(self.state)
        self._show_period()
        for card in self.cards.values():
            card.skeleton()
            card.chart = None
        self.load_all()

    def _show_period(self) -> None:
        period = self.state.period
        self.period_label.text = period.label if period else ""

    # -- loading and live updates ---------------------------------------------------------
    def load_all(self, names: set[str] | None = None, *,
                 ready: dict[str, Any] | None = None) -> None:
        """Load widgets in the background; those in `ready` (cached) are drawn at once."""
        for name, card in self.cards.items():
            if ready and name in ready:
                card.show(ready[name])
            elif names is None or name in names:
                background_tasks.create(card.load(), name=f"widget-{name}")

    def option_colors(self, widget: WidgetDef) -> dict[str, dict[str, str]]:
        ql = self.service.ql
        obj = ql.object(widget.query.object)
        result: dict[str, dict[str, str]] = {}
        for path in widget.query.group_by:
            fd = field_of(ql, obj, path)
            if fd is not None and fd.options:
                result[path] = {o.value: o.color or "" for o in fd.options}
        return result

    def go_live(self) -> Callable[[], None]:
        """Refresh widgets reading an object whenever it changes (any tab, API, trigger,
        another process via Redis). Returns the unsubscribe function."""
        loop = asyncio.get_running_loop()

        def changed(object_name: str) -> None:  # called on the writer's thread
            try:
                loop.call_soon_threadsafe(self._schedule, object_name)
            except RuntimeError:  # the page's loop has ended (server shutdown, a test app)
                unsubscribe()

        unsubscribe = self.service.subscribe(changed)
        return unsubscribe

    def _schedule(self, object_name: str) -> None:
        self._pending.add(object_name)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(LIVE_DEBOUNCE, self._refresh)

    def _refresh(self) -> None:
        self._flush = None
        changed, self._pending = self._pending, set()
        live = self.service.ql.registry.dashboards.get(self.dashboard.name)
        if live is not self.dashboard:
            if live is None or live.model_dump_json() != self.dashboard.model_dump_json():
                # An admin changed (or reverted) the definition in the studio: the grid
                # and widgets are drawn from the new one, so the page is drawn again.
                ui.navigate.reload()
                return
            self.dashboard = live  # the same definition from a new registry
        names = {w.name for w in self.dashboard.widgets
                 if self.dashboard.objects_read(w) & changed}
        if names:
            self.load_all(names)
