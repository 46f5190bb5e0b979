"""Rollups at run time: kept exact by the write path, read by `ObjectQL.aggregate`.

Maintenance: every insert, update, delete and bulk insert of an object with rollups adds
its row's contribution to its group (and takes the old one away from the old group) with
an upsert, in the save's own transaction — so a rollup is never ahead of or behind the
records, a failed save leaves it untouched, and there is no other way in (triggers,
imports, Convert all write through the pipeline).

Reading: an aggregate whose filters, groups and aggregates the rollup can express — `=`,
`!=`, `in`, `not in` on dimensions, a date range on month boundaries, grouping by
dimensions or by month, count/sum/avg — is answered from the rollup with the caller's row
filter applied to the rollup's `owner` column (the same policy code, so the same rows).
Anything else returns None and the caller runs the query on the base table.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, ColumnElement, Table, and_, case, cast, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from app.metadata.models import ObjectDef
from app.objectql.buckets import split_bucket
from app.objectql.context import Context
from app.objectql.errors import QueryError
from app.objectql.query import aggregate_order
from app.storage.rollups import COUNT, RollupSpec, count_column, sum_column

if TYPE_CHECKING:
    from app.objectql.service import ObjectQL

EPOCH = date(1970, 1, 1)
Key = tuple[str, ...]


# -- maintenance -------------------------------------------------------------------------
def _month(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return f"{value.year:04d}-{value.month:02d}"
    return str(value)[:7]


def _day_number(value: Any) -> float:
    if isinstance(value, datetime):
        return (value - datetime(1970, 1, 1)).total_seconds() / 86400
    if isinstance(value, date):
        return float((value - EPOCH).days)
    return float(value)


def _key(spec: RollupSpec, record: dict[str, Any]) -> Key:
    dims = tuple("" if record.get(d) is None else str(record[d]) for d in spec.dims)
    return (*dims, _month(record.get(spec.month))) if spec.month else dims


def _contribution(spec: RollupSpec, record: dict[str, Any], sign: int) -> list[float]:
    out: list[float] = [sign]
    for name in spec.measures:
        value = record.get(name)
        out += [0.0, 0] if value is None else [sign * _day_number(value), sign]
    return out


def deltas(spec: RollupSpec, changes: Iterable[tuple[dict[str, Any] | None,
                                                     dict[str, Any] | None]]
           ) -> dict[Key, list[float]]:
    """Per group, what (old → new) record pairs add to it; groups netting to nothing are
    left out (an update of the description touches no rollup)."""
    out: dict[Key, list[float]] = {}
    for old, new in changes:
        for record, sign in ((old, -1), (new, 1)):
            if record is None:
                continue
            key = _key(spec, record)
            add = _contribution(spec, record, sign)
            have = out.get(key)
            out[key] = add if have is None else [a + b for a, b in zip(have, add, strict=True)]
    return {k: v for k, v in out.items() if any(v)}


def apply(conn: Connection, spec: RollupSpec, table: Table,
          changes: Iterable[tuple[dict[str, Any] | None, dict[str, Any] | None]]) -> None:
    found = deltas(spec, changes)
    if not found:
        return
    measures = [COUNT, *[c for m in spec.measures for c in (sum_column(m), count_column(m))]]
    rows = []
    for key, values in found.items():
        row: dict[str, Any] = dict(zip(spec.key_columns, key, strict=True))
        row.update({name: int(v) if name == COUNT or name.startswith("c__") else v
                    for name, v in zip(measures, values, strict=True)})
        rows.append(row)
    statements = _statements.get(table)
    if statements is None:  # built once per table: building costs more than running it
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(table)
        upsert = upsert.on_conflict_do_update(
            index_elements=list(spec.key_columns),
            set_={name: table.c[name] + upsert.excluded[name] for name in measures})
        statements = _statements[table] = (upsert, table.delete().where(table.c[COUNT] == 0))
    upsert, drop_empty = statements
    conn.execute(upsert, rows)
    # Groups that reached zero rows go, so the table holds only groups that exist; only a
    # change that took rows out of a group can empty it (never a plain insert).
    if any(values[0] < 0 for values in found.values()):
        conn.execute(drop_empty)


_statements: weakref.WeakKeyDictionary[Table, tuple[Any, Any]] = weakref.WeakKeyDictionary()


# -- reading -----------------------------------------------------------------------------
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
    return _month(value)


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
        return ctx.user_id or ""
    if not isinstance(value, str) or value.startswith("$"):
        raise _Unservable
    return value


def _condition(ctx: Context, spec: RollupSpec, table: Table, obj: ObjectDef,
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
    column = table.c[path]
    fd = obj.field(path)
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


def answer(ql: ObjectQL, ctx: Context, obj: ObjectDef, group_by: list[str],
           aggregate: dict[str, tuple[str, str]], filters: list[Any], sort: Any,
           limit: int) -> list[dict[str, Any]] | None:
    """The aggregate's rows from a rollup, or None when no rollup can give them."""
    candidates = ql.schema.rollups.get(obj.name)
    if not candidates:
        return None
    try:
        conditions = _flat(filters)
    except _Unservable:
        return None
    groups = [split_bucket(g) for g in group_by]
    dates = {p for p, unit in groups if unit is not None} | {
        c[0] for c in conditions if (fd := obj.field(c[0])) is not None
        and fd.value_type in ("date", "datetime")}
    plain = {p for p, unit in groups if unit is None} | {c[0] for c in conditions} - dates
    measured = {path for fn, path in aggregate.values() if path not in ("id", "*")}
    for spec, table in candidates:
        if dates - ({spec.month} if spec.month else set()) or plain - set(spec.dims) \
                or measured - set(spec.measures) \
                or any(unit not in (None, "month") for _, unit in groups):
            continue
        try:
            return _read(ql, ctx, obj, spec, table, group_by, aggregate, conditions, sort,
                         limit)
        except _Unservable:
            return None
    return None


def _read(ql: ObjectQL, ctx: Context, obj: ObjectDef, spec: RollupSpec, table: Table,
          group_by: list[str], aggregate: dict[str, tuple[str, str]],
          conditions: list[list[Any]], sort: Any, limit: int) -> list[dict[str, Any]]:
    # Field rights exactly as the base query checks them: a field the caller may not read
    # is left to the base path, which says so.
    named = [split_bucket(g)[0] for g in group_by] + [c[0] for c in conditions] + [
        p for _, p in aggregate.values() if p not in ("id", "*")]
    for path in named:
        fd = obj.field(path)
        if fd is None or not ql.security.field_readable(ctx, obj, fd):
            raise _Unservable
    try:
        row_filter = ql.security.row_filter(ctx, obj, table)
    except (KeyError, AttributeError):  # a rule on a column the rollup does not keep
        raise _Unservable from None
    where = [_condition(ctx, spec, table, obj, c) for c in conditions]
    if row_filter is not None:
        where.append(row_filter)
    group_cols = [func.nullif(table.c[split_bucket(g)[0]], "").label(g) for g in group_by]
    rows_in = func.sum(table.c[COUNT])
    agg_cols: list[Any] = []
    for alias, (fn, path) in aggregate.items():
        if alias in group_by:
            raise QueryError(f"aggregate name '{alias}' clashes with a group_by field")
        if fn == "count" and path in ("id", "*"):
            agg_cols.append(cast(func.coalesce(rows_in, 0), BigInteger).label(alias))
            continue
        fd = obj.field(path)
        assert fd is not None
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
        stmt = stmt.group_by(*[table.c[split_bucket(g)[0]] for g in group_by]).having(
            rows_in > 0)
    labels = {c.name: c for c in [*group_cols, *agg_cols]}
    stmt = stmt.order_by(*aggregate_order(sort, labels, group_cols)).limit(limit)
    with ql._reading() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]
