"""Reusable find() statements: built once per query shape, then only parameters bound.

Building a SELECT in Python (resolving paths, the row filter, joins with the target's row
filter, SQLAlchemy's cache key) cost more than PostgreSQL took to run an indexed page. A
*shape* is everything that decides the SQL text: the object, the caller (role, user,
team, system flag: they decide the row filter and the readable fields), the columns,
expand, sort, limit, skip, whether a total is wanted, and the filters with their scalar
values taken out. Two calls of one shape differ only in those values, which the cached
statement takes as named parameters (`s0`, `s1`, ... in the order the compiler meets
them).

Only plain comparisons (`=`, `!=`, `<`, `<=`, `>`, `>=` against a text, number or yes/no
value, or `$user`) are parameters; `$user` binds the caller's id, which the key holds
anyway, so "my records" views — the commonest list of all — reuse their statement. Anything
whose SQL depends on the value — null, lists (`in`, `between`), text patterns, date tokens
like `this_month` (they depend on today), other `$` tokens — makes the call take the
ordinary path, as does a search. The cache lives in ObjectQL's
plan dictionary; a metadata change drops the plans of the objects it changed and of the
objects reaching them through lookups, a permission change drops them all
(apply_registry), and the ObjectDef's identity is part of the key besides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.metadata.models import FieldDef
from app.objectql.compiler import MAX_DEPTH, filter_value, scalar_bound
from app.objectql.dates import is_date_token

SCALAR_OPERATORS = frozenset({"=", "!=", ">", ">=", "<", "<="})


@dataclass(frozen=True)
class FindPlan:
    statement: Any
    count_statement: Any | None
    slots: tuple[tuple[FieldDef, str], ...]
    nested: bool  # rows carry expanded lookups ($lookup$field columns)
    # A search page read from the newest rows only (search_plans.newest_window); when it
    # comes back short, this statement (the whole table) answers instead.
    fallback: Any | None = None


def filter_shape(filters: list[Any], user_id: str | None = None
                 ) -> tuple[tuple[Any, ...], list[Any]] | None:
    """(shape, values) of `filters` when every condition is a plain comparison with a
    scalar value (`$user` standing for `user_id`); None when any part must be compiled
    with its value (or is malformed: the ordinary path reports that)."""
    values: list[Any] = []
    if not filters:
        return (), values
    shape = _shape(filters, values, 0, user_id)
    return None if shape is None else (shape, values)


def _shape(items: list[Any], values: list[Any], depth: int, user_id: str | None) -> Any:
    if depth > MAX_DEPTH:
        return None
    # The same test as the compiler's _is_condition, so both walk the filters alike.
    if len(items) == 3 and isinstance(items[0], str) and isinstance(items[1], str) \
            and items[0].lower() not in ("and", "or"):
        path, operator, value = items
        op = operator.lower().replace("_", " ")
        if op not in SCALAR_OPERATORS or isinstance(value, bool | list | dict) \
                or not isinstance(value, str | int | float):
            return None
        if value == "$user" and user_id:
            # Its own kind in the shape: the first call of the shape is compiled, so
            # `$user` on a field that is not a user lookup is refused there.
            values.append(user_id)
            return ("?", path, op, "$user")
        if isinstance(value, str) and (value.startswith("$") or is_date_token(value)):
            return None
        values.append(value)
        return ("?", path, op, type(value).__name__)
    if not items:
        return None
    parts: list[Any] = []
    for item in items:
        if isinstance(item, str) and item.lower() in ("and", "or"):
            parts.append(item.lower())
        elif isinstance(item, list):
            inner = _shape(item, values, depth + 1, user_id)
            if inner is None:
                return None
            parts.append(inner)
        else:
            return None
    return tuple(parts)


def bind(plan: FindPlan, values: list[Any]) -> dict[str, Any]:
    """The parameters of one call: each value checked and coerced like the compiler does
    (same errors for bad input)."""
    return {f"s{i}": scalar_bound(fd, filter_value(fd, path, value))
            for i, ((fd, path), value) in enumerate(zip(plan.slots, values, strict=True))}
