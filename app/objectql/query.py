"""The ⚑ ObjectQL query format, parsed and checked against metadata before any SQL exists."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.objectql.errors import QueryError
from app.objectql.limits import check_search, structure_problem

__all__ = ["check_search", "parse_expand", "parse_filters_param", "parse_query", "parse_sort"]

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 50
AGG_FUNCTIONS = ("count", "sum", "avg", "min", "max")
_QUERY_KEYS = {"object", "fields", "filters", "sort", "limit", "skip", "expand", "search",
               "view", "group_by", "aggregate"}


@dataclass
class Query:
    object: str
    fields: list[str] | None = None
    filters: list[Any] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int = DEFAULT_LIMIT
    skip: int = 0
    expand: dict[str, list[str] | None] = field(default_factory=dict)
    search: str | None = None


@dataclass
class AggregateQuery:
    object: str
    filters: list[Any] = field(default_factory=list)
    group_by: list[str] = field(default_factory=list)
    aggregate: dict[str, tuple[str, str]] = field(default_factory=dict)
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int = 1000
    search: str | None = None


def parse_sort(sort: Any) -> list[tuple[str, str]]:
    """Accept [["amount", "desc"]], ["-amount", "name"] or "-amount,name"."""
    if sort is None or sort == "":
        return []
    if isinstance(sort, str):
        sort = [s.strip() for s in sort.split(",") if s.strip()]
    if not isinstance(sort, list):
        raise QueryError("sort must be a list such as [[\"amount\", \"desc\"]] or \"-amount\"")
    result: list[tuple[str, str]] = []
    for item in sort:
        if isinstance(item, str):
            result.append((item[1:], "desc") if item.startswith("-") else (item, "asc"))
        elif isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str) \
                and isinstance(item[1], str):
            direction = item[1].lower()
            if direction not in ("asc", "desc"):
                raise QueryError(f"sort direction must be asc or desc, got '{item[1]}'")
            result.append((item[0], direction))
        else:
            raise QueryError(f"malformed sort item {item!r}")
    if len(result) > 5:
        raise QueryError("at most 5 sort fields")
    return result


def _string_list(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise QueryError(f"{what} must be a list of field names")
    if len(value) > 200:
        raise QueryError(f"too many {what}")
    return value


def _int(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise QueryError(f"{what} must be a whole number")
    try:
        number = int(value)
    except ValueError:
        raise QueryError(f"{what} must be a whole number") from None
    if not low <= number <= high:
        raise QueryError(f"{what} must be between {low} and {high}")
    return number


def parse_filters_param(text: str | None) -> list[Any]:
    """`filters` as it arrives in a URL: a JSON list of conditions."""
    if not text:
        return []
    try:
        parsed = json.loads(text)
    except RecursionError:
        raise QueryError("filters nest too deeply") from None
    except ValueError as exc:
        raise QueryError(f"filters is not valid JSON: {exc}") from None
    if not isinstance(parsed, list):
        raise QueryError("filters must be a JSON list of conditions")
    problem = structure_problem(parsed)
    if problem is not None:
        raise QueryError(f"filters: {problem}")
    return parsed


def parse_expand(value: Any) -> dict[str, list[str] | None]:
    if value is None:
        return {}
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return {v: None for v in value}
    if isinstance(value, dict):
        return {str(k): (_string_list(v, "expand fields") if v is not None else None)
                for k, v in value.items()}
    raise QueryError("expand must be a list of lookup fields or {lookup: [fields]}")


def parse_query(data: Any, *, max_limit: int = MAX_LIMIT) -> Query | AggregateQuery:
    """Turn the JSON shape of DESIGN.md into a Query; structural errors are QueryErrors."""
    if not isinstance(data, dict):
        raise QueryError("a query is a JSON object")
    unknown = set(data) - _QUERY_KEYS
    if unknown:
        raise QueryError(f"unknown query key(s): {', '.join(sorted(unknown))}")
    obj = data.get("object")
    if not isinstance(obj, str) or not obj:
        raise QueryError("query needs an 'object'")
    filters = data.get("filters") or []
    if not isinstance(filters, list):
        raise QueryError("filters must be a list")
    search = data.get("search")
    check_search(search)
    view = data.get("view")
    if view is not None and not isinstance(view, str):
        raise QueryError("view must be the name of a list view")
    if "aggregate" in data or "group_by" in data:
        aggregate = data.get("aggregate") or {}
        if not isinstance(aggregate, dict):
            raise QueryError("aggregate must map names to [function, field]")
        parsed_agg: dict[str, tuple[str, str]] = {}
        for alias, spec in aggregate.items():
            if not (isinstance(spec, list | tuple) and len(spec) == 2
                    and all(isinstance(s, str) for s in spec)):
                raise QueryError(f"aggregate '{alias}' must be [function, field]")
            if spec[0] not in AGG_FUNCTIONS:
                raise QueryError(f"unknown aggregate function '{spec[0]}'; expected one of "
                                 f"{', '.join(AGG_FUNCTIONS)}")
            parsed_agg[str(alias)] = (spec[0], spec[1])
        return AggregateQuery(
            object=obj, filters=filters,
            group_by=_string_list(data.get("group_by") or [], "group_by"),
            aggregate=parsed_agg, sort=parse_sort(data.get("sort")),
            limit=_int(data.get("limit", 1000), "limit", 1, max(max_limit, 1000)),
            search=search)
    fields = data.get("fields")
    return Query(
        object=obj,
        fields=_string_list(fields, "fields") if fields is not None else None,
        filters=filters,
        sort=parse_sort(data.get("sort")),
        limit=_int(data.get("limit", DEFAULT_LIMIT), "limit", 1, max_limit),
        skip=_int(data.get("skip", 0), "skip", 0, 10_000_000),
        expand=parse_expand(data.get("expand")),
        search=search,
    )


def aggregate_order(sort: Any, labels: dict[str, Any], group_cols: list[Any]) -> list[Any]:
    """ORDER BY of an aggregate: only its own columns; empty values sort like find() (first
    ascending, last descending, on every backend); by the groups when no sort is given."""
    order = []
    for name, direction in parse_sort(sort):
        if name not in labels:
            raise QueryError(f"aggregate results can only be sorted by "
                             f"{', '.join(labels)}, not '{name}'")
        order.append(labels[name].desc().nulls_last() if direction == "desc"
                     else labels[name].asc().nulls_first())
    return order or [c.asc() for c in group_cols]
