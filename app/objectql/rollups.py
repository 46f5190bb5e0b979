"""Rollups at run time, the reading side: `ObjectQL.aggregate` asks here first (the
write path keeps them exact: app/objectql/rollup_upkeep.py).

An aggregate whose filters, groups and aggregates the rollup can express — `=`, `!=`,
`in`, `not in` on dimensions (a picklist reached through a lookup included), a date range
on month boundaries, grouping by dimensions or by month, count/sum/avg — is answered from
the rollup with the caller's row filter applied to the rollup's `owner` column (the same
policy code, so the same rows). Anything else returns None and the caller runs the query
on the base table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    select,
)

from app.metadata.models import FieldDef, ObjectDef
from app.objectql.buckets import split_bucket
from app.objectql.context import Context
from app.objectql.errors import QueryError
from app.objectql.query import aggregate_order
from app.objectql.rollup_upkeep import month_label
from app.storage.rollups import COUNT, RollupSpec, count_column, dim_column, sum_column

if TYPE_CHECKING:
    from app.objectql.service import ObjectQL


class _Unservable(Exception):
    """This aggregate is not one the rollup can answer."""


def _month_bound(value: Any) -> str:
    """'YYYY-MM' of a first-of-month date (or midnight datetime); else unservable."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value \
                else date.fromisoformat(value)
        except ValueError:
            raise _Unservable from None
    if isinstance(value, datetime):
        if (value.hour, value.minute, value.second, value.microsecond) != (0, 0, 0, 0):
            raise _Unservable
        value = value.date()
    if not isinstance(value, date) or value.day != 1:
        raise _Unservable
    return month_label(value)


def _flat(filters: list[Any]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for item in filters:
        if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) \
                and isinstance(item[1], str) and item[0].lower() not in ("and", "or"):
            out.append(item)
        elif isinstance(item, str) and item.lower() == "and":
            continue
        elif isinstance(item, list):
            if any(isinstance(p, str) and p.lower() == "or" for p in item):
                raise _Unservable
            out += _flat(item)
        else:
            raise _Unservable
    return out


def _text(ctx: Context, value: Any) -> str:
    if value == "$user":
        if not ctx.user_id:  # the system context: what "mine" means is the base query's call
            raise _Unservable
        return ctx.user_id
    if not isinstance(value, str) or value.startswith("$"):
        raise _Unservable
    return value


def _condition(ctx: Context, spec: RollupSpec, table: Table, fields: dict[str, FieldDef],
               item: list[Any]) -> ColumnElement[bool]:
    path, op, value = item
    op = op.lower()
    if path == spec.month:
        column = table.c[path]
        if value is None and op in ("=", "!="):
            return column == "" if op == "=" else column != ""
        if op == ">=":
            return and_(column >= _month_bound(value), column != "")
        if op == "<":
            return and_(column < _month_bound(value), column != "")
        raise _Unservable
    if path not in spec.dims:
        raise _Unservable
    column = table.c[dim_column(path)]
    fd = fields[path]
    if fd is not None and fd.options and op in ("=", "!=", "in", "not in"):
        allowed = {o.value for o in fd.options}
        given = value if isinstance(value, list) else [value]
        if any(v is not None and v not in allowed for v in given):
            raise _Unservable  # ObjectQL explains the unknown value
    if value is None and op in ("=", "!="):
        return column == "" if op == "=" else column != ""
    if op == "=":
        return column == _text(ctx, value)
    if op == "!=":  # ObjectQL: different, or empty — '' is a different value here too
        return column != _text(ctx, value)
    if op in ("in", "not in") and isinstance(value, list) and len(value) <= 1000:
        values = [_text(ctx, v) for v in value]
        if not values:
            return literal(op == "not in")
        return column.in_(values) if op == "in" else column.not_in(values)
    raise _Unservable


def _readable_field(ql: ObjectQL, ctx: Context, obj: ObjectDef, spec: RollupSpec,
                    path: str) -> FieldDef:
    """The field at `path`, readable by `ctx` exactly as the base query would check it — a
    field the caller may not read is left to the base path, which says so. A reached
    field also needs every looked-up record visible: the base query joins the lookup
    under the caller's row filter (a hidden account's industry reads as empty), which a
    rollup cannot repeat."""
    fd = obj.field(path)
    if fd is not None:
        if not ql.security.field_readable(ctx, obj, fd):
            raise _Unservable
        return fd
    reach = next((r for r in spec.reaches if r.path == path), None)
    lookup = obj.field(reach.lookup) if reach else None
    if reach is None or lookup is None:
        raise _Unservable
    target = ql.registry[reach.target]
    found = target.field(reach.field)
    if found is None or not ql.security.field_readable(ctx, obj, lookup) \
            or not ql.security.field_readable(ctx, target, found):
        raise _Unservable
    if ql.security.row_filter(ctx, target, ql.schema.table(target.name)) is not None:
        raise _Unservable
    return found


def answer(ql: ObjectQL, ctx: Context, obj: ObjectDef, group_by: list[str],
           aggregate: dict[str, tuple[str, str]], filters: list[Any], sort: Any,
           limit: int, conn: Connection | None = None) -> list[dict[str, Any]] | None:
    """The aggregate's rows from a rollup, or None when no rollup can give them. `conn`:
    the caller's connection, when it holds one (a second checkout per request could wait
    forever on a pool that every request holds one connection of)."""
    stmt = statement(ql, ctx, obj, group_by, aggregate, filters, sort, limit)
    if stmt is None:
        return None
    if conn is not None:
        return [dict(r._mapping) for r in conn.execute(stmt)]
    with ql._reading() as own:
        return [dict(r._mapping) for r in own.execute(stmt)]


def statement(ql: ObjectQL, ctx: Context, obj: ObjectDef, group_by: list[str],
              aggregate: dict[str, tuple[str, str]], filters: list[Any], sort: Any,
              limit: int) -> Select[Any] | None:
    """The statement that reads the aggregate from a rollup (the same object each time
    for the same caller and query), or None when no rollup can give it."""
    candidates = ql.schema.rollups.get(obj.name)
    if not candidates:
        return None
    try:
        conditions = _flat(filters)
    except _Unservable:
        return None
    chosen = _candidate(obj, candidates, group_by, aggregate, conditions)
    if chosen is None:  # decided by the paths alone: nothing is cached per value
        return None
    spec, table = chosen
    # The statement (or "the rollup cannot after all") depends on nothing but the caller
    # and the query: values are concrete by now ($user aside, which is the caller's id).
    # Building it cost more than running it — a list's total asks on every page. Keyed as
    # every plan is (kind, definition, object name: see ObjectQL._remember), and by the
    # rollup table: a dashboard change replaces it, not the object.
    key = ("rollup", id(obj), obj.name, id(table), ctx.role, ctx.is_system, ctx.user_id,
           ctx.subordinate_ids, repr((group_by, aggregate, filters, sort, limit)))
    stmt = ql._plans.get(key, _MISSING)
    if stmt is _MISSING:
        try:
            stmt = _statement(ql, ctx, obj, spec, table, group_by, aggregate, conditions,
                              sort, limit)
        except _Unservable:
            stmt = None
        ql._remember(key, stmt, obj)
    return stmt


_MISSING = object()


def _candidate(obj: ObjectDef, candidates: list[tuple[RollupSpec, Table]],
               group_by: list[str], aggregate: dict[str, tuple[str, str]],
               conditions: list[list[Any]]) -> tuple[RollupSpec, Table] | None:
    """The first rollup whose dimensions, month and measures cover the query's paths."""
    groups = [split_bucket(g) for g in group_by]
    if any(unit not in (None, "month") for _, unit in groups):
        return None
    dates = {p for p, unit in groups if unit is not None} | {
        c[0] for c in conditions if (fd := obj.field(c[0])) is not None
        and fd.value_type in ("date", "datetime")}
    plain = {p for p, unit in groups if unit is None} | {c[0] for c in conditions} - dates
    measured = {path for fn, path in aggregate.values() if path not in ("id", "*")}
    for spec, table in candidates:
        if not (dates - ({spec.month} if spec.month else set()) or plain - set(spec.dims)
                or measured - set(spec.measures)):
            return spec, table
    return None


def _statement(ql: ObjectQL, ctx: Context, obj: ObjectDef, spec: RollupSpec, table: Table,
               group_by: list[str], aggregate: dict[str, tuple[str, str]],
               conditions: list[list[Any]], sort: Any, limit: int) -> Any:
    # Field rights exactly as the base query checks them: a field the caller may not read
    # is left to the base path, which says so.
    named = [split_bucket(g)[0] for g in group_by] + [c[0] for c in conditions] + [
        p for _, p in aggregate.values() if p not in ("id", "*")]
    fields = {path: _readable_field(ql, ctx, obj, spec, path) for path in named}
    try:
        row_filter = ql.security.row_filter(ctx, obj, table)
    except (KeyError, AttributeError):  # a rule on a column the rollup does not keep
        raise _Unservable from None
    where = [_condition(ctx, spec, table, fields, c) for c in conditions]
    if row_filter is not None:
        where.append(row_filter)
    group_cols = [func.nullif(table.c[dim_column(split_bucket(g)[0])], "").label(g)
                  for g in group_by]
    rows_in = func.sum(table.c[COUNT])
    agg_cols: list[Any] = []
    for alias, (fn, path) in aggregate.items():
        if alias in group_by:
            raise QueryError(f"aggregate name '{alias}' clashes with a group_by field")
        if fn == "count" and path in ("id", "*"):
            agg_cols.append(cast(func.coalesce(rows_in, 0), BigInteger).label(alias))
            continue
        fd = fields.get(path)
        if fd is None:  # max(id) and the like: not kept, the base query answers (or refuses)
            raise _Unservable
        if fn in ("sum", "avg") and fd.value_type not in ("number", "currency", "percent") \
                and not (fn == "avg" and fd.value_type in ("date", "datetime")):
            raise _Unservable
        present = func.sum(table.c[count_column(path)])
        total = func.sum(table.c[sum_column(path)])
        if fn == "count":
            agg_cols.append(cast(func.coalesce(present, 0), BigInteger).label(alias))
        elif fn == "sum":
            agg_cols.append(case((present > 0, total), else_=None).label(alias))
        elif fn == "avg":
            agg_cols.append(case((present > 0, total / present), else_=None).label(alias))
        else:
            raise _Unservable
    stmt = select(*group_cols, *agg_cols).select_from(table)
    if where:
        stmt = stmt.where(and_(*where))
    if group_cols:
        stmt = stmt.group_by(*[table.c[dim_column(split_bucket(g)[0])]
                               for g in group_by]).having(
            rows_in > 0)
    labels = {c.name: c for c in [*group_cols, *agg_cols]}
    return stmt.order_by(*aggregate_order(sort, labels, group_cols)).limit(limit)
