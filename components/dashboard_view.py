"""A dashboard on a page: filter bar, the 12-column grid from metadata, and one card per
widget that loads on its own (skeleton first, so the page is usable before the slowest
widget), offers CSV download, drills into the list view behind a figure, and refreshes
itself when a change event touches an object it reads (live update)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from nicegui import background_tasks, run, ui

from app.dashboards.compute import drill_filters, field_of
from app.dashboards.filters import PERIOD_LABELS, FilterState, select_options
from app.dashboards.models import PERIOD_PRESETS, DashboardDef, WidgetDef
from app.dashboards.service import Dashboards
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from components.charts import build_figure, csv_rows, format_value, label_of

CSS = (Path(__file__).with_name("dashboard.css")).read_text(encoding="utf-8")
LIVE_DEBOUNCE = 0.3


def drill_url(object_name: str, filters: list[Any]) -> str:
    query = {"filters": json.dumps(filters, separators=(",", ":"), default=str)} \
        if filters else {}
    return f"/o/{object_name}" + (f"?{urlencode(query)}" if query else "")


class WidgetCard:
    """One widget: header (title, CSV), body (skeleton → figure | empty | no access)."""

    def __init__(self, view: DashboardView, widget: WidgetDef):
        self.view, self.widget = view, widget
        self.data: dict[str, Any] | None = None
        self.points: list[dict[str, Any]] = []
        self.chart: ui.plotly | None = None
        p = widget.position
        style = (f"grid-column: {p.x + 1} / span {p.w}; grid-row: {p.y + 1} / span {p.h};")
        with ui.card().classes(f"dash-card dash-{widget.kind}").style(style).props(
                f'flat bordered data-widget="{widget.name}" data-kind="{widget.kind}"'
        ) as self.card:
            with ui.row().classes("w-full items-center no-wrap gap-1 dash-head"):
                ui.label(widget.title).classes("dash-title").tooltip(widget.description or "")
                ui.space()
                ui.button(icon="download", on_click=self.download).props(
                    'flat round dense size=sm color=grey-7 aria-label="Download CSV" '
                    f'data-testid="csv-{widget.name}"').tooltip("Download CSV")
            self.body = ui.column().classes("w-full grow gap-1 dash-body")
        self.skeleton()

    def skeleton(self) -> None:
        self.body.clear()
        with self.body:
            if self.widget.kind == "kpi":
                ui.skeleton(height="2rem", width="60%")
                ui.skeleton(height="0.9rem", width="40%")
            else:
                ui.skeleton(height="100%", width="100%").classes("grow min-h-40")
        self.card.props("data-state=loading")

    async def load(self) -> None:
        view = self.view
        try:
            data = await run.io_bound(view.service.widget, view.ctx, view.dashboard.name,
                                      self.widget.name, view.state)
        except ObjectQLError as exc:
            data = {"kind": self.widget.kind, "error": "failed", "message": exc.message}
        if data is None or self.card.is_deleted:  # shutting down or page gone
            return
        self.show(data)

    def show(self, data: dict[str, Any]) -> None:
        self.data = data
        self.card.props("data-state=ready")
        if data.get("error"):
            self._message("lock" if data["error"] == "no_access" else "error_outline",
                          "No access" if data["error"] == "no_access" else data["message"],
                          "no-access" if data["error"] == "no_access" else "failed")
            return
        kind = self.widget.kind
        if kind == "kpi":
            self._kpi(data)
        elif kind == "chart":
            self._chart(data)
        else:
            self._table(data)

    def _message(self, icon: str, text: str, state: str) -> None:
        self.body.clear()
        self.chart = None
        with self.body, ui.column().classes("w-full grow items-center justify-center gap-1 "
                                            "text-slate-400"):
            ui.icon(icon, size="1.6rem")
            ui.label(text).classes("text-sm").props(f'data-testid="{state}"')

    # -- KPI ------------------------------------------------------------------------------
    def _kpi(self, data: dict[str, Any]) -> None:
        self.body.clear()
        fmt = data.get("format")
        with self.body:
            value = ui.label(format_value(data.get("value"), fmt)).classes(
                "dash-kpi-value cursor-pointer").props(
                f'data-testid="kpi-value" data-value="{data.get("value")}"')
            value.on("click", lambda: self.drill(None))
            value.tooltip(format_value(data.get("value"), fmt, compact=False))
            with ui.row().classes("items-center gap-1 no-wrap text-xs"):
                change = data.get("change")
                if change is not None:
                    good = data.get("better")
                    color = "text-emerald-700 dark:text-emerald-400" if good else \
                        "text-rose-700 dark:text-rose-400"
                    ui.icon("arrow_upward" if change > 0 else "arrow_downward"
                            if change < 0 else "arrow_forward", size="1rem").classes(color)
                    ui.label(f"{abs(change):.1f}%").classes(f"{color} font-medium").props(
                        'data-testid="kpi-change"')
                    ui.label(f"vs {format_value(data.get('previous'), fmt)} before").classes(
                        "text-slate-500 dark:text-slate-400")
                elif "previous" in data:
                    ui.label(f"previous: {format_value(data.get('previous'), fmt)}").classes(
                        "text-slate-500 dark:text-slate-400")
                elif self.widget.name == "pipeline" and data.get("row"):
                    row = data["row"]
                    ui.label(f"{row.get('count', 0)} deals · weighted "
                             f"{format_value(row.get('weighted'), 'currency')}").classes(
                        "text-slate-500 dark:text-slate-400")

    # -- charts ---------------------------------------------------------------------------
    def _chart(self, data: dict[str, Any]) -> None:
        if not data.get("rows"):
            self._message("insights", self.widget.empty or "Nothing to show for these "
                          "filters", "empty")
            return
        built = build_figure(data, self.view.option_colors(self.widget))
        self.points = built.points
        if self.chart is not None and not self.chart.is_deleted:
            self.chart.update_figure(built.figure)
            return
        self.body.clear()
        with self.body:
            self.chart = ui.plotly(built.figure).classes("w-full grow dash-plot")
            self.chart.on("plotly_click", self._clicked)

    def _clicked(self, event: Any) -> None:
        points = (event.args or {}).get("points") or []
        if not points:
            return
        index = points[0].get("customdata")
        if isinstance(index, list):
            index = index[0] if index else None
        if isinstance(index, int) and 0 <= index < len(self.points):
            self.drill(self.points[index])

    # -- tables and lists -----------------------------------------------------------------
    def _table(self, data: dict[str, Any]) -> None:
        self.body.clear()
        self.chart = None
        rows = data.get("rows") or []
        if not rows:
            self._message("inbox", self.widget.empty or "Nothing here yet", "empty")
            return
        columns = data["columns"]
        obj = self.widget.query.object
        grouped = bool(self.widget.query.group_by)
        # A table wider than its card scrolls; keyboard users reach it by Tab (WCAG 2.1.1).
        with self.body, ui.element("div").classes("w-full overflow-auto grow").props(
                f'tabindex=0 role=region aria-label="{self.widget.title or self.widget.name}"'):
            with ui.element("table").classes("dash-table"):
                with ui.element("thead"), ui.element("tr"):
                    for column in columns:
                        numeric = column.get("format") in ("currency", "number", "percent")
                        with ui.element("th").classes("num" if numeric else ""):
                            ui.label(column["label"])
                with ui.element("tbody"):
                    for row in rows:
                        target = None if grouped else f"/o/{obj}/{row.get('id')}"
                        with ui.element("tr").classes("cursor-pointer").props(
                                'data-testid="dash-row"') as tr:
                            for column in columns:
                                self._cell(data, column, row)
                        if target:
                            tr.on("click", lambda t=target: ui.navigate.to(t))
                        else:
                            point = {g: row.get(g) for g in self.widget.query.group_by
                                     if g != self.widget.query.pivot}
                            tr.on("click", lambda p=point: self.drill(p))

    def _cell(self, data: dict[str, Any], column: dict[str, Any], row: dict[str, Any]) -> None:
        field, fmt = column["field"], column.get("format")
        value = row.get(field)
        if field in data.get("labels", {}):
            text = label_of(data, field, value) if value is not None else ""
        elif fmt in ("currency", "number", "percent"):
            text = format_value(value, fmt, compact=False)
        elif fmt in ("date", "datetime") and isinstance(value, str):
            text = value[:10] if fmt == "date" else value[:16].replace("T", " ")
        else:
            text = "" if value is None else str(value)
        numeric = fmt in ("currency", "number", "percent")
        with ui.element("td").classes("num" if numeric else ""):
            ui.label(text)

    # -- actions --------------------------------------------------------------------------
    def drill(self, point: dict[str, Any] | None) -> None:
        if self.widget.drill is None:
            return
        view = self.view
        obj, filters = drill_filters(view.service.ql, view.ctx, self.widget, view.state, point)
        ui.navigate.to(drill_url(obj, filters))

    def download(self) -> None:
        if not self.data or self.data.get("error"):
            ui.notify("Nothing to download yet", type="info")
            return
        buffer = io.StringIO()
        csv.writer(buffer).writerows(csv_rows(self.data, self.widget.title))
        ui.download.content("\ufeff" + buffer.getvalue(),
                            f"{self.view.dashboard.name}-{self.widget.name}.csv",
                            "text/csv")


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
        with ui.row().classes("w-full items-center gap-2 dash-filters"):
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
            if loop.is_closed():  # the page's loop ended without deleting the page
                unsubscribe()
                return
            loop.call_soon_threadsafe(self._schedule, object_name)

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
