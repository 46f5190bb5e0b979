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

The rollup is kept exact by the write path (app/objectql/rollups.py), inside the save's
own transaction; this module only says what the tables look like and how to fill one
from its base table.

Empty values are stored as '' (dimension columns are the primary key, and NULLs never
collide in a unique key); a month is its 'YYYY-MM' label, the text ObjectQL's month bucket
gives, so grouping by month reads the column as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class RollupSpec:
    object: str
    dims: tuple[str, ...]  # plain dimension fields, sorted; `owner` always when present
    month: str | None  # the date field kept as its month, if any
    measures: tuple[str, ...]  # fields summed (numbers) or averaged (numbers, dates)

    @property
    def table_name(self) -> str:
        """The shape is in the name: a changed rollup is a new table, filled afresh."""
        raw = f"{self.object}|{','.join(self.dims)}|{self.month}|{','.join(self.measures)}"
        digest = hashlib.sha1(raw.encode()).hexdigest()[:10]
        return f"{PREFIX}{self.object}_{self.month or 'all'}_{digest}"[:63]

    @property
    def key_columns(self) -> tuple[str, ...]:
        return (*self.dims, *([self.month] if self.month else []))


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


def _query_shape(obj: ObjectDef, query: Any) -> tuple[set[str], str | None, set[str]] | None:
    """(dimensions, month field, measures) a query needs, or None if a rollup cannot serve
    it. Dotted filter paths (`account.industry`) are allowed: while such a dashboard
    filter is set the query falls back to the base table."""
    dims: set[str] = set()
    months: set[str] = set()
    measures: set[str] = set()

    def use(path: str, unit: str | None) -> bool:
        if "." in path:
            return unit is None
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
        if "." in path or not use(path, unit or None):
            return None
    for condition in _conditions(query.filters):
        if not use(condition[0], None):
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
    return dims, next(iter(months), None), measures


def rollup_specs(registry: Registry) -> list[RollupSpec]:
    """The rollups the registry's dashboards ask for, one per (object, date field)."""
    wanted: dict[tuple[str, str | None], tuple[set[str], set[str]]] = {}
    for dashboard in getattr(registry, "dashboards", {}).values():
        for widget in dashboard.widgets:
            for query in [widget.query, *(m.query for m in widget.merge)]:
                if not query.is_aggregate or query.object not in registry:
                    continue
                obj = registry[query.object]
                shape = _query_shape(obj, query)
                if shape is None:
                    continue
                dims, month, measures = shape
                if "owner" in obj.all_fields:
                    dims.add("owner")  # row security filters by owner
                have = wanted.setdefault((obj.name, month), (set(), set()))
                have[0].update(dims)
                have[1].update(measures)
    return [RollupSpec(name, tuple(sorted(dims)), month, tuple(sorted(measures)))
            for (name, month), (dims, measures) in sorted(wanted.items(),
                                                          key=lambda kv: (kv[0][0],
                                                                          kv[0][1] or ""))
            if dims or month]  # a group key is needed to add to


def build_rollup_table(metadata: MetaData, spec: RollupSpec) -> Table:
    columns: list[Column[Any]] = [Column(name, String(255), primary_key=True, nullable=False)
                                  for name in spec.dims]
    if spec.month:
        columns.append(Column(spec.month, String(MONTH_TEXT), primary_key=True,
                              nullable=False))
    columns.append(Column(COUNT, BigInteger(), nullable=False))
    for name in spec.measures:
        columns += [Column(sum_column(name), Float(), nullable=False),
                    Column(count_column(name), BigInteger(), nullable=False)]
    return Table(spec.table_name, metadata, *columns)


def rebuild(conn: Connection, spec: RollupSpec, rollup: Table, base: Table,
            obj: ObjectDef) -> None:
    """Fill `rollup` from its base table in one INSERT … SELECT … GROUP BY (at creation,
    when a new dashboard asks for a new shape)."""
    conn.execute(rollup.delete())
    keys: list[Any] = [func.coalesce(base.c[name], literal("")) for name in spec.dims]
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
    query = select(*labelled, *values)
    if keys:
        query = query.group_by(*keys)
    query = query.having(func.count() > 0)
    conn.execute(rollup.insert().from_select([c.name for c in rollup.columns], query))
