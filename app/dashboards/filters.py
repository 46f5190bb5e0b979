"""Dashboard filter state: parsed from URL parameters, checked against the user's rights,
and substituted into widget queries as placeholders (`$period`, `$owner`, `$industry`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from app.dashboards.models import PERIOD_PRESETS, DashboardDef
from app.objectql.buckets import add_months
from app.objectql.context import Context
from app.objectql.errors import QueryError
from app.objectql.service import ObjectQL

PERIOD_LABELS = {"this_month": "This month", "last_month": "Last month",
                 "this_quarter": "This quarter", "last_quarter": "Last quarter",
                 "this_year": "This year", "last_year": "Last year", "custom": "Custom range"}
ALL = "all"
_DROP = object()  # a condition whose filter is unset is left out


@dataclass(frozen=True)
class Period:
    preset: str
    start: date
    end: date  # exclusive

    @property
    def previous(self) -> Period:
        """The period before: the previous month/quarter/year, or a range as long."""
        if self.preset in ("this_month", "last_month"):
            return Period("previous", add_months(self.start, -1), self.start)
        if self.preset in ("this_quarter", "last_quarter"):
            return Period("previous", add_months(self.start, -3), self.start)
        if self.preset in ("this_year", "last_year"):
            return Period("previous", date(self.start.year - 1, 1, 1), self.start)
        return Period("previous", self.start - (self.end - self.start), self.start)

    @property
    def label(self) -> str:
        last = self.end - timedelta(days=1)
        return f"{self.start:%d %b %Y} to {last:%d %b %Y}"


def period_for(preset: str, today: date, start: str | None = None,
               end: str | None = None) -> Period:
    if preset == "custom":
        try:
            first = date.fromisoformat(start or "")
            last = date.fromisoformat(end or "")
        except ValueError:
            raise QueryError("a custom period needs from and to as YYYY-MM-DD",
                             [{"field": "from", "message": "expected YYYY-MM-DD"}]) from None
        if last < first:
            raise QueryError("the period ends before it starts",
                             [{"field": "to", "message": "before from"}])
        if (last - first).days > 366 * 10:
            raise QueryError("a custom period spans at most ten years",
                             [{"field": "to", "message": "too long"}])
        return Period("custom", first, last + timedelta(days=1))
    month = today.replace(day=1)
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    year = date(today.year, 1, 1)
    ranges = {
        "this_month": (month, add_months(month, 1)),
        "last_month": (add_months(month, -1), month),
        "this_quarter": (quarter, add_months(quarter, 3)),
        "last_quarter": (add_months(quarter, -3), quarter),
        "this_year": (year, date(today.year + 1, 1, 1)),
        "last_year": (date(today.year - 1, 1, 1), year),
    }
    if preset not in ranges:
        raise QueryError(f"unknown period '{preset}'; expected one of "
                         f"{', '.join(PERIOD_PRESETS)}",
                         [{"field": "period", "message": "unknown period"}])
    return Period(preset, *ranges[preset])


@dataclass(frozen=True)
class FilterState:
    """The values of one dashboard's filters for one request (hashable: a cache key)."""

    period: Period | None
    owner: str | None  # a user id, or None for everyone the user may see
    selects: tuple[tuple[str, str], ...] = ()
    today: date = field(default_factory=date.today)

    def select(self, name: str) -> str | None:
        return dict(self.selects).get(name)

    def key(self) -> list[Any]:
        p = self.period
        return [p and [p.preset, p.start.isoformat(), p.end.isoformat()], self.owner,
                list(self.selects), self.today.isoformat()]

    def to_params(self) -> dict[str, str]:
        """The URL parameters that give this state back."""
        params: dict[str, str] = {}
        if self.period is not None:
            params["period"] = self.period.preset
            if self.period.preset == "custom":
                params["from"] = self.period.start.isoformat()
                params["to"] = (self.period.end - timedelta(days=1)).isoformat()
        if self.owner:
            params["owner"] = self.owner
        params.update(dict(self.selects))
        return params


def owner_choices(ql: ObjectQL, ctx: Context) -> list[dict[str, str]]:
    """Whom the owner filter may name: yourself and those below you; admins anyone."""
    filters: list[Any] = []
    if not ctx.is_system and ctx.role != "admin":
        filters = [["id", "in", [ctx.user_id, *sorted(ctx.subordinate_ids)]]]
    users = ql.find(ctx.elevated(), "user", fields=["name"], filters=filters,
                    sort=[["name", "asc"]], limit=500).records
    return [{"value": u["id"], "label": u["name"]} for u in users]


def parse_state(ql: ObjectQL, ctx: Context, dashboard: DashboardDef,
                params: dict[str, str]) -> FilterState:
    """Filter values from URL parameters; defaults fill the gaps; bad values are 400s."""
    today = ql.today()
    period: Period | None = None
    owner: str | None = None
    selects: list[tuple[str, str]] = []
    problems: list[dict[str, str]] = []
    for f in dashboard.filters:
        raw = params.get(f.name) or f.default
        if f.type == "period":
            try:
                period = period_for(raw or "this_quarter", today, params.get("from"),
                                    params.get("to"))
            except QueryError as exc:
                problems.extend(exc.details or [{"field": f.name, "message": exc.message}])
        elif f.type == "owner":
            if raw in (None, "", ALL):
                continue
            wanted = ctx.user_id if raw == "me" else raw
            allowed = {c["value"] for c in owner_choices(ql, ctx)}
            if wanted not in allowed:
                problems.append({"field": f.name, "message": "not a user whose records you "
                                 "may see on this dashboard"})
            owner = wanted
        elif raw not in (None, "", ALL):
            values = {o["value"] for o in select_options(ql, dashboard, f.name)}
            if raw not in values:
                problems.append({"field": f.name, "message": f"unknown value '{raw}'"})
            selects.append((f.name, str(raw)))
    if problems:
        raise QueryError("; ".join(f"{p['field']}: {p['message']}" for p in problems),
                         problems)
    return FilterState(period, owner, tuple(selects), today)


def select_options(ql: ObjectQL, dashboard: DashboardDef, name: str) -> list[dict[str, str]]:
    f = dashboard.filter(name)
    if f is None:
        return []
    if f.options:
        return [{"value": o["value"], "label": o.get("label", o["value"])} for o in f.options]
    fd = ql.object(f.object or "").field(f.field or "")
    return [{"value": o.value, "label": o.label} for o in (fd.options if fd else [])]


def trailing_months(token: str, today: date) -> tuple[date, date] | None:
    if not token.startswith("$last_n_months:"):
        return None
    n = int(token.split(":", 1)[1])
    this_month = today.replace(day=1)
    return add_months(this_month, 1 - n), add_months(this_month, 1)


def date_range_of(token: Any, state: FilterState, *, previous: bool = False
                  ) -> tuple[date, date] | None:
    """The [start, end) a date placeholder stands for, or None if it is not one."""
    if not isinstance(token, str):
        return None
    if token in ("$period", "$previous_period") and state.period is not None:
        period = state.period.previous if (previous or token == "$previous_period") \
            else state.period
        return period.start, period.end
    return trailing_months(token, state.today)


def substitute(filters: list[Any], ctx: Context, state: FilterState, *,
               previous: bool = False) -> list[Any]:
    """Widget filters with placeholders replaced by values (or left out when unset)."""
    result = _substitute(filters, ctx, state, previous)
    return [] if result is _DROP else list(result)


def _is_condition(item: Any) -> bool:
    return (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
            and isinstance(item[1], str) and item[0].lower() not in ("and", "or"))


def _substitute(item: Any, ctx: Context, state: FilterState, previous: bool) -> Any:
    if _is_condition(item):
        return _condition(item, ctx, state, previous)
    if not isinstance(item, list):
        return item
    out: list[Any] = []
    for part in item:
        value = _substitute(part, ctx, state, previous)
        if value is _DROP:
            if out and isinstance(out[-1], str):
                out.pop()  # the and/or before a dropped condition goes with it
            continue
        if isinstance(value, str) and not out:
            continue  # and/or at the start after a dropped condition
        out.append(value)
    return out if out else _DROP


def _condition(item: list[Any], ctx: Context, state: FilterState, previous: bool) -> Any:
    path, op, value = item
    span = date_range_of(value, state, previous=previous)
    if span is not None:
        start, end = span
        if op != "=":
            raise QueryError(f"'{path}': a period placeholder needs '='")
        return [[path, ">=", start.isoformat()], [path, "<", end.isoformat()]]
    if not isinstance(value, str) or not value.startswith("$") or value in ("$user",
                                                                          "$today"):
        return item
    if value == "$owner":
        if state.owner is None:
            return _DROP
        return [path, op, [state.owner] if op in ("in", "not in") else state.owner]
    if value in ("$period", "$previous_period"):
        return _DROP  # a dashboard without a period filter
    chosen = state.select(value[1:])
    if chosen is None:
        return _DROP
    return [path, op, [chosen] if op in ("in", "not in") else chosen]

