"""Plotly figures (plain dicts for `ui.plotly`) from dashboard widget data, and the value
formats of KPI cards. Pure functions: tested without a browser.

Each plotted point carries `customdata` = its index into `points`, the group values the
page turns into a drill-down filter when the point is clicked. Backgrounds are
transparent and text colours come from CSS (`charts.css`), so one figure follows the
light and dark theme without being rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.api.routes_export import guard

BRAND = "#4f46e5"
PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6",
           "#f97316", "#64748b", "#ec4899", "#84cc16", "#06b6d4"]
# Picklist option colours (metadata names) as the brand's tones.
NAMED = {"grey": "#94a3b8", "gray": "#94a3b8", "blue": "#3b82f6", "indigo": "#6366f1",
         "purple": "#8b5cf6", "orange": "#f97316", "green": "#10b981", "red": "#ef4444",
         "teal": "#14b8a6", "amber": "#f59e0b", "pink": "#ec4899", "yellow": "#eab308"}
EMPTY_LABEL = "(none)"


@dataclass
class Figure:
    figure: dict[str, Any]
    points: list[dict[str, Any]] = field(default_factory=list)


def format_value(value: Any, fmt: str | None, *, compact: bool = True) -> str:
    if value is None:
        return "—"
    if fmt == "percent":
        return f"{value:.1f}%"
    if fmt == "days":
        return f"{value:.0f} days"
    if not isinstance(value, int | float):
        return str(value)
    if fmt == "currency":
        return "$" + (_compact(value) if compact else f"{value:,.0f}")
    if fmt == "number":
        return _compact(value) if compact and abs(value) >= 10_000 else f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"


def _compact(value: float) -> str:
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:,.0f}"


def label_of(data: dict[str, Any], column: str, value: Any) -> str:
    if value is None:
        return EMPTY_LABEL
    if ":" in column and isinstance(value, str):
        return bucket_text(value, column.rsplit(":", 1)[1])
    return str(data.get("labels", {}).get(column, {}).get(value, value))


def bucket_text(label: str, unit: str) -> str:
    """`2026-03` → `Mar 2026`, `2026-Q1` → `Q1 2026`, a day or week → `02 Mar 2026`."""
    try:
        if unit == "month":
            return date.fromisoformat(f"{label}-01").strftime("%b %Y")
        if unit in ("day", "week"):
            return date.fromisoformat(label).strftime("%d %b %Y")
    except ValueError:
        return label
    if unit == "quarter" and "-" in label:
        year, quarter = label.split("-", 1)
        return f"{quarter} {year}"
    return label


def _colors(options: dict[str, str] | None, values: list[Any]) -> list[str]:
    named = options or {}
    return [NAMED.get(named.get(str(v), ""), PALETTE[i % len(PALETTE)])
            for i, v in enumerate(values)]


def _layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8}, "autosize": True,
        "font": {"family": "Inter, ui-sans-serif, system-ui, sans-serif", "size": 12},
        "showlegend": False, "hoverlabel": {"namelength": -1},
        "xaxis": {"automargin": True, "fixedrange": True},
        "yaxis": {"automargin": True, "fixedrange": True},
    }
    layout.update(extra)
    return layout


CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": "hover",
          "modeBarButtonsToRemove": ["zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d",
                                     "zoomOut2d", "autoScale2d", "resetScale2d"],
          "toImageButtonOptions": {"format": "png", "scale": 2}}


def build_figure(data: dict[str, Any], option_colors: dict[str, dict[str, str]] | None = None
                 ) -> Figure:
    """The Plotly figure of one chart widget's data."""
    kind, x, ys = data["chart"], data["x"], data["y"]
    rows: list[dict[str, Any]] = data["rows"]
    categories: list[Any] = data["categories"]
    fmt = data.get("format")
    colors_by_value = (option_colors or {}).get(x)
    hover_fmt = "$,.0f" if data.get("y_format") == "currency" or fmt == "currency" else ",.0f"
    if data.get("series"):
        return _stacked(data, option_colors or {}, hover_fmt)
    by_x = {r.get(x): r for r in rows}
    points = [{x: c} for c in categories]
    labels = [label_of(data, x, c) for c in categories]
    y = ys[0]
    values = [by_x.get(c, {}).get(y) or 0 for c in categories]
    index = list(range(len(categories)))
    if kind == "funnel":
        text_col = data.get("text")
        texts = [f"{by_x.get(c, {}).get(text_col, 0)} deals" for c in categories] \
            if text_col else None
        trace = {"type": "funnel", "y": labels, "x": values, "customdata": index,
                 "text": texts, "textinfo": "value+text" if texts else "value",
                 "texttemplate": ("%{x:$.3s}" if hover_fmt.startswith("$") else "%{x:.3s}")
                 + ("<br>%{text}" if texts else ""),
                 "marker": {"color": _colors(colors_by_value, categories)},
                 "connector": {"line": {"width": 0}}, "hovertemplate":
                 "%{y}: %{x:" + hover_fmt + "}<extra></extra>"}
        return Figure({"data": [trace], "layout": _layout(
            yaxis={"automargin": True, "fixedrange": True}), "config": CONFIG}, points)
    if kind in ("pie", "donut"):
        trace = {"type": "pie", "labels": labels, "values": values, "customdata": index,
                 "hole": 0.55 if kind == "donut" else 0, "sort": False,
                 "marker": {"colors": _colors(colors_by_value, categories)},
                 "textinfo": "percent", "hovertemplate": "%{label}: %{value:" + hover_fmt +
                 "} (%{percent})<extra></extra>"}
        return Figure({"data": [trace], "layout": _layout(
            showlegend=True, legend={"orientation": "v", "x": 1.02, "y": 0.5}),
            "config": CONFIG}, points)
    if kind == "treemap":
        trace = {"type": "treemap", "labels": labels, "parents": [""] * len(labels),
                 "values": values, "customdata": index, "textinfo": "label+value",
                 "marker": {"colors": _colors(colors_by_value, categories)}}
        return Figure({"data": [trace], "layout": _layout(), "config": CONFIG}, points)
    traces = []
    for n, column in enumerate(ys):
        series_values = [by_x.get(c, {}).get(column) or 0 for c in categories]
        trace = {"x": labels, "y": series_values, "customdata": index, "name": column,
                 "hovertemplate": "%{x}: %{y:" + hover_fmt + "}<extra></extra>"}
        if kind in ("line", "area"):
            trace.update(type="scatter", mode="lines+markers",
                         line={"color": PALETTE[n], "width": 2.5})
            if kind == "area":
                trace["fill"] = "tozeroy"
        else:
            trace.update(type="bar", marker={"color": _colors(colors_by_value, categories)
                                              if len(ys) == 1 and colors_by_value
                                              else PALETTE[n]})
        traces.append(trace)
    return Figure({"data": traces, "layout": _layout(
        bargap=0.25, showlegend=len(ys) > 1, xaxis={"automargin": True, "fixedrange": True,
                                                    "type": "category"},
        yaxis=_value_axis(hover_fmt, [v for t in traces for v in t["y"]])),
        "config": CONFIG}, points)


def _value_axis(hover_fmt: str, values: list[Any]) -> dict[str, Any]:
    axis: dict[str, Any] = {"automargin": True, "fixedrange": True,
                            "gridcolor": "rgba(148,163,184,0.25)", "rangemode": "tozero"}
    if hover_fmt.startswith("$"):
        axis["tickformat"] = "$~s"
    else:  # counts: whole ticks only, never "500m" deals
        top = max([v for v in values if isinstance(v, int | float)] or [1])
        axis.update(tickformat=",d", dtick=max(1, -(-int(top) // 5)))
    return axis


def _stacked(data: dict[str, Any], option_colors: dict[str, dict[str, str]], hover_fmt: str
             ) -> Figure:
    x, series, y = data["x"], data["series"], data["y"][0]
    rows, categories = data["rows"], data["categories"]
    series_values: list[Any] = []
    for row in rows:
        if row.get(series) not in series_values:
            series_values.append(row.get(series))
    order = list(data.get("labels", {}).get(series, {}))
    series_values.sort(key=lambda v: order.index(v) if v in order else len(order))
    colors = option_colors.get(series, {})
    points: list[dict[str, Any]] = []
    traces = []
    for n, value in enumerate(series_values):
        cells = {r.get(x): r.get(y) or 0 for r in rows if r.get(series) == value}
        start = len(points)
        points += [{x: c, series: value} for c in categories]
        traces.append({
            "type": "bar", "name": label_of(data, series, value),
            "x": [label_of(data, x, c) for c in categories],
            "y": [cells.get(c, 0) for c in categories],
            "customdata": list(range(start, len(points))),
            "marker": {"color": NAMED.get(colors.get(str(value), ""), PALETTE[n % 12])},
            "hovertemplate": "%{fullData.name}: %{y:" + hover_fmt + "}<extra></extra>"})
    return Figure({"data": traces, "layout": _layout(
        barmode="stack", bargap=0.3, showlegend=True,
        legend={"orientation": "h", "y": -0.15, "x": 0},
        xaxis={"automargin": True, "fixedrange": True, "type": "category"},
        yaxis=_value_axis(hover_fmt, [v for t in traces for v in t["y"]])),
        "config": CONFIG}, points)


def csv_rows(data: dict[str, Any], title: str) -> list[list[Any]]:
    """A widget's data as a table for its CSV download: a header of column labels, then
    its rows as the API gives them — picklist values and lookups by their labels, numbers
    as plain numbers (no currency sign, no thousands separator: a spreadsheet adds
    those), empty values as empty cells."""
    if data.get("kind") == "kpi":
        header = ["Figure", "Value"]
        row = [guard(title), _plain(data.get("value"))]
        if "previous" in data:
            header += ["Previous period", "Change %"]
            row += [_plain(data.get("previous")), _plain(data.get("change"))]
        return [header, row]
    labels = data.get("labels", {})
    columns = data.get("columns") or [
        {"field": c, "label": c} for c in
        [data["x"], *([data["series"]] if data.get("series") else []), *data["y"]]]

    def cell(field: str, value: Any) -> Any:
        if isinstance(value, str):  # a deal named "=HYPERLINK(…)" stays text, as in exports
            return guard(labels[field].get(value, value) if field in labels else value)
        return _plain(value)

    table: list[list[Any]] = [[c["label"] for c in columns]]
    for row in data.get("rows", []):
        table.append([cell(c["field"], row.get(c["field"])) for c in columns])
    return table


def _plain(value: Any) -> Any:
    """12500.0 as 12500: whole amounts read as they are meant."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def sparkline_svg(values: list[float | None], *, width: int = 96, height: int = 30) -> str:
    """A KPI's trend as a small inline SVG line (empty months leave a gap); colours come
    from CSS (`.dash-spark`), so it follows the theme."""
    known = [v for v in values if v is not None]
    if len(values) < 2 or not known:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = (width - 4) / (len(values) - 1)
    segments: list[list[str]] = [[]]
    last: tuple[float, float] | None = None
    for i, value in enumerate(values):
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        x, y = 2 + i * step, height - 3 - (value - low) / span * (height - 6)
        segments[-1].append(f"{x:.1f},{y:.1f}")
        last = (x, y)
    lines = "".join(f'<polyline points="{" ".join(s)}" />' for s in segments if len(s) > 1)
    dot = f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2.5" />' if last else ""
    return (f'<svg class="dash-spark" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-hidden="true">{lines}{dot}</svg>')
