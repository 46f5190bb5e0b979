"""Every widget's data through ObjectQL, as the requesting user.

A widget is its query (plus optional merged aggregates), placeholders filled from the
dashboard's filter state, then a small post-step: pivot, compute expressions, order,
limit. Row and field security are ObjectQL's; a widget naming a field or object the user
may not read is answered with `no_access` instead of a figure.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import date, datetime
from typing import Any

from app import fieldtypes
from app.dashboards.filters import FilterState, date_range_of, substitute
from app.dashboards.models import DashboardDef, QueryDef, WidgetDef
from app.dashboards.trend import kpi_trend
from app.expressions import ExpressionError
from app.metadata.models import FieldDef, ObjectDef
from app.objectql.buckets import bucket_labels, split_bucket
from app.objectql.context import Context
from app.objectql.errors import PermissionDenied, QueryError
from app.objectql.service import ObjectQL

NO_ACCESS = {"error": "no_access", "message": "No access"}
ADDITIVE = ("count", "sum")


# -- security ----------------------------------------------------------------------------
def _paths(q: QueryDef) -> list[str]:
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) \
                and isinstance(item[1], str) and item[0].lower() not in ("and", "or"):
            found.append(item[0])
        elif isinstance(item, list):
            for part in item:
                walk(part)

    walk(q.filters)
    found += [split_bucket(g)[0] for g in q.group_by]
    found += [spec[1] for spec in q.aggregate.values() if spec[1] not in ("id", "*")]
    return found + list(q.fields)


def _readable(ql: ObjectQL, ctx: Context, q: QueryDef) -> bool:
    if q.object not in ql.registry or not ql.allowed(ctx, "read", q.object):
        return False
    return all(ql.allowed(ctx, "read", q.object, path) for path in _paths(q))


def widget_readable(ql: ObjectQL, ctx: Context, widget: WidgetDef) -> bool:
    return all(_readable(ql, ctx, q) for q in [widget.query, *(m.query for m in widget.merge)])


# -- running queries ---------------------------------------------------------------------
def field_of(ql: ObjectQL, obj: ObjectDef, path: str) -> FieldDef | None:
    current: ObjectDef | None = obj
    fd = None
    for part in split_bucket(path)[0].split("."):
        if current is None:
            return None
        fd = current.field(part)
        if fd is None:
            return None
        current = ql.registry.get(fd.reference_to or "")
    return fd


class QueryMemo:
    """Queries already run in this request: widgets that read the same rows (revenue,
    average deal, deals won) share one result; a second thread asking for a query being
    computed waits for it instead of running it again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: dict[str, Future[list[dict[str, Any]]]] = {}

    def get(self, key: str, compute: Callable[[], list[dict[str, Any]]]
            ) -> list[dict[str, Any]]:
        with self._lock:
            future = self._results.get(key)
            owner = future is None
            if future is None:
                future = self._results[key] = Future()
        if owner:
            try:
                future.set_result(compute())
            except BaseException as exc:
                future.set_exception(exc)
        return [dict(row) for row in future.result()]  # callers add computed columns


def run_query(ql: ObjectQL, ctx: Context, q: QueryDef, state: FilterState, *,
              previous: bool = False, memo: QueryMemo | None = None) -> list[dict[str, Any]]:
    filters = substitute(q.filters, ctx, state, previous=previous)
    if memo is not None:
        key = json.dumps([q.model_dump(mode="json", exclude={"filters"}), filters],
                         sort_keys=True, default=str)
        return memo.get(key, lambda: _run(ql, ctx, q, filters))
    return _run(ql, ctx, q, filters)


def _run(ql: ObjectQL, ctx: Context, q: QueryDef, filters: list[Any]) -> list[dict[str, Any]]:
    if not q.is_aggregate:
        return ql.find(ctx, q.object, fields=q.fields, filters=filters, sort=q.sort or None,
                       limit=q.limit or 10).records
    aggregate = {alias: (spec[0], spec[1]) for alias, spec in q.aggregate.items()}
    rows = ql.aggregate(ctx, q.object, group_by=q.group_by, aggregate=aggregate or None,
                        filters=filters, sort=q.sort or None, limit=q.limit or 1000)
    return _pivot(ql, q, rows) if q.pivot else rows


def _pivot(ql: ObjectQL, q: QueryDef, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows per the other group fields, with `<pivot value>_<aggregate>` columns."""
    pivot = q.pivot or ""
    keys = [g for g in q.group_by if g != pivot]
    fd = field_of(ql, ql.object(q.object), pivot)
    values = [o.value for o in fd.options] if fd and fd.options else []

    def blank(key: tuple[Any, ...]) -> dict[str, Any]:
        row: dict[str, Any] = dict(zip(keys, key, strict=True))
        for value in values:
            for alias, spec in q.aggregate.items():
                row[f"{value}_{alias}"] = 0 if spec[0] in ADDITIVE else None
        return row

    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    if not keys:
        out[()] = blank(())
    for row in rows:
        key = tuple(row[k] for k in keys)
        target = out.setdefault(key, blank(key))
        for alias in q.aggregate:
            target[f"{row[pivot]}_{alias}"] = row[alias]
    return list(out.values())


def widget_rows(ql: ObjectQL, ctx: Context, widget: WidgetDef, state: FilterState, *,
                previous: bool = False, memo: QueryMemo | None = None
                ) -> list[dict[str, Any]]:
    rows = run_query(ql, ctx, widget.query, state, previous=previous, memo=memo)
    for merge in widget.merge:
        more = run_query(ql, ctx, merge.query, state, previous=previous, memo=memo)
        by = merge.by or [g for g in merge.query.group_by if g in widget.query.group_by]
        index = {tuple(r.get(k) for k in by): r for r in rows}
        extra = [a for a in merge.query.aggregate]
        for row in more:
            key = tuple(row.get(k) for k in by)
            target = index.get(key)
            if target is None:  # e.g. a rep with activities but no closed deal
                target = {k: v for k, v in zip(by, key, strict=True)}
                for alias, spec in widget.query.aggregate.items():
                    target[alias] = 0 if spec[0] in ADDITIVE else None
                _zero_pivots(rows, target)
                rows.append(target)
                index[key] = target
            target.update({a: row[a] for a in extra})
        for row in rows:
            for alias in extra:
                row.setdefault(alias, 0 if merge.query.aggregate[alias][0] in ADDITIVE else None)
    for row in rows:
        for name, expression in widget.compiled.items():
            try:
                row[name] = expression.evaluate(row, today=state.today)
            except ExpressionError:
                row[name] = None
    for name, direction in reversed(_order(widget.order)):
        rows.sort(key=lambda r, n=name: (r.get(n) is None, r.get(n) or 0),  # type: ignore[misc]
                  reverse=direction == "desc")
        if direction == "desc":  # empty values last either way
            rows.sort(key=lambda r, n=name: r.get(n) is None)  # type: ignore[misc]
    return rows[:widget.limit] if widget.limit else rows


def _zero_pivots(rows: list[dict[str, Any]], target: dict[str, Any]) -> None:
    if rows:
        for key, value in rows[0].items():
            if key not in target and isinstance(value, int | float):
                target[key] = 0


def _order(order: list[Any]) -> list[tuple[str, str]]:
    result = []
    for item in order:
        if isinstance(item, list) and len(item) == 2:
            result.append((str(item[0]), str(item[1]).lower()))
        elif isinstance(item, str):
            result.append((item.lstrip("-"), "desc" if item.startswith("-") else "asc"))
    return result


# -- one widget --------------------------------------------------------------------------
def compute_widget(ql: ObjectQL, ctx: Context, dashboard: DashboardDef, widget: WidgetDef,
                   state: FilterState, memo: QueryMemo | None = None) -> dict[str, Any]:
    if not widget_readable(ql, ctx, widget):
        return {"kind": widget.kind, **NO_ACCESS}
    try:
        rows = widget_rows(ql, ctx, widget, state, memo=memo)
        if widget.kind == "kpi":
            return _kpi(ql, ctx, widget, state, rows, memo)
        if widget.kind == "chart":
            return _chart(ql, ctx, widget, state, rows)
        return _table(ql, ctx, widget, rows)
    except PermissionDenied:
        return {"kind": widget.kind, **NO_ACCESS}


def _kpi(ql: ObjectQL, ctx: Context, widget: WidgetDef, state: FilterState,
         rows: list[dict[str, Any]], memo: QueryMemo | None) -> dict[str, Any]:
    name = widget.value or next(iter(widget.query.aggregate))
    row = rows[0] if rows else {}
    spec = widget.query.aggregate.get(name)
    additive = spec is not None and spec[0] in ADDITIVE  # no rows: a sum is 0, not unknown
    value = row.get(name) if row.get(name) is not None or not additive else 0
    result: dict[str, Any] = {"kind": "kpi", "value": _number(value), "format": widget.format,
                              "row": jsonable(row)}
    if widget.compare == "previous_period" and state.period is not None:
        before = widget_rows(ql, ctx, widget, state, previous=True, memo=memo)
        previous = _number(before[0].get(name) if before else None)
        if previous is None and additive:
            previous = 0
        result["previous"] = previous
        result["change"] = _change(_number(value), previous)
        result["better"] = None if result["change"] is None else (
            (result["change"] < 0) if widget.lower_is_better else (result["change"] > 0))
    if widget.trend:
        result["trend"] = kpi_trend(ql, ctx, widget, state, memo)
    return result


def _number(value: Any) -> float | int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return round(float(value), 6)


def _change(value: float | int | None, previous: float | int | None) -> float | None:
    """Growth in percent against the previous period; None when there is no base."""
    if value is None or previous is None or previous == 0:
        return None
    return round((value - previous) / abs(previous) * 100, 2)


def _chart(ql: ObjectQL, ctx: Context, widget: WidgetDef, state: FilterState,
           rows: list[dict[str, Any]]) -> dict[str, Any]:
    assert widget.chart is not None
    chart = widget.chart
    x = chart.x
    obj = ql.object(widget.query.object)
    fd = field_of(ql, obj, x)
    field_name, unit = split_bucket(x)
    if not widget.query.sort and fd is not None and fd.options and unit is None:
        order = {o.value: i for i, o in enumerate(fd.options)}
        rows.sort(key=lambda r: order.get(str(r.get(x)), len(order)))
    categories: list[Any] = []
    seen: set[Any] = set()
    for row in rows:
        if row.get(x) not in seen:
            seen.add(row.get(x))
            categories.append(row.get(x))
    if chart.fill and unit is not None:
        span = _bucket_span(widget, field_name, state)
        if span is not None:
            categories = bucket_labels(span[0], span[1], unit)
    labels = labels_for(ql, ctx, obj, [x, *([chart.series] if chart.series else [])], rows)
    if unit is None:
        labels.setdefault(x, {})
    first = widget.query.aggregate.get(chart.y_list[0]) if chart.y_list else None
    y_format = _format(ql, obj, first[1]) if first and first[0] != "count" else "number"
    return {"kind": "chart", "chart": chart.type, "x": x, "y": chart.y_list, "y_format": y_format,
            "series": chart.series, "text": chart.text, "categories": jsonable(categories),
            "rows": jsonable(rows), "labels": labels, "format": widget.format,
            "columns": _chart_columns(ql, obj, widget, rows)}


def _chart_columns(ql: ObjectQL, obj: ObjectDef, widget: WidgetDef,
                   rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a chart's rows hold, named for people (its CSV download's header): the group
    fields, then every figure — the plotted ones and those beside them (a funnel's deal
    counts)."""
    assert widget.chart is not None
    groups = [widget.chart.x, *([widget.chart.series] if widget.chart.series else [])]
    columns = []
    for path in groups:
        name, unit = split_bucket(path)
        columns.append({"field": path, "label": _label(ql, obj, name)
                        + (f" ({unit})" if unit else ""), "format": None})
    figures = list(dict.fromkeys(k for row in rows for k in row if k not in groups))
    for alias in figures or widget.chart.y_list:
        spec = widget.query.aggregate.get(alias)
        fmt = ("number" if spec[0] == "count" else _format(ql, obj, spec[1])) if spec \
            else widget.format
        columns.append({"field": alias, "label": alias.replace("_", " ").capitalize(),
                        "format": fmt})
    return columns


def _bucket_span(widget: WidgetDef, field_name: str, state: FilterState
                 ) -> tuple[date, date] | None:
    for item in widget.query.filters:
        if isinstance(item, list) and len(item) == 3 and item[0] == field_name:
            span = date_range_of(item[2], state)
            if span is not None:
                return span
    return None


def _table(ql: ObjectQL, ctx: Context, widget: WidgetDef,
           rows: list[dict[str, Any]]) -> dict[str, Any]:
    obj = ql.object(widget.query.object)
    columns: list[dict[str, Any]] = [
        {"field": c.field, "label": c.label or _label(ql, obj, c.field),
         "format": c.format or _format(ql, obj, c.field)} for c in widget.columns] or [
        {"field": f, "label": _label(ql, obj, f), "format": _format(ql, obj, f)}
        for f in widget.query.fields]
    labels = labels_for(ql, ctx, obj, [str(c["field"]) for c in columns], rows)
    return {"kind": widget.kind, "columns": columns, "rows": jsonable(rows), "labels": labels}


def _label(ql: ObjectQL, obj: ObjectDef, path: str) -> str:
    fd = field_of(ql, obj, path)
    if fd is None:
        return path.replace("_", " ").capitalize()
    if "." in path:
        first = obj.field(path.split(".")[0])
        return first.display_label if first else fd.display_label
    return fd.display_label


def _format(ql: ObjectQL, obj: ObjectDef, path: str) -> str | None:
    fd = field_of(ql, obj, path)
    if fd is None:
        return None
    field_type = fieldtypes.of(fd)
    return fd.value_type if field_type.numeric or field_type.temporal else None


def labels_for(ql: ObjectQL, ctx: Context, obj: ObjectDef, paths: list[str],
               rows: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Display labels of picklist values and lookup ids that appear in `rows`."""
    result: dict[str, dict[str, str]] = {}
    for path in paths:
        fd = field_of(ql, obj, path)
        if fd is None:
            continue
        if fd.options:
            result[path] = {o.value: o.label for o in fd.options}
        elif fd.is_lookup and fd.reference_to:
            ids = sorted({r[path] for r in rows if isinstance(r.get(path), str)})
            if not ids:
                continue
            target = ql.object(fd.reference_to)
            try:
                found = ql.find(ctx, target.name, fields=[target.name_field],
                                filters=[["id", "in", ids]], limit=len(ids)).records
            except (PermissionDenied, QueryError):
                found = []
            result[path] = {r["id"]: str(r.get(target.name_field) or "") for r in found}
    return result


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value
