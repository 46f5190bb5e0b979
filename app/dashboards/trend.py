"""A KPI's trend: its value month by month over the last `trend` months of the period
(ending with the period's last month, or this month if the period runs on), drawn as a
sparkline under the figure.

One query per KPI, not one per month: the KPI's own query with its `$period` condition
widened to the months and grouped by that date's month (on the rollups when the KPI's
query is served by one: month-aligned ranges). KPIs reading the same rows (revenue,
average deal, deals won) share it through the request's QueryMemo.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from app.dashboards.filters import FilterState
from app.dashboards.models import WidgetDef
from app.expressions import ExpressionError
from app.objectql.buckets import add_months, bucket_labels
from app.objectql.context import Context
from app.objectql.service import ObjectQL

if TYPE_CHECKING:
    from app.dashboards.compute import QueryMemo

ADDITIVE = ("count", "sum")


def trend_span(months: int | None, state: FilterState) -> tuple[date, date] | None:
    """[first month, month after the last) of a trend of `months` for this state."""
    if not months or state.period is None:
        return None
    this_month = state.today.replace(day=1)
    last_day = state.period.end - timedelta(days=1)
    end = add_months(min(last_day.replace(day=1), this_month), 1)
    return add_months(end, -months), end


def kpi_trend(ql: ObjectQL, ctx: Context, widget: WidgetDef, state: FilterState,
              memo: QueryMemo | None) -> list[dict[str, Any]] | None:
    """[{month: 'YYYY-MM', value}] oldest first, or None when the KPI has no trend."""
    from app.dashboards.compute import run_query  # compute imports this module

    field = widget.query.period_field
    span = trend_span(widget.trend, state)
    if field is None or span is None:
        return None
    start, end = span
    bucket = f"{field}:month"
    filters = [[[field, ">=", start.isoformat()], [field, "<", end.isoformat()]]
               if isinstance(item, list) and item[1:] == ["=", "$period"] and item[0] == field
               else item for item in widget.query.filters]
    query = widget.query.model_copy(update={"filters": filters,
                                            "group_by": [*widget.query.group_by, bucket]})
    rows = {row.get(bucket): row for row in run_query(ql, ctx, query, state, memo=memo)}
    name = widget.value or next(iter(widget.query.aggregate))
    spec = widget.query.aggregate.get(name)
    additive = spec is not None and spec[0] in ADDITIVE
    out = []
    for month in bucket_labels(start, end, "month"):
        row = rows.get(month) or _empty_month(ql, widget)
        for computed, expression in widget.compiled.items():
            try:
                row[computed] = expression.evaluate(row, today=state.today)
            except ExpressionError:
                row[computed] = None
        value = row.get(name)
        if value is None and additive:
            value = 0
        out.append({"month": month, "value": None if value is None else round(float(value), 6)})
    return out


def _empty_month(ql: ObjectQL, widget: WidgetDef) -> dict[str, Any]:
    """A month without rows, as the KPI itself reads an empty period: counts and sums 0
    (pivot columns included), averages empty."""
    from app.dashboards.compute import field_of

    q = widget.query
    empty = {alias: 0 if spec[0] in ADDITIVE else None for alias, spec in q.aggregate.items()}
    if not q.pivot:
        return empty
    fd = field_of(ql, ql.object(q.object), q.pivot)
    return {f"{option.value}_{alias}": value for option in (fd.options if fd else [])
            for alias, value in empty.items()}
