"""Rollup tables: sums and counts per (owner, picklist values, month), derived from the
aggregates the dashboards ask for, so a manager's figures over 200k deals read a few
thousand pre-added rows instead of the deals.

Which rollups exist follows from metadata alone. For every aggregate query of every
dashboard (and merged query) whose own fields are all "dimensions" — the owner, picklist
fields, and date fields bucketed by month — the object gets one rollup per date field,
keyed by the union of those dimensions and holding, per group, the row count and, for
each summed or averaged field, the sum and the count of non-empty values. A query that
names anything else (another lookup, an amount threshold, min/max) contributes nothing and
is answered from the base table as before.

The rollup is kept exact by the write path (app/objectql/rollup_upkeep.py), inside the save's
own transaction; this module only says what the tables look like and how to fill one
from its base table.

A picklist reached through a lookup — `account.industry` of an opportunity, what the
dashboards' industry filter and the revenue-by-industry chart name — is a dimension too:
the rollup keeps it as if it were the record's own field (column `account__industry`),
and the write path keeps it so when a deal moves to another account and when the account
itself changes industry. Such a rollup is a table of its own: the figures without the
filter read a table as small as before.

Empty values are stored as '' (dimension columns are the primary key, and NULLs never
collide in a unique key); a month is its 'YYYY-MM' label, the text ObjectQL's month bucket
gives, so grouping by month reads the column as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    MetaData,
    String,
    Table,
    func,
    literal,
    select,
)
from sqlalchemy.engine import Connection

from app.metadata.models import FieldDef, ObjectDef
from app.metadata.registry import Registry
from app.objectql.buckets import bucket_expression, day_number

PREFIX = "rollup_"
COUNT = "n__rows"  # rows in the group
MONTH_TEXT = 7  # 'YYYY-MM'
# Dashboard date placeholders that stand for whole months (custom periods may not: those
# queries then read the records).
MONTHLY = ("$period", "$previous_period", "$last_n_months:")


def sum_column(field: str) -> str:
    return f"s__{field}"


def count_column(field: str) -> str:
    return f"c__{field}"


def dim_column(path: str) -> str:
    """A dimension's column: the field's name, `account__industry` for a reached one."""
    return path.replace(".", "__")


@dataclass(frozen=True)
class Reach:
    """`account.industry`: the picklist `field` of the `target` record `lookup` points to."""

    path: str
    lookup: str
    target: str
    field: str


def reach_of(registry: Registry, obj: ObjectDef, path: str) -> Reach | None:
    """The reach a dotted path stands for, if a rollup can keep it: one lookup (to another
    object) and a picklist there."""
    lookup, dot, name = path.partition(".")
    if not dot or "." in name:
        return None
    fd = obj.field(lookup)
    if fd is None or not fd.is_lookup or not fd.reference_to \
            or fd.reference_to == obj.name or fd.reference_to not in registry:
        return None
    target = registry[fd.reference_to]
    found = target.field(name)
    if found is None or found.name == "owner" or not is_dimension(found):
        return None
    return Reach(path, lookup, target.name, name)


@dataclass(frozen=True)
class RollupSpec:
    object: str
    dims: tuple[str, ...]  # dimension paths, sorted; `owner` always when present
    month: str | None  # the date field kept as its month, if any
    measures: tuple[str, ...]  # fields summed (numbers) or averaged (numbers, dates)
    reaches: tuple[Reach, ...] = ()  # the dims that are fields of looked-up records

    @property
    def table_name(self) -> str:
        """The shape is in the name: a changed rollup is a new table, filled afresh."""
        raw = f"{self.object}|{','.join(self.dims)}|{self.month}|{','.join(self.measures)}"
        digest = hashlib.sha1(raw.encode()).hexdigest()[:10]
        return f"{PREFIX}{self.object}_{self.month or 'all'}_{digest}"[:63]

    @property
    def key_columns(self) -> tuple[str, ...]:
        return (*map(dim_column, self.dims), *([self.month] if self.month else []))


def is_dimension(fd: FieldDef) -> bool:
    """Few distinct values: the owner and picklists (the groups a manager reads)."""
    return fd.name == "owner" or (fd.value_type == "select" and bool(fd.options))


def _conditions(filters: Any) -> Iterable[list[Any]]:
    if isinstance(filters, list) and len(filters) == 3 and isinstance(filters[0], str) \
            and isinstance(filters[1], str) and filters[0].lower() not in ("and", "or"):
        yield filters
    elif isinstance(filters, list):
        for part in filters:
            yield from _conditions(part)


@dataclass
class _Shape:
    dims: set[str]
    month: str | None
    measures: set[str]
    reached: set[str]  # dotted dimensions named in filters or groups
    grouped: bool  # one of them is a group: only a rollup keeping it can answer


def _query_shape(registry: Registry, obj: ObjectDef, query: Any) -> _Shape | None:
    """What a query needs of a rollup, or None if none can serve it. Another dotted filter
    path is allowed: while that dashboard filter is set the query reads the records."""
    dims: set[str] = set()
    months: set[str] = set()
    measures: set[str] = set()
    reached: set[str] = set()
    grouped = False

    def use(path: str, unit: str | None, grouping: bool) -> bool:
        nonlocal grouped
        if "." in path:
            if unit is None and reach_of(registry, obj, path) is not None:
                reached.add(path)
                grouped = grouped or grouping
                return True
            return unit is None and not grouping
        fd = obj.field(path)
        if fd is None:
            return False
        if fd.value_type in ("date", "datetime"):
            if unit not in (None, "month"):
                return False
            months.add(path)
            return True
        if unit is not None or not is_dimension(fd):
            return False
        dims.add(path)
        return True

    for group in query.group_by:
        path, _, unit = group.partition(":")
        if not use(path, unit or None, True):
            return None
    for condition in _conditions(query.filters):
        if not use(condition[0], None, False):
            return None
        fd = obj.field(condition[0])
        if fd is not None and fd.value_type in ("date", "datetime") and not (
                isinstance(condition[2], str) and condition[2].startswith(MONTHLY)):
            return None  # `< $today` and the like never fall on month boundaries
    for fn, path in (tuple(spec) for spec in query.aggregate.values()):
        if fn == "count" and path in ("id", "*"):
            continue
        fd = obj.field(path)
        if fn not in ("count", "sum", "avg") or fd is None or fd.value_type not in (
                "number", "currency", "percent", "date", "datetime"):
            return None
        if fn == "sum" and fd.value_type in ("date", "datetime"):
            return None
        measures.add(path)
    if len(months) > 1:
        return None
    return _Shape(dims, next(iter(months), None), measures, reached, grouped)


@dataclass(frozen=True)
class _CountQuery:
    """A list view's row count, in the shape of a dashboard query."""

    filters: Any
    group_by: tuple[str, ...] = ()
    aggregate: dict[str, Any] = field(default_factory=dict)


def rollup_specs(registry: Registry) -> list[RollupSpec]:
    """The rollups the registry's dashboards ask for: per (object, date field), one without
    reached dimensions and one per set of them — a query filtering by `account.industry`
    is served by the first while the filter is unset, by the second while it is set."""
    Key = tuple[str, str | None, tuple[str, ...]]
    wanted: dict[Key, tuple[set[str], set[str]]] = {}
    for dashboard in getattr(registry, "dashboards", {}).values():
        for widget in dashboard.widgets:
            for query in [widget.query, *(m.query for m in widget.merge)]:
                if not query.is_aggregate or query.object not in registry:
                    continue
                obj = registry[query.object]
                shape = _query_shape(registry, obj, query)
                if shape is None:
                    continue
                dims = set(shape.dims)
                if "owner" in obj.all_fields:
                    dims.add("owner")  # row security filters by owner
                keys: list[tuple[Key, set[str]]] = []
                if not shape.grouped:
                    keys.append(((obj.name, shape.month, ()), dims))
                if shape.reached:
                    keys.append(((obj.name, shape.month, tuple(sorted(shape.reached))),
                                 dims | shape.reached))
                for key, key_dims in keys:
                    have = wanted.setdefault(key, (set(), set()))
                    have[0].update(key_dims)
                    have[1].update(shape.measures)
    # List views count their rows on every page: a view whose filters are all owner and
    # picklist conditions gets its count from a rollup of those dimensions (kept with the
    # dashboards' own when they share a shape) instead of counting up to 10,000 rows.
    for obj in (registry[name] for name in registry):
        if "owner" not in obj.all_fields:
            continue
        for view in obj.list_views.values():
            shape = _query_shape(registry, obj, _CountQuery(view.filters))
            if shape is None or shape.month or shape.reached:
                continue
            have = wanted.setdefault((obj.name, None, ()), (set(), set()))
            have[0].update(shape.dims | {"owner"})
    specs = []
    for (name, month, reached), (dims, measures) in sorted(
            wanted.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", len(kv[0][2]),
                                            kv[0][2])):
        if not dims and not month:
            continue  # a group key is needed to add to
        obj = registry[name]
        reaches = tuple(r for r in (reach_of(registry, obj, p) for p in reached) if r)
        specs.append(RollupSpec(name, tuple(sorted(dims)), month, tuple(sorted(measures)),
                                reaches))
    return specs  # the smaller rollup (no reached dimensions) first: readers try in order


def build_rollup_table(metadata: MetaData, spec: RollupSpec) -> Table:
    columns: list[Column[Any]] = [Column(dim_column(name), String(255), primary_key=True,
                                         nullable=False) for name in spec.dims]
    if spec.month:
        columns.append(Column(spec.month, String(MONTH_TEXT), primary_key=True,
                              nullable=False))
    columns.append(Column(COUNT, BigInteger(), nullable=False))
    for name in spec.measures:
        columns += [Column(sum_column(name), Float(), nullable=False),
                    Column(count_column(name), BigInteger(), nullable=False)]
    return Table(spec.table_name, metadata, *columns)


def rebuild(conn: Connection, spec: RollupSpec, rollup: Table, base: Table,
            obj: ObjectDef, tables: Callable[[str], Table] | None = None) -> None:
    """Fill `rollup` from its base table in one INSERT … SELECT … GROUP BY (at creation,
    when a new dashboard asks for a new shape); `tables` gives the looked-up objects'
    tables for reached dimensions."""
    conn.execute(rollup.delete())
    source: Any = base
    joined: dict[str, Any] = {}
    reached: dict[str, Any] = {}
    for reach in spec.reaches:
        if reach.lookup not in joined:
            assert tables is not None, "a rollup with reached dimensions needs their tables"
            alias = tables(reach.target).alias(f"r_{reach.lookup}")
            source = source.outerjoin(alias, base.c[reach.lookup] == alias.c.id)
            joined[reach.lookup] = alias
        reached[reach.path] = joined[reach.lookup].c[reach.field]
    keys: list[Any] = [func.coalesce(reached[name] if name in reached else base.c[name],
                                     literal("")) for name in spec.dims]
    if spec.month:
        keys.append(func.coalesce(bucket_expression(base.c[spec.month], "month"),
                                  literal("")))
    values: list[Any] = [func.count()]
    for name in spec.measures:
        fd = obj.field(name)
        column = base.c[name]
        summed = day_number(column) if fd and fd.value_type in ("date", "datetime") \
            else column
        values += [func.coalesce(func.sum(summed), 0.0), func.count(column)]
    labelled = [k.label(n) for k, n in zip(keys, spec.key_columns, strict=True)]
    query = select(*labelled, *values).select_from(source)
    if keys:
        query = query.group_by(*keys)
    query = query.having(func.count() > 0)
    conn.execute(rollup.insert().from_select([c.name for c in rollup.columns], query))
