"""Rollups at run time: kept exact by the write path, read by `ObjectQL.aggregate`.

Maintenance: every insert, update, delete and bulk insert of an object with rollups adds
its row's contribution to its group (and takes the old one away from the old group) with
an upsert, in the save's own transaction — so a rollup is never ahead of or behind the
records, a failed save leaves it untouched, and there is no other way in (triggers,
imports, Convert all write through the pipeline).

A dimension reached through a lookup (`account.industry`) is read from the looked-up
record at save time; when that record changes the field (an account changes industry),
`follow` moves every row that looks it up from the old value's groups to the new one's,
in the same transaction.

Reading: an aggregate whose filters, groups and aggregates the rollup can express — `=`,
`!=`, `in`, `not in` on dimensions, a date range on month boundaries, grouping by
dimensions or by month, count/sum/avg — is answered from the rollup with the caller's row
filter applied to the rollup's `owner` column (the same policy code, so the same rows).
Anything else returns None and the caller runs the query on the base table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from app.metadata.models import FieldDef, ObjectDef
from app.objectql.buckets import split_bucket
from app.objectql.context import Context
from app.objectql.errors import QueryError
from app.objectql.query import aggregate_order
from app.storage.rollups import (
    COUNT,
    Reach,
    RollupSpec,
    count_column,
    dim_column,
    sum_column,
)

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


Change = tuple[dict[str, Any] | None, dict[str, Any] | None]
TableOf = Callable[[str], Table]
CHUNK = 500  # ids per IN (...) when reading looked-up records


def _reached_values(conn: Connection, spec: RollupSpec, table_of: TableOf,
                    records: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    """{(reach path, looked-up id): its current value} for the records' lookups."""
    found: dict[tuple[str, str], Any] = {}
    by_lookup: dict[str, list[Reach]] = {}
    for reach in spec.reaches:
        by_lookup.setdefault(reach.lookup, []).append(reach)
    records = list(records)
    for lookup, reaches in by_lookup.items():
        ids = sorted({r[lookup] for r in records if isinstance(r.get(lookup), str)})
        target = table_of(reaches[0].target)
        for start in range(0, len(ids), CHUNK):
            rows = conn.execute(select(target.c.id, *[target.c[r.field] for r in reaches])
                                .where(target.c.id.in_(ids[start:start + CHUNK])))
            for row in rows:
                for n, reach in enumerate(reaches, start=1):
                    found[(reach.path, row[0])] = row[n]
    return found


def _with_reached(spec: RollupSpec, record: dict[str, Any] | None,
                  values: dict[tuple[str, str], Any]) -> dict[str, Any] | None:
    if record is None or not spec.reaches:
        return record
    out = dict(record)
    for reach in spec.reaches:
        out[reach.path] = values.get((reach.path, record.get(reach.lookup) or ""))
    return out


def apply(conn: Connection, spec: RollupSpec, table: Table, changes: Iterable[Change],
          table_of: TableOf | None = None) -> None:
    """Add saved (old → new) record pairs to the rollup; reached dimensions are read from
    the looked-up records as they are now (`table_of` gives their tables)."""
    changes = list(changes)
    if spec.reaches:
        assert table_of is not None, "a rollup with reached dimensions needs their tables"
        values = _reached_values(conn, spec, table_of,
                                 [r for pair in changes for r in pair if r is not None])
        changes = [(_with_reached(spec, old, values), _with_reached(spec, new, values))
                   for old, new in changes]
    _upsert(conn, spec, table, changes)


def follow(conn: Connection, rollups: dict[str, list[tuple[RollupSpec, Table]]],
           table_of: TableOf, target: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    """`target` record `old` → `new` was saved: where a rollup keeps one of its changed
    fields as a reached dimension, the records that look it up move groups."""
    for pairs in rollups.values():
        for spec, table in pairs:
            moved = [r for r in spec.reaches if r.target == target
                     and old.get(r.field) != new.get(r.field)]
            if not moved:
                continue
            base = table_of(spec.object)
            lookups = sorted({r.lookup for r in moved})
            needed = sorted({*(d for d in spec.dims if "." not in d),
                             *([spec.month] if spec.month else []), *spec.measures,
                             *(r.lookup for r in spec.reaches)})
            rows = [dict(r._mapping) for r in conn.execute(
                select(*[base.c[n] for n in needed]).where(
                    or_(*[base.c[lookup] == new["id"] for lookup in lookups])))]
            if not rows:
                continue
            values = _reached_values(conn, spec, table_of, rows)  # now: the new values
            changes: list[Change] = []
            for row in rows:
                after = _with_reached(spec, row, values)
                assert after is not None
                before = dict(after)
                for reach in moved:
                    if row.get(reach.lookup) == new["id"]:
                        before[reach.path] = old.get(reach.field)
                changes.append((before, after))
            _upsert(conn, spec, table, changes)


def _upsert(conn: Connection, spec: RollupSpec, table: Table,
            changes: Iterable[Change]) -> None:
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
    upsert, remove = _statements(conn.dialect.name, spec, table, measures)
    conn.execute(upsert, rows)
    # Groups that reached zero rows go, so the table holds only groups that exist. Only
    # the groups a row left can be empty now: found by their key, not by a scan.
    emptied = [{f"k_{name}": value for name, value in zip(spec.key_columns, key, strict=True)}
               for key, values in found.items() if values[0] < 0]
    if emptied:
        conn.execute(remove, emptied)


_built: dict[tuple[int, str], tuple[Table, Any, Any]] = {}


def _statements(dialect_name: str, spec: RollupSpec, table: Table, measures: list[str]
                ) -> tuple[Any, Any]:
    """The rollup's upsert and empty-group delete, built once per table (building the
    upsert's SET clause cost more than running it)."""
    found = _built.get((id(table), dialect_name))
    if found is not None and found[0] is table:
        return found[1], found[2]
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    upsert = stmt.on_conflict_do_update(
        index_elements=list(spec.key_columns),
        set_={name: table.c[name] + stmt.excluded[name] for name in measures})
    remove = table.delete().where(
        table.c[COUNT] == 0,
        *[table.c[name] == bindparam(f"k_{name}") for name in spec.key_columns])
    if len(_built) > 256:  # metadata reloads make new tables: forget the old ones
        _built.clear()
    _built[(id(table), dialect_name)] = (table, upsert, remove)
    return upsert, remove


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
        fd = fields[path]
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
    stmt = stmt.order_by(*aggregate_order(sort, labels, group_cols)).limit(limit)
    with ql._reading() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]
