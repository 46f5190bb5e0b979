"""Build SQLAlchemy statements from checked queries: joins for dotted paths, filters, sort.

Every name is resolved against metadata and every value is coerced to its field's
type and bound as a parameter; nothing user-supplied is ever pasted into SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    String,
    and_,
    bindparam,
    cast,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.sql import Select

from app import fieldtypes
from app.metadata.models import OPERATORS, FieldDef, ObjectDef
from app.metadata.registry import Registry
from app.objectql.coerce import FieldError, coerce_value
from app.objectql.context import Context
from app.objectql.dates import date_range, is_date_token
from app.objectql.errors import QueryError
from app.objectql.limits import MAX_JOINS
from app.storage.schema import Schema
from app.storage.search import MIN_TRIGRAM_TERM, fts_query, fts_table_name

RowFilter = Callable[[ObjectDef, FromClause], ColumnElement[bool] | None]
MAX_CONDITIONS = 100
MAX_DEPTH = 8
MAX_JOIN_DEPTH = 3


class SelectBuilder:
    """Resolves paths of one base object and remembers the joins they need."""

    def __init__(self, registry: Registry, schema: Schema, obj: ObjectDef, ctx: Context,
                 today: date, row_filter: RowFilter | None = None,
                 field_check: Callable[[ObjectDef, FieldDef, str], None] | None = None):
        self.registry = registry
        self.schema = schema
        self.obj = obj
        self.ctx = ctx
        self.today = today
        self.base = schema.table(obj.name)
        self.row_filter = row_filter
        self.field_check = field_check
        self._joins: dict[str, tuple[FromClause, ColumnElement[bool]]] = {}
        self._conditions = 0
        # Set to a list to build a reusable statement (see plans.py): each scalar filter
        # value becomes a named parameter s0, s1, ... and its (field, path) is recorded, so
        # the next call of the same shape binds new values without building anything.
        self.slots: list[tuple[FieldDef, str]] | None = None

    # -- paths ---------------------------------------------------------------------------
    def resolve(self, path: str, purpose: str = "read") -> tuple[ColumnElement[Any], FieldDef]:
        if not isinstance(path, str) or not path:
            raise QueryError(f"field names are text, got {path!r}")
        parts = path.split(".")
        if len(parts) > MAX_JOIN_DEPTH + 1:
            raise QueryError(f"'{path}' follows too many lookups (at most {MAX_JOIN_DEPTH})")
        current_obj, prefix = self.obj, ""
        current_table: FromClause = self.base
        for i, part in enumerate(parts):
            fd = current_obj.field(part)
            if fd is None:
                raise QueryError(f"unknown field '{part}' on {current_obj.name}"
                                 + (f" (in '{path}')" if len(parts) > 1 else ""),
                                 [{"field": path, "message": "unknown field"}])
            if self.field_check:
                self.field_check(current_obj, fd, purpose)
            if i == len(parts) - 1:
                return current_table.c[part], fd
            if not fd.is_lookup or not fd.reference_to:
                raise QueryError(f"'{part}' on {current_obj.name} is not a lookup, so "
                                 f"'{path}' cannot follow it")
            prefix = f"{prefix}{part}."
            current_obj = self.registry[fd.reference_to]
            current_table = self._join(prefix, current_table.c[part], current_obj)
        raise QueryError(f"bad field path '{path}'")  # pragma: no cover

    def _join(self, prefix: str, fk_column: ColumnElement[Any], target: ObjectDef) -> FromClause:
        if prefix in self._joins:
            return self._joins[prefix][0]
        if len(self._joins) >= MAX_JOINS:  # SQLite joins at most 64 tables per statement
            raise QueryError(f"a query may follow at most {MAX_JOINS} different lookup "
                             "paths (fields, filters, sort and expand together)")
        alias = self.schema.alias(target.name, f"j{len(self._joins)}")
        condition: ColumnElement[bool] = fk_column == alias.c.id
        if self.row_filter is not None:
            hidden = self.row_filter(target, alias)
            if hidden is not None:
                condition = and_(condition, hidden)
        self._joins[prefix] = (alias, condition)
        return alias

    def from_clause(self) -> FromClause:
        clause: FromClause = self.base
        for alias, condition in self._joins.values():
            clause = clause.outerjoin(alias, condition)
        return clause

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        return stmt.select_from(self.from_clause()) if self._joins else stmt

    # -- filters -------------------------------------------------------------------------
    def where(self, filters: list[Any]) -> ColumnElement[bool] | None:
        if not filters:
            return None
        return self._group(filters, 0)

    def _group(self, items: list[Any], depth: int) -> ColumnElement[bool]:
        if depth > MAX_DEPTH:
            raise QueryError(f"filters nest deeper than {MAX_DEPTH} levels")
        if _is_condition(items):
            return self._condition(items)
        if not items:
            raise QueryError("empty filter group []: give at least one condition")
        or_terms: list[ColumnElement[bool]] = []
        and_terms: list[ColumnElement[bool]] = []
        expect_term = True
        for item in items:
            if isinstance(item, str) and item.lower() in ("and", "or"):
                if expect_term:
                    raise QueryError(f"'{item}' must stand between two conditions")
                if item.lower() == "or":
                    or_terms.append(and_(*and_terms))
                    and_terms = []
                expect_term = True
            elif isinstance(item, list):
                and_terms.append(self._group(item, depth + 1))
                expect_term = False
            else:
                raise QueryError(f"malformed filter item {item!r}: expected [field, operator, "
                                 "value], a nested list, or 'and'/'or'")
        if expect_term:
            raise QueryError("filters cannot end with 'and'/'or'")
        or_terms.append(and_(*and_terms))
        return or_(*or_terms) if len(or_terms) > 1 else or_terms[0]

    def _condition(self, item: list[Any]) -> ColumnElement[bool]:
        self._conditions += 1
        if self._conditions > MAX_CONDITIONS:
            raise QueryError(f"at most {MAX_CONDITIONS} filter conditions")
        path, operator, value = item
        op = operator.lower().replace("_", " ")
        if op not in OPERATORS:
            raise QueryError(f"unknown operator '{operator}'; expected one of "
                             f"{', '.join(OPERATORS)}")
        column, fd = self.resolve(path, "filter")
        return _compile_condition(self, column, fd, path, op, value)

    def value(self, fd: FieldDef, path: str, value: Any) -> Any:
        if value == "$user":
            if fd.value_type not in ("lookup", "master_detail"):
                raise QueryError(f"$user only applies to user lookups, not '{path}'")
            return self.ctx.user_id
        if value == "$today" and fd.value_type in ("date", "datetime"):
            return self.today
        return filter_value(fd, path, value)

    def slot(self, column: ColumnElement[Any], fd: FieldDef, path: str, bound: Any) -> Any:
        """`bound` as is, or as the next named parameter when recording slots."""
        if self.slots is None:
            return bound
        name = f"s{len(self.slots)}"
        self.slots.append((fd, path))
        return bindparam(name, bound, type_=column.type)

    # -- search and sort -----------------------------------------------------------------
    def search_parts(self, text: str) -> tuple[list[FieldDef], list[str]]:
        fields = [f for f in self.obj.searchable_fields if f.value_type not in ("multiselect",)]
        if self.field_check:
            fields = [f for f in fields if _readable(self.field_check, self.obj, f)]
        terms = [t.replace("\x00", "") for t in text.strip().split() if t][:5]
        return fields, [t for t in terms if t]

    def search_probe(self, text: str, cap: int) -> Select[Any] | None:
        """SQLite: how many rows (up to `cap`) the FTS index matches for `text` — a cheap
        read of the index telling a very common term from a rare one. None when the
        search would not use the index."""
        fields, terms = self.search_parts(text)
        indexed = set(self.schema.search.get(self.obj.name, ())) \
            if self.schema.dialect == "sqlite" else set()
        columns = [f.name for f in fields if f.name in indexed]
        long_terms = [t for t in terms if len(t) >= MIN_TRIGRAM_TERM]
        if not columns or not long_terms:
            return None
        fts = fts_table_name(self.obj.name)
        hits = (select(literal_column("rowid")).select_from(table(fts))
                .where(literal_column(f'"{fts}"').op("MATCH")(
                    bindparam(None, fts_query(columns, long_terms), type_=String)))
                .limit(cap).subquery())
        return select(func.count()).select_from(hits)

    def search(self, text: str, *, scan: bool = False) -> ColumnElement[bool]:
        """Every term a case-insensitive substring of some searchable field the user may
        read. On SQLite terms of 3+ characters go to the object's FTS5 trigram table,
        restricted to those readable fields; PostgreSQL serves the LIKE from trigram
        indexes (app/storage/search.py). `scan`: plain LIKE even where an FTS table
        exists — for a very common term read in index order, where the first rows of
        the order already hold the few wanted matches (see ObjectQL.find)."""
        fields, terms = self.search_parts(text)
        if not fields or not terms:
            return true()
        indexed = set(self.schema.search.get(self.obj.name, ())) \
            if self.schema.dialect == "sqlite" and not scan else set()
        fts_columns = [f.name for f in fields if f.name in indexed]
        others = [f for f in fields if f.name not in indexed]
        long_terms = [t for t in terms if len(t) >= MIN_TRIGRAM_TERM] if fts_columns else []
        clauses = []
        if long_terms and not others:  # one MATCH answers every long term
            clauses.append(self._fts_match(fts_columns, long_terms))
        for term in terms:
            if term in long_terms and not others:
                continue
            pattern = f"%{escape_like(term.lower())}%"
            if term in long_terms:
                clauses.append(or_(self._fts_match(fts_columns, [term]),
                                   *[self._like(f.name, pattern) for f in others]))
            else:
                clauses.append(or_(*[self._like(f.name, pattern) for f in fields]))
        return and_(*clauses)

    def _like(self, name: str, pattern: str) -> ColumnElement[bool]:
        return func.lower(self.base.c[name]).like(pattern, escape="\\")

    def _fts_match(self, columns: list[str], terms: list[str]) -> ColumnElement[bool]:
        fts = fts_table_name(self.obj.name)
        matching: Select[Any] = (select(literal_column("rowid")).select_from(table(fts))
                    .where(literal_column(f'"{fts}"').op("MATCH")(
                        bindparam(None, fts_query(columns, terms), type_=String))))
        return literal_column(f'"{self.base.name}".rowid').in_(matching.scalar_subquery())

    def order_by(self, sort: list[tuple[str, str]]) -> list[Any]:
        clauses = []
        for path, direction in sort:
            column, fd = self.resolve(path, "sort")
            if not fieldtypes.of(fd).sortable:
                raise QueryError(f"cannot sort by '{path}' ({fd.value_type})")
            if path == "id":
                # The primary key is never empty, and its index is PostgreSQL's default
                # `ASC NULLS LAST`: spelling NULLS out would not match it in either
                # direction, so "newest first" sorted every match instead of reading the
                # key backwards and stopping after the page.
                clauses.append(column.desc() if direction == "desc" else column.asc())
                continue
            clauses.append(column.desc().nulls_last() if direction == "desc"
                           else column.asc().nulls_first())
        return clauses


def filter_value(fd: FieldDef, path: str, value: Any) -> Any:
    """A filter's value checked and coerced to the field's type (no `$` tokens here)."""
    kind = fd.value_type
    if fd.name == "id" or kind in ("autonumber",):
        if not isinstance(value, str) or "\x00" in value:
            raise QueryError(f"filter on '{path}': expected text")
        return value
    try:
        coerced = coerce_value(fd, value)
    except FieldError as exc:
        raise QueryError(f"filter on '{path}': {exc}",
                         [{"field": path, "message": str(exc)}]) from None
    if coerced is None:
        raise QueryError(f"filter on '{path}': use null to test for emptiness")
    return coerced


def scalar_bound(fd: FieldDef, bound: Any) -> Any:
    """A compared value as the column stores it (a date compared with a datetime column
    is its midnight)."""
    if fd.value_type == "datetime" and isinstance(bound, date) \
            and not isinstance(bound, datetime):
        return datetime(bound.year, bound.month, bound.day)
    return bound


def _readable(check: Callable[[ObjectDef, FieldDef, str], None], obj: ObjectDef,
              fd: FieldDef) -> bool:
    try:
        check(obj, fd, "search")
    except QueryError:
        return False
    return True


def _is_condition(items: list[Any]) -> bool:
    return (len(items) == 3 and isinstance(items[0], str) and isinstance(items[1], str)
            and items[0].lower() not in ("and", "or"))


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _date_bounds(builder: SelectBuilder, fd: FieldDef, value: Any) -> tuple[Any, Any] | None:
    if not fieldtypes.of(fd).temporal:
        return None
    if value == "$today":
        value = "today"
    if not is_date_token(value):
        return None
    start, end = date_range(value, builder.today)
    if fd.value_type == "datetime":
        return (datetime(start.year, start.month, start.day),
                datetime(end.year, end.month, end.day))
    return start, end


def _compile_condition(b: SelectBuilder, column: ColumnElement[Any], fd: FieldDef, path: str,
                       op: str, value: Any) -> ColumnElement[bool]:
    if value is None:
        if op == "=":
            return column.is_(None)
        if op == "!=":
            return column.is_not(None)
        raise QueryError(f"filter on '{path}': null only works with = and !=")
    kind = fd.value_type
    if kind in ("json",) or (kind == "multiselect" and op != "contains"):
        raise QueryError(f"cannot filter '{path}' ({kind}) with '{op}'")
    bounds = _date_bounds(b, fd, value)
    if bounds is not None:
        start, end = bounds
        ranged = {"=": and_(column >= start, column < end),
                  "!=": or_(column < start, column >= end, column.is_(None)),
                  ">": column >= end, ">=": column >= start,
                  "<": column < start, "<=": column < end}
        if op not in ranged:
            raise QueryError(f"filter on '{path}': '{op}' does not take a date token")
        return ranged[op]
    if op in ("in", "not in"):
        if not isinstance(value, list) or len(value) > 1000:
            raise QueryError(f"filter on '{path}': '{op}' needs a list (at most 1000 values)")
        values = [b.value(fd, path, v) for v in value]
        if not values:
            return false() if op == "in" else true()
        clause = column.in_(values)
        return clause if op == "in" else or_(not_(clause), column.is_(None))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise QueryError(f"filter on '{path}': between needs [low, high]")
        low, high = (b.value(fd, path, v) for v in value)
        return column.between(low, high)
    if op in ("contains", "startswith", "endswith"):
        if not isinstance(value, str):
            raise QueryError(f"filter on '{path}': '{op}' needs text")
        if "\x00" in value:
            raise QueryError(f"filter on '{path}': text contains a NUL character")
        if kind == "multiselect":
            return func.lower(cast(column, String)).like(
                f'%"{escape_like(value.lower())}"%', escape="\\")
        if kind not in ("text", "textarea", "email", "url", "phone", "markdown", "autonumber",
                        "select", "lookup", "master_detail"):
            raise QueryError(f"filter on '{path}': '{op}' only works on text fields")
        term = escape_like(value.lower())
        pattern = {"contains": f"%{term}%", "startswith": f"{term}%",
                   "endswith": f"%{term}"}[op]
        return func.lower(column).like(pattern, escape="\\")
    if isinstance(value, list | dict):
        raise QueryError(f"filter on '{path}': '{op}' needs a single value")
    bound = b.slot(column, fd, path, scalar_bound(fd, b.value(fd, path, value)))
    if op == "=":
        return column == bound
    if op == "!=":
        return or_(column != bound, column.is_(None))
    if kind == "boolean":  # SQLAlchemy refuses < > with True/False; say so clearly
        raise QueryError(f"filter on '{path}': '{op}' does not apply to yes/no fields")
    comparisons = {">": column.__gt__, ">=": column.__ge__,
                   "<": column.__lt__, "<=": column.__le__}
    return comparisons[op](bound)
