"""Would a metadata change lose or corrupt stored data? Checked against the rows.

- A type change must be able to convert every stored value; otherwise it is refused
  with how many values cannot convert and a few of their record ids. When every value
  converts and the column type differs, the column is converted before the version
  becomes live (PostgreSQL: ALTER COLUMN ... TYPE ... USING; SQLite: the old column is
  kept under another name, holding its data, and a new one filled with the values).
- A new unique constraint must hold for the existing rows; otherwise refused with how
  many values repeat and which.
- Removing a picklist option that records still use is refused (their value would no
  longer be valid), naming how many records use it.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.types import TypeEngine

from app.metadata.loader import MetadataProblem
from app.metadata.models import FieldDef, ObjectDef
from app.metadata.registry import Registry
from app.storage.schema import column_type

SAMPLE = 5
NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def table_columns(engine: Engine, table: str) -> set[str]:
    insp = inspect(engine)
    if not insp.has_table(table):
        return set()
    return {c["name"] for c in insp.get_columns(table)}


def _type_key(fd: FieldDef) -> tuple[str, Any]:
    col = column_type(fd)
    return type(col).__name__, getattr(col, "length", None)


def _converts(value: Any, target: FieldDef) -> bool:
    """Can `value` (as stored) become a value of `target`'s column type?"""
    col = column_type(target)
    kind = type(col).__name__
    if kind == "String":
        if isinstance(value, list | dict):
            return False
        return col.length is None or len(str(value)) <= col.length  # type: ignore[attr-defined]
    if kind == "Text":
        return not isinstance(value, list | dict)
    if kind in ("Float", "BigInteger"):
        if isinstance(value, bool):
            return True
        if not (isinstance(value, int | float)
                or (isinstance(value, str) and NUMBER.match(value))):
            return False
        number = float(value)
        return math.isfinite(number) and (kind == "Float" or number.is_integer())
    if kind == "Boolean":
        return value in (0, 1, True, False) or str(value).lower() in ("true", "false", "0", "1")
    if kind in ("Date", "DateTime"):
        if isinstance(value, date | datetime):
            return True
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            return False
        return kind == "DateTime" or parsed.time() == datetime.min.time()
    if kind == "JSON":
        return isinstance(value, list | dict)
    return False


def _problem(file: str, obj: str, field: str, message: str) -> MetadataProblem:
    return MetadataProblem(file, None, obj, field, message)


def _ids(rows: list[Any]) -> str:
    shown = ", ".join(str(r) for r in rows[:SAMPLE])
    return shown + (", ..." if len(rows) > SAMPLE else "")


def data_problems(engine: Engine, old: Registry, new: Registry, file: str,
                  only: set[str] | None = None) -> list[MetadataProblem]:
    """Every change in `new` (against live `old`) that stored rows would not survive;
    `only`: the objects to look at (those a change touched)."""
    problems: list[MetadataProblem] = []
    insp = inspect(engine)
    for obj in new.business_objects:
        if only is not None and obj.name not in only:
            continue
        if not insp.has_table(obj.name):
            continue
        present = {c["name"] for c in insp.get_columns(obj.name)}
        before = old.get(obj.name)
        for name, fd in obj.fields.items():
            if name not in present or fd.type == "formula":
                continue
            previous = before.fields.get(name) if isinstance(before, ObjectDef) else None
            problems += _field_problems(engine, obj, fd, previous, file)
    return problems


def _field_problems(engine: Engine, obj: ObjectDef, fd: FieldDef,
                    previous: FieldDef | None, file: str) -> list[MetadataProblem]:
    problems: list[MetadataProblem] = []
    table = obj.name
    column = f'"{fd.name}"'
    if previous is None or _type_key(previous) != _type_key(fd):
        bad: list[Any] = []
        count = 0
        with engine.connect() as conn:
            rows = conn.execute(text(f'SELECT id, {column} FROM "{table}" '
                                     f"WHERE {column} IS NOT NULL"))
            for record_id, value in rows:
                if not _converts(value, fd):
                    count += 1
                    if len(bad) <= SAMPLE:
                        bad.append(record_id)
        if count:
            was = previous.type if previous else "its stored column"
            problems.append(_problem(file, obj.name, fd.name,
                f"cannot change type from {was} to {fd.type}: {count} stored value(s) "
                f"cannot be converted (records {_ids(bad)})"))
    if fd.type == "select" and fd.options:
        problems += _option_problems(engine, obj, fd, previous, file)
    if fd.unique and (previous is None or previous.unique != fd.unique):
        problems += _unique_problems(engine, obj, fd, file)
    return problems


def _option_problems(engine: Engine, obj: ObjectDef, fd: FieldDef,
                     previous: FieldDef | None, file: str) -> list[MetadataProblem]:
    allowed = set(fd.option_values)
    if previous is not None and previous.type == "select" \
            and set(previous.option_values) <= allowed:
        return []
    with engine.connect() as conn:
        col = text(f'"{fd.name}"')
        rows = conn.execute(select(col, func.count()).select_from(text(f'"{obj.name}"'))
                            .where(text(f'"{fd.name}" IS NOT NULL')).group_by(col)).all()
    unknown = [(value, n) for value, n in rows if str(value) not in allowed]
    if not unknown:
        return []
    total = sum(n for _, n in unknown)
    listed = ", ".join(f"'{v}' ({n})" for v, n in unknown[:SAMPLE])
    return [_problem(file, obj.name, fd.name,
                     f"{total} record(s) hold values that are not among the options: {listed}"
                     "; keep those options or change the records first")]


def _unique_problems(engine: Engine, obj: ObjectDef, fd: FieldDef,
                     file: str) -> list[MetadataProblem]:
    expr = f'lower("{fd.name}")' if fd.unique == "case_insensitive" else f'"{fd.name}"'
    with engine.connect() as conn:
        rows = conn.execute(text(f'SELECT {expr}, COUNT(*) FROM "{obj.name}" '
                                 f'WHERE "{fd.name}" IS NOT NULL GROUP BY {expr} '
                                 f"HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC")).all()
    if not rows:
        return []
    listed = ", ".join(f"'{v}' ({n} records)" for v, n in rows[:SAMPLE])
    more = ", ..." if len(rows) > SAMPLE else ""
    return [_problem(file, obj.name, fd.name,
                     f"cannot make it unique: {len(rows)} value(s) are used by more than one "
                     f"record: {listed}{more}")]


def convert_columns(engine: Engine, old: Registry, new: Registry, number: int,
                    only: set[str] | None = None) -> list[str]:
    """Convert the columns whose type changed (every value was checked to convert)."""
    converted: list[str] = []
    insp = inspect(engine)
    for obj in new.business_objects:
        if only is not None and obj.name not in only:
            continue
        before = old.get(obj.name)
        if not isinstance(before, ObjectDef) or not insp.has_table(obj.name):
            continue
        present = {c["name"] for c in insp.get_columns(obj.name)}
        for name, fd in obj.fields.items():
            previous = before.fields.get(name)
            if previous is None or name not in present or _type_key(previous) == _type_key(fd):
                continue
            _convert(engine, obj.name, name, column_type(fd), number)
            converted.append(f"{obj.name}.{name}")
    return converted


def _convert(engine: Engine, table: str, name: str, new_type: TypeEngine, number: int) -> None:
    ddl = new_type.compile(dialect=engine.dialect)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{name}" TYPE {ddl} '
                                 f'USING "{name}"::text::{ddl}')
            return
        # SQLite cannot change a column's type: keep the old column (and its data) under
        # another name and fill a new one. Indexes on it are derived: dropped here,
        # rebuilt by the schema sync that follows.
        for (index,) in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql LIKE ?", (table, f'%"{name}"%')).all():
            conn.exec_driver_sql(f'DROP INDEX "{index}"')
        kept = f"{name}__before_v{number}"
        conn.exec_driver_sql(f'ALTER TABLE "{table}" RENAME COLUMN "{name}" TO "{kept}"')
        conn.exec_driver_sql(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {ddl}')
        affinity = {"Float": "REAL", "BigInteger": "INTEGER", "Boolean": "INTEGER"}.get(
            type(new_type).__name__, "TEXT")
        conn.exec_driver_sql(f'UPDATE "{table}" SET "{name}" = CAST("{kept}" AS {affinity})')
