"""PostgreSQL: a new record's rollups upkeep as riders of its INSERT (rollup_upkeep.py
keeps the rollups exact; this is its insert side, folded into the save's statement)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, Table, bindparam, cast, func, literal_column, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from app.objectql.rollup_upkeep import (
    TableOf,
    _adding,
    _day_number,
    _measures,
    _reached_values,
    month_label,
    side_by_side,
)
from app.storage.rollups import COUNT, Reach, RollupSpec, count_column, dim_column, sum_column


class InsertRiders:
    """PostgreSQL: a new record's +1 to each of its object's rollups as statements to run
    as data-modifying CTEs of the record's own INSERT (audit.write_with_entry), and their
    parameters — the record, its audit entry and its rollups in one round trip instead of
    one each. An insert only adds to groups, so no group can empty and no delete has to
    follow. What does not depend on the record (the statements, their parameter names,
    the reaches) is worked out once: the write path keeps one per object definition
    (write_plan.py).

    The rollups share their parameters: a group key column or a measure holds the same
    value of the same record in every rollup that has it (`_key` and `_contribution`
    of one new record), so each is computed and sent once (`_shared_name`) — four
    rollups of a deal took 38 parameters, now 14."""

    def __init__(self, rollups: Iterable[tuple[RollupSpec, Table]]):
        self.rollups = list(rollups)
        self.reaches = tuple(dict.fromkeys(r for spec, _ in self.rollups for r in spec.reaches))
        self.statements = tuple(_rider(spec, table, [*spec.key_columns, *_measures(spec)])
                                for spec, table in self.rollups)
        # Each shared parameter once: (name, the record's field it is made of, how, the
        # reach it keeps or None). How: "dim" (text, '' for null), "month" (its label),
        # "count" (1), "sum" (the value as a number, 0.0 for null), "counted" (1 or 0).
        params: dict[str, tuple[str, str, Reach | None]] = {}
        for spec, _ in self.rollups:
            for dim, through in zip(spec.dims, _dim_reaches(spec), strict=False):
                params.setdefault(_shared_name(spec, dim_column(dim)), (dim, "dim", through))
            if spec.month:
                params.setdefault(_shared_name(spec, spec.month), (spec.month, "month", None))
            params.setdefault(_shared_name(spec, COUNT), ("", "count", None))
            for measure in spec.measures:
                params.setdefault(_shared_name(spec, sum_column(measure)),
                                  (measure, "sum", None))
                params.setdefault(_shared_name(spec, count_column(measure)),
                                  (measure, "counted", None))
        self._params = tuple((name, *how) for name, how in params.items())
        self._folded: dict[tuple[tuple[str, Any], ...], tuple[Any, ...]] = {}

    def __call__(self, conn: Connection, record: dict[str, Any],
                 table_of: TableOf | None = None,
                 known: dict[tuple[str, str], Any] | None = None,
                 checks: dict[str, Any] | None = None
                 ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """`checks`: {lookup field: the CTE of the statement that checks it and reads the
        fields reached through it} (WritePipeline._folded_insert); the rollups take those
        fields from it in the same statement instead of a parameter read before."""
        folded = {lookup: cte for lookup, cte in (checks or {}).items()
                  if any(r.lookup == lookup for r in self.reaches)}
        reaches = [r for r in self.reaches if r.lookup not in folded]
        if reaches:
            values = _reached_values(conn, reaches, _needs(table_of), [record], known)
            record = dict(record)
            for reach in reaches:  # as _with_reached, once for all the rollups
                record[reach.path] = values.get((reach.path, record.get(reach.lookup) or ""))
        params: dict[str, Any] = {}
        for name, field, how, through in self._params:
            # deltas() of one new record: its group's key and its whole contribution.
            if how == "dim":
                if through is None or through.lookup not in folded:
                    value = record.get(field)
                    params[name] = "" if value is None else str(value)
            elif how == "month":
                params[name] = month_label(record.get(field))
            elif how == "count":
                params[name] = 1
            else:
                value = record.get(field)
                if how == "sum":
                    params[name] = 0.0 if value is None else _day_number(value)
                else:
                    params[name] = 0 if value is None else 1
        return (self._statements_with(folded) if folded else self.statements), params

    def _statements_with(self, folded: dict[str, Any]) -> tuple[Any, ...]:
        key = tuple(sorted(folded.items(), key=lambda item: item[0]))
        found = self._folded.get(key)
        if found is None:
            found = tuple(_folded_rider(spec, table, folded) for spec, table in self.rollups)
            if len(self._folded) > 1024:  # one per caller's row filter: bounded
                self._folded.clear()
            self._folded[key] = found
        return found


def _shared_name(spec: RollupSpec, column: str) -> str:
    """An insert rider's parameter for `column` of `spec`'s table, named by what it holds:
    the same name in every rollup means the same value (see InsertRiders)."""
    if column in spec.key_columns:
        return ("rm_" if column == spec.month else "rd_") + column
    return "rs_" + column


def _needs(table_of: TableOf | None) -> TableOf:
    assert table_of is not None, "a rollup with reached dimensions needs their tables"
    return table_of


def _dim_reaches(spec: RollupSpec) -> tuple[Reach | None, ...]:
    """Per key column of `spec`: the reach it keeps, or None (a field of the record)."""
    by_path = {reach.path: reach for reach in spec.reaches}
    return (*(by_path.get(dim) for dim in spec.dims), *([None] if spec.month else []))


def _folded_rider(spec: RollupSpec, table: Table, folded: dict[str, Any]) -> Any:
    """The rider of `spec` whose reached key columns come from the CTEs in `folded` (the
    looked-up record's row, read FOR SHARE by the same statement): `_key`'s '' for null.
    With no row there (the lookup failed its check) it adds nothing; the save then
    fails and rolls back."""
    measures = _measures(spec)
    columns: list[Any] = []
    sources = []
    for name, reach in zip(spec.key_columns, _dim_reaches(spec), strict=True):
        if reach is not None and reach.lookup in folded:
            cte = folded[reach.lookup]
            columns.append(func.coalesce(cast(cte.c[reach.field], String), ""))
            sources.append(cte)
        else:
            columns.append(bindparam(_shared_name(spec, name), type_=table.c[name].type))
    if not sources:
        return _rider(spec, table, [*spec.key_columns, *measures])
    columns += [bindparam(_shared_name(spec, name), type_=table.c[name].type)
                for name in measures]
    rows = select(*columns).select_from(side_by_side(list(dict.fromkeys(sources))))
    stmt = postgresql.insert(table).from_select([*spec.key_columns, *measures], rows)
    return _adding(stmt, spec, table, measures).returning(literal_column("1"))


def _rider(spec: RollupSpec, table: Table, columns: list[str]) -> Any:
    key = id(table)
    found = _riders.get(key)
    if found is not None and found[0] is table:
        return found[1]
    stmt = postgresql.insert(table).values(
        {name: bindparam(_shared_name(spec, name), type_=table.c[name].type)
         for name in columns})
    rider = _adding(stmt, spec, table, [c for c in columns if c not in spec.key_columns]
                    ).returning(literal_column("1"))
    if len(_riders) > 1024:  # metadata reloads make new tables: forget the old ones
        _riders.clear()
    _riders[key] = (table, rider)
    return rider


_riders: dict[int, tuple[Table, Any]] = {}
