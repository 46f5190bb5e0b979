"""Limits on what a client may send, checked at the parsing boundary before any work.

Every limit here is documented in docs/limits.md with what a client gets when it crosses
it. The structure walkers are iterative: a hostile document nested 100,000 levels deep
is refused without recursion (Python's own repr, json and our compiler all recurse).
"""

from __future__ import annotations

from typing import Any

from app.objectql.errors import QueryError

MAX_BODY = 1_048_576  # bytes of one request body (REST and forms)
MAX_JSON_DEPTH = 32  # nesting of any JSON document a client sends
MAX_FILTER_DEPTH = 8  # nesting of filter groups (the compiler checks it too)
MAX_CONDITIONS = 100  # filter conditions per query
MAX_IN_VALUES = 1000  # values of one `in` / `not in` list
MAX_IN_VALUES_PER_QUERY = 5000  # values of all `in` lists of one query together
MAX_JOINS = 20  # distinct lookup paths (joins) one query may follow
MAX_SEARCH = 200  # characters of a search term


def has_surrogate(text: str) -> bool:
    """A lone UTF-16 surrogate ("\\ud800" in JSON) cannot be stored or encoded as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def structure_problem(value: Any, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why `value` (parsed JSON) is unacceptable, or None: too deep, or text (values or
    keys) with a lone surrogate. Iterative, so any depth is safe to check."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if has_surrogate(item):
                return "text contains an unpaired UTF-16 surrogate"
        elif isinstance(item, list | tuple | dict):
            if depth > max_depth:
                return f"nested deeper than {max_depth} levels"
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and has_surrogate(key):
                        return "a key contains an unpaired UTF-16 surrogate"
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


def check_text(text: Any, what: str) -> None:
    if isinstance(text, str) and has_surrogate(text):
        raise QueryError(f"{what} contains an unpaired UTF-16 surrogate")


def check_search(search: Any) -> None:
    if search is None:
        return
    if not isinstance(search, str) or len(search) > MAX_SEARCH:
        raise QueryError(f"search must be text of at most {MAX_SEARCH} characters")
    check_text(search, "search")


def check_filters(filters: Any) -> None:
    """Bounds of a filter list, before the compiler walks it (recursively): depth, number
    of conditions, `in` values per query, and text that cannot be encoded."""
    problem = structure_problem(filters, MAX_FILTER_DEPTH + 2)
    if problem is not None:
        raise QueryError(f"filters: {problem}" if "deeper" not in problem else
                         f"filters nest deeper than {MAX_FILTER_DEPTH} levels")
    conditions = in_values = 0
    stack = [filters]
    while stack:
        item = stack.pop()
        if not isinstance(item, list):
            continue
        if len(item) == 3 and isinstance(item[0], str) and isinstance(item[1], str) \
                and item[0].lower() not in ("and", "or"):
            conditions += 1
            if isinstance(item[2], list) and item[1].lower().replace("_", " ") in (
                    "in", "not in"):
                in_values += len(item[2])
            continue
        stack.extend(item)
    if conditions > MAX_CONDITIONS:
        raise QueryError(f"at most {MAX_CONDITIONS} filter conditions per query "
                         f"(got {conditions})")
    if in_values > MAX_IN_VALUES_PER_QUERY:
        raise QueryError(f"at most {MAX_IN_VALUES_PER_QUERY} 'in' values per query "
                         f"(got {in_values})")
