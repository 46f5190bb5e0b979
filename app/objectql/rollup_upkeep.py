"""Rollups kept exact by the write path (the reading side is app/objectql/rollups.py).

Every insert, update, delete and bulk insert of an object with rollups adds its row's
contribution to its group (and takes the old one away from the old group) with an upsert,
in the save's own transaction — so a rollup is never ahead of or behind the records, a
failed save leaves it untouched, and there is no other way in (triggers, imports, Convert
all write through the pipeline).

A dimension reached through a lookup (`account.industry`) is read from the looked-up
record at save time; when that record changes the field (an account changes industry),
`follow` moves every row that looks it up from the old value's groups to the new one's,
in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from app.storage.prepared import Prepared
from app.storage.rollups import COUNT, Reach, RollupSpec, count_column, sum_column

EPOCH = date(1970, 1, 1)
Key = tuple[str, ...]


def month_label(value: Any) -> str:
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
    return (*dims, month_label(record.get(spec.month))) if spec.month else dims


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


def reaches_by_lookup(rollups: Iterable[tuple[RollupSpec, Table]]) -> dict[str, list[Reach]]:
    """{lookup field: the reaches through it} over an object's rollups, each once."""
    return _by_lookup(r for spec, _ in rollups for r in spec.reaches)


def _by_lookup(reaches: Iterable[Reach]) -> dict[str, list[Reach]]:
    by_lookup: dict[str, list[Reach]] = {}
    for reach in dict.fromkeys(reaches):
        by_lookup.setdefault(reach.lookup, []).append(reach)
    return by_lookup


def _reached_values(conn: Connection, reaches: Iterable[Reach], table_of: TableOf,
                    records: Iterable[dict[str, Any]],
                    known: dict[tuple[str, str], Any] | None = None
                    ) -> dict[tuple[str, str], Any]:
    """{(reach path, looked-up id): its current value} for the records' lookups: one read
    per lookup, whatever the number of rollups and fields reached through it. `known`
    values (the save's lookup check read them, under the same lock) are not read again."""
    found: dict[tuple[str, str], Any] = dict(known or {})
    records = list(records)
    for lookup, through in _by_lookup(reaches).items():
        ids = sorted({r[lookup] for r in records if isinstance(r.get(lookup), str)
                      and any((reach.path, r[lookup]) not in found for reach in through)})
        target = table_of(through[0].target)
        for start in range(0, len(ids), CHUNK):
            # FOR SHARE (PostgreSQL; SQLite writes one at a time anyway): an account's
            # industry change waits for this save's commit, then `follow` sees this deal
            # and moves it. The lookup's foreign key check and the account save's FOR
            # UPDATE already order the two today; this keeps it so without them.
            rows = conn.execute(select(target.c.id, *[target.c[r.field] for r in through])
                                .where(target.c.id.in_(ids[start:start + CHUNK]))
                                .with_for_update(read=True))
            for row in rows:
                for n, reach in enumerate(through, start=1):
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


def apply_all(conn: Connection, rollups: Iterable[tuple[RollupSpec, Table]],
              changes: Iterable[Change], table_of: TableOf | None = None,
              known: dict[tuple[str, str], Any] | None = None) -> None:
    """Add saved (old → new) record pairs to each of an object's rollups; reached
    dimensions are read from the looked-up records as they are now, once for all the
    rollups (`table_of` gives their tables), unless `known`."""
    rollups, changes = list(rollups), list(changes)
    values = _reached(conn, rollups, changes, table_of, known)
    for spec, table in rollups:
        _upsert(conn, spec, table,
                [(_with_reached(spec, old, values), _with_reached(spec, new, values))
                 for old, new in changes])


def _reached(conn: Connection, rollups: list[tuple[RollupSpec, Table]],
             changes: list[Change], table_of: TableOf | None,
             known: dict[tuple[str, str], Any] | None) -> dict[tuple[str, str], Any]:
    reaches = [reach for spec, _ in rollups for reach in spec.reaches]
    if not reaches:
        return {}
    assert table_of is not None, "a rollup with reached dimensions needs their tables"
    return _reached_values(conn, reaches, table_of,
                           [r for pair in changes for r in pair if r is not None], known)


def side_by_side(froms: list[Any]) -> Any:
    """FROM items of one row each (or none) joined side by side: ON true says so."""
    joined = froms[0]
    for other in froms[1:]:
        joined = joined.join(other, true())
    return joined


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
            values = _reached_values(conn, spec.reaches, table_of, rows)  # the new values
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
    upsert, remove, prepared = _statements(conn.dialect.name, spec, table, _measures(spec))
    rows = _rows(spec, found)
    if len(rows) == 1:  # one group (every insert): run as its SQL (storage/prepared.py)
        prepared.execute(conn, rows[0]).close()
    else:
        conn.execute(upsert, rows)
    # Groups that reached zero rows go, so the table holds only groups that exist. Only
    # the groups a row left can be empty now: found by their key, not by a scan.
    emptied = [{f"k_{name}": value for name, value in zip(spec.key_columns, key, strict=True)}
               for key, values in found.items() if values[0] < 0]
    if emptied:
        conn.execute(remove, emptied)


def _measures(spec: RollupSpec) -> list[str]:
    return [COUNT, *[c for m in spec.measures for c in (sum_column(m), count_column(m))]]


def _rows(spec: RollupSpec, found: dict[Key, list[float]]) -> list[dict[str, Any]]:
    """The upsert's rows: each group's key columns and the measures to add."""
    measures = _measures(spec)
    rows = []
    for key, values in found.items():
        row: dict[str, Any] = dict(zip(spec.key_columns, key, strict=True))
        row.update({name: int(v) if name == COUNT or name.startswith("c__") else v
                    for name, v in zip(measures, values, strict=True)})
        rows.append(row)
    return rows


def _adding(stmt: Any, spec: RollupSpec, table: Table, measures: list[str]) -> Any:
    """`stmt` (an INSERT of group rows) as an upsert that adds the measures to a group
    already there."""
    return stmt.on_conflict_do_update(
        index_elements=list(spec.key_columns),
        set_={name: table.c[name] + stmt.excluded[name] for name in measures})


_built: dict[tuple[int, str], tuple[Table, Any, Any, Prepared]] = {}


def _statements(dialect_name: str, spec: RollupSpec, table: Table, measures: list[str]
                ) -> tuple[Any, Any, Prepared]:
    """The rollup's upsert (also compiled once for one row) and empty-group delete,
    built once per table (building the upsert's SET clause cost more than running it)."""
    found = _built.get((id(table), dialect_name))
    if found is not None and found[0] is table:
        return found[1], found[2], found[3]
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    upsert = _adding(dialect.insert(table), spec, table, measures)
    remove = table.delete().where(
        table.c[COUNT] == 0,
        *[table.c[name] == bindparam(f"k_{name}") for name in spec.key_columns])
    if len(_built) > 256:  # metadata reloads make new tables: forget the old ones
        _built.clear()
    prepared = Prepared(upsert)
    _built[(id(table), dialect_name)] = (table, upsert, remove, prepared)
    return upsert, remove, prepared


def update_riders(conn: Connection, rollups: Iterable[tuple[RollupSpec, Table]],
                  old: dict[str, Any], new: dict[str, Any], guard: Any,
                  table_of: TableOf | None = None,
                  known: dict[tuple[str, str], Any] | None = None
                  ) -> tuple[tuple[Any, ...], dict[str, Any], list[Emptied]]:
    """PostgreSQL: a saved change's rollup upserts as riders of the record's UPDATE (as
    `InsertRiders` does for an insert), each adding its rows only WHERE `guard` (a
    condition true exactly when the UPDATE matches the record: its id and version, read in
    the same snapshot) —
    so a stale version writes no rollup either. Also returns the groups the record left,
    for `remove_emptied` after the statement (a DELETE in the same statement could not see
    the upsert's counts)."""
    rollups = list(rollups)
    values = _reached(conn, rollups, [(old, new)], table_of, known)
    riders, params, emptied = [], {}, []
    for index, (spec, table) in enumerate(rollups):
        found = deltas(spec, [(_with_reached(spec, old, values),
                               _with_reached(spec, new, values))])
        if not found:
            continue
        rows = _rows(spec, found)
        prefix = f"u{index}_"
        riders.append(_guarded_rider(spec, table, prefix, len(rows), guard))
        for n, row in enumerate(rows):
            params.update({f"{prefix}{n}_{name}": value for name, value in row.items()})
        left = [key for key, delta in found.items() if delta[0] < 0]
        if left:
            emptied.append((spec, table, left))
    return tuple(riders), params, emptied


Emptied = tuple[RollupSpec, Table, list[Key]]


def remove_emptied(conn: Connection, emptied: list[Emptied]) -> None:
    """Delete the groups in `emptied` whose row count reached zero: one statement for all
    the rollups (each DELETE a CTE), run after the upserts so it sees their counts."""
    if not emptied:
        return
    shape = tuple((id(table), len(keys)) for _, table, keys in emptied)
    found = _removers.get(shape)
    if found is None or any(a is not b for a, b in zip(found[0], [t for _, t, _ in emptied],
                                                        strict=True)):
        gone = []
        for index, (spec, table, keys) in enumerate(emptied):
            matches = [and_(*[table.c[name] == bindparam(f"d{index}_{n}_{name}",
                                                         type_=table.c[name].type)
                              for name in spec.key_columns]) for n in range(len(keys))]
            gone.append(table.delete().where(table.c[COUNT] == 0, or_(*matches))
                        .returning(literal_column("1")).cte(f"gone_{index}"))
        if len(_removers) > 1024:
            _removers.clear()
        found = ([t for _, t, _ in emptied], select(literal_column("1")).add_cte(*gone))
        _removers[shape] = found
    params = {f"d{index}_{n}_{name}": value
              for index, (spec, _, keys) in enumerate(emptied)
              for n, key in enumerate(keys)
              for name, value in zip(spec.key_columns, key, strict=True)}
    conn.execute(found[1], params)


_removers: dict[tuple[tuple[int, int], ...], tuple[list[Table], Any]] = {}


def _guarded_rider(spec: RollupSpec, table: Table, prefix: str, count: int, guard: Any) -> Any:
    """INSERT of `count` group rows (parameters `<prefix><n>_<column>`) WHERE `guard`, as
    an adding upsert; built once per (table, prefix, count, guard)."""
    key = (id(table), prefix, count, id(guard))
    found = _guarded.get(key)
    if found is not None and found[0] is table and found[1] is guard:
        return found[2]
    measures = _measures(spec)
    columns = [*spec.key_columns, *measures]
    rows = [select(*[bindparam(f"{prefix}{n}_{name}", type_=table.c[name].type)
                     for name in columns]).where(guard) for n in range(count)]
    source = rows[0] if count == 1 else union_all(*rows)
    stmt = postgresql.insert(table).from_select(columns, source)
    rider = _adding(stmt, spec, table, measures).returning(literal_column("1"))
    if len(_guarded) > 1024:
        _guarded.clear()
    _guarded[key] = (table, guard, rider)
    return rider


_guarded: dict[tuple[int, str, int, int], tuple[Table, Any, Any]] = {}
