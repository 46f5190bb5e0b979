"""One dashboard widget on the page: header (title, PNG and CSV downloads), body
(skeleton → KPI figure with its trend | Plotly chart | table | empty | no access), and the
drill-down into the list view behind a figure."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from nicegui import run, ui

from app.dashboards.drill import drill_filters
from app.dashboards.models import WidgetDef
from app.objectql.errors import ObjectQLError
from components.charts import (
    bucket_text,
    build_figure,
    csv_rows,
    format_value,
    label_of,
    sparkline_svg,
)

if TYPE_CHECKING:
    from components.dashboard_view import DashboardView


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
                if widget.kind == "chart":  # the mode bar's camera, reachable by keyboard
                    ui.button(icon="image", on_click=self.download_png).props(
                        'flat round dense size=sm color=grey-7 aria-label="Download PNG" '
                        f'data-testid="png-{widget.name}"').tooltip("Download PNG")
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
            with ui.row().classes("w-full items-end justify-between no-wrap gap-2"):
                value = ui.label(format_value(data.get("value"), fmt)).classes(
                    "dash-kpi-value cursor-pointer shrink-0").props(
                    f'data-testid="kpi-value" data-value="{data.get("value")}"')
                if data.get("trend"):
                    self._trend(data["trend"], fmt)
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

    def _trend(self, trend: list[dict[str, Any]], fmt: str | None) -> None:
        months = ", ".join(f"{bucket_text(p['month'], 'month')}: {format_value(p['value'], fmt)}"
                           for p in trend)
        # Shrinks before the figure does: on a phone two KPI cards share the width.
        ui.html(sparkline_svg([p["value"] for p in trend])).classes("min-w-0 shrink").props(
            f'data-testid="kpi-trend" data-months="{len(trend)}"').tooltip(months)

    # -- charts ---------------------------------------------------------------------------
    def _chart(self, data: dict[str, Any]) -> None:
        if not data.get("rows"):
            self._message("insights", self.widget.empty or "Nothing to show for these "
                          "filters", "empty")
            return
        built = build_figure(data, self.view.option_colors(self.widget))
        # Plotly's own "download plot as PNG" (its mode bar) names the file like the CSV.
        config = built.figure["config"]
        built.figure["config"] = {**config, "toImageButtonOptions": {
            **config["toImageButtonOptions"], "filename": self.file_stem}}
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
        # The byte-order mark makes Excel read the file as UTF-8 (names with accents).
        ui.download.content("\ufeff" + buffer.getvalue(), f"{self.file_stem}.csv",
                            "text/csv; charset=utf-8")

    def download_png(self) -> None:
        """Plotly's own image export, as the mode bar's camera does it."""
        if self.chart is None or self.chart.is_deleted:
            ui.notify("Nothing to download yet", type="info")
            return
        options = json.dumps({"format": "png", "scale": 2, "filename": self.file_stem})
        ui.run_javascript(f"window.Plotly.downloadImage(getHtmlElement({self.chart.id}), "
                          f"{options})")

    @property
    def file_stem(self) -> str:
        return f"{self.view.dashboard.name}-{self.widget.name}"
