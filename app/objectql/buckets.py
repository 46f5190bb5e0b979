"""Date buckets for aggregates: `close_date:month` groups by calendar month.

A bucket is returned as text that sorts in time order and reads well on a chart axis:
day `2026-03-05`, week `2026-03-02` (its Monday, ISO weeks), month `2026-03`,
quarter `2026-Q1`, year `2026`. SQLite and PostgreSQL produce the same text for the
same dates; `bucket_label` is the Python twin (tests, filling empty buckets) and
`bucket_range` turns a label back into the half-open date range behind it (drill-down).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, DateTime, Float, Integer, String, cast, func, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from app import fieldtypes
from app.objectql.errors import QueryError

if TYPE_CHECKING:
    from app.objectql.compiler import SelectBuilder

BUCKETS = ("day", "week", "month", "quarter", "year")
_LABEL = {
    "day": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    "week": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "year": re.compile(r"^(\d{4})$"),
}


def group_column(builder: SelectBuilder, path: str) -> ColumnElement[Any]:
    """The GROUP BY expression for `path`, a field path with an optional `:bucket`."""
    field, unit = split_bucket(path)
    column, fd = builder.resolve(field, "group")
    if unit is None:
        return column
    if not fieldtypes.of(fd).temporal:
        raise QueryError(f"'{path}': date buckets need a date field, '{field}' is "
                         f"{fd.value_type}", [{"field": path, "message": "not a date"}])
    return bucket_expression(column, unit)


def split_bucket(path: str) -> tuple[str, str | None]:
    """`close_date:month` → (`close_date`, `month`); a plain path has no bucket."""
    if ":" not in path:
        return path, None
    field, _, unit = path.partition(":")
    if unit not in BUCKETS:
        raise QueryError(f"unknown date bucket '{unit}' in '{path}'; expected one of "
                         f"{', '.join(BUCKETS)}", [{"field": path, "message": "unknown bucket"}])
    return field, unit


class _Bucket(FunctionElement[str]):
    """`bucket(column, unit)`: compiled per dialect below."""

    type = String()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], unit: str):
        self.unit = unit
        super().__init__(column)


def bucket_expression(column: ColumnElement[Any], unit: str) -> ColumnElement[str]:
    if unit not in BUCKETS:
        raise QueryError(f"unknown date bucket '{unit}'")
    return _Bucket(column, unit)


def _column(element: FunctionElement[Any]) -> Any:
    return next(iter(element.clauses))


def _const(text: str) -> ColumnElement[str]:
    """A fixed format string inlined into the SQL (never user input): PostgreSQL only
    matches a SELECT expression to its GROUP BY when both are textually identical, which
    bound parameters are not."""
    assert "'" not in text
    return literal_column(f"'{text}'", String)


@compiles(_Bucket, "sqlite")
def _sqlite(element: _Bucket, compiler: Any, **kw: Any) -> str:
    col = _column(element)
    expr: Any
    if element.unit == "day":
        expr = func.strftime(_const("%Y-%m-%d"), col)
    elif element.unit == "week":  # 'weekday 0' moves to Sunday (or stays), -6 days: Monday
        expr = func.date(col, _const("weekday 0"), _const("-6 days"))
    elif element.unit == "month":
        expr = func.strftime(_const("%Y-%m"), col)
    elif element.unit == "quarter":
        month = cast(func.strftime(_const("%m"), col), Integer)
        expr = func.strftime(_const("%Y"), col) + _const("-Q") + cast((month + 2) // 3, String)
    else:
        expr = func.strftime(_const("%Y"), col)
    return compiler.process(expr, **kw)


@compiles(_Bucket, "postgresql")
def _postgresql(element: _Bucket, compiler: Any, **kw: Any) -> str:
    col = _column(element)
    pattern = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "quarter": 'YYYY-"Q"Q',
               "year": "YYYY"}
    if element.unit == "week":
        monday = func.date_trunc(_const("week"), cast(col, DateTime))
        expr = func.to_char(monday, _const("YYYY-MM-DD"))
    else:
        expr = func.to_char(col, _const(pattern[element.unit]))
    return compiler.process(expr, **kw)


class _DayNumber(FunctionElement[float]):
    """Days since 1970-01-01 (fractional for datetimes): `avg` of a date field averages
    these, so "average days from created to closed" is avg(close) - avg(created)."""

    type = Float()
    inherit_cache = True


def day_number(column: ColumnElement[Any]) -> ColumnElement[float]:
    return _DayNumber(column)


@compiles(_DayNumber, "sqlite")
def _sqlite_days(element: _DayNumber, compiler: Any, **kw: Any) -> str:
    col = _column(element)
    return compiler.process(func.julianday(col) - 2440587.5, **kw)


@compiles(_DayNumber, "postgresql")
def _postgresql_days(element: _DayNumber, compiler: Any, **kw: Any) -> str:
    col = _column(element)
    expr = cast(func.date_part(_const("epoch"), cast(col, DateTime)), Float) / 86400.0
    return compiler.process(expr, **kw)


def bucket_label(value: date | datetime, unit: str) -> str:
    """The label SQL gives `value` for `unit`."""
    day = value.date() if isinstance(value, datetime) else value
    if unit == "day":
        return day.isoformat()
    if unit == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if unit == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if unit == "quarter":
        return f"{day.year:04d}-Q{(day.month + 2) // 3}"
    if unit == "year":
        return f"{day.year:04d}"
    raise ValueError(f"unknown date bucket '{unit}'")


def bucket_range(label: str, unit: str) -> tuple[date, date]:
    """[start, end) of the dates whose bucket is `label`."""
    match = _LABEL.get(unit, re.compile("$^")).match(label)
    if not match:
        raise ValueError(f"'{label}' is not a {unit} bucket")
    year = int(match.group(1))
    if unit in ("day", "week"):
        start = date(year, int(match.group(2)), int(match.group(3)))
        return start, start + timedelta(days=1 if unit == "day" else 7)
    if unit == "month":
        start = date(year, int(match.group(2)), 1)
        return start, add_months(start, 1)
    if unit == "quarter":
        start = date(year, 3 * (int(match.group(2)) - 1) + 1, 1)
        return start, add_months(start, 3)
    return date(year, 1, 1), date(year + 1, 1, 1)


def bucket_labels(start: date, end: date, unit: str) -> list[str]:
    """Every label from the bucket of `start` up to the one holding the day before `end`."""
    labels: list[str] = []
    current = bucket_range(bucket_label(start, unit), unit)[0]
    while current < end and len(labels) < 10_000:
        labels.append(bucket_label(current, unit))
        current = bucket_range(labels[-1], unit)[1]
    return labels


def add_months(start: date, months: int) -> date:
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)
