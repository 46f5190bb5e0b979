"""Drill-down: the list view filters of exactly the records behind a dashboard figure —
the widget's own filters with the dashboard's filter values, plus the group values of the
clicked point (a stage, a month, a rep)."""

from __future__ import annotations

from typing import Any

from app.dashboards.filters import FilterState, substitute
from app.dashboards.models import WidgetDef
from app.objectql.buckets import bucket_range, split_bucket
from app.objectql.context import Context
from app.objectql.service import ObjectQL


def drill_filters(ql: ObjectQL, ctx: Context, widget: WidgetDef, state: FilterState,
                  point: dict[str, Any] | None = None) -> tuple[str, list[Any]]:
    """The object and flat filter conditions of the records behind a figure (a KPI, or
    one bar/slice/stage/row given by its group values)."""
    drill = widget.drill
    obj_name = (drill.object if drill and drill.object else None) or widget.query.object
    filters = flatten(substitute(widget.query.filters, ctx, state))
    for group in widget.query.group_by:
        if not point or group not in point or group == widget.query.pivot:
            continue
        field_name, unit = split_bucket(group)
        value = point[group]
        if value is None:
            filters.append([field_name, "=", None])
        elif unit is not None:
            start, end = bucket_range(str(value), unit)
            filters += [[field_name, ">=", start.isoformat()], [field_name, "<", end.isoformat()]]
        else:
            filters.append([field_name, "=", value])
    if drill is not None:
        filters += flatten(substitute(drill.filters, ctx, state))
    return obj_name, filters


def flatten(filters: list[Any]) -> list[Any]:
    """Nested AND groups lifted to one list of conditions (what a list view's URL holds);
    a group with an 'or' stays a group."""
    out: list[Any] = []
    for item in filters:
        if isinstance(item, list) and item and isinstance(item[0], list) \
                and not any(isinstance(p, str) for p in item):
            out += flatten(item)
        else:
            out.append(item)
    return out
