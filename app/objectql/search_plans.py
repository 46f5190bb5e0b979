"""How PostgreSQL plans a search (`lower(col) LIKE '%term%'` served by pg_trgm indexes).

Left to itself the planner went wrong in two ways on the 1M-activity data set:

1. **Generic plans.** psycopg prepares a statement once a connection has run it five
   times, and after five custom plans PostgreSQL may switch to a generic plan, which
   prices `LIKE $1` at a fixed fraction of the rows whatever the term. Search statements
   repeat (same shape, same SQL text), so a rare contact term that takes 1 ms through
   the trigram indexes was served by a generic plan walking `ix_contact_last_name`:
   0.6-1.6 s. Searches therefore plan with `plan_cache_mode = force_custom_plan`: the
   planner sees the term (and its statistics) every time; planning costs ~0.2 ms.
2. **Walking an index ordered by the searched column.** For `ORDER BY subject LIMIT 6`
   or a capped count, walking `ix_activity_subject` and testing LIKE on each row looks
   cheap when the statistics say 8 % of the rows match: the planner assumes the matches
   are spread evenly along the walk. They are not: rows holding a substring of the
   subject sit together in subject order ("Send security whitepaper" under S), so the
   walk read 270k-950k rows before the first match (0.7-6 s). When a plan could walk
   such an index — a count, or a page sorted by a searched field — the statement runs
   with `enable_indexscan` and `enable_indexonlyscan` off: the matches then come from
   the trigram index (bitmap scan, possibly ANDed with the owner index for row
   security) or a sequential scan, so the cost is bounded by the number of matches
   rather than by where the first ones happen to sit in that order. Bitmap scans stay
   on, so other b-tree indexes still combine with the trigram index.

Both are `SET LOCAL` in a short read-only transaction on the read connection, gone at
its end whatever happens; one extra round trip before and one after the statement.
Newest-first pages keep every plan: ids are time-ordered and independent of the text,
so the backward primary-key walk finds a common term's newest matches in a few hundred
rows, and the trigram bitmap serves a rare term. The planner tells the two apart by its
estimate of the term's frequency, which comes from a sample: a rare term that happens to
match a sampled value looks common, and the walk then reads the whole table. So a
newest-first search page is first read from the newest NEWEST_WINDOW rows only (the
walk stops there whatever the estimate); if that yields a full page it is exact — every
match outside the window is older — and otherwise the page is read again from the whole
table without ordered walks, i.e. through the trigram index.

Ascending orders (open tasks by due date) get a window too, but empty values sort first
there and most rows of a date such as `due_date` are empty (only tasks have one): over the
whole table the first rows would all be empty and never match. So an ascending window is
counted within the statement's own equality conditions (the view's filters, a rep's owner)
that lead an index ending in the sort key — the view indexes are (equality filters…, sort
keys…, id) — and is the rows whose key lies between the first and the NEWEST_WINDOW-th key
there (the last when fewer rows). A range of key values is a prefix of the order only when
no row has an empty key (those sort before every value), so there is no window — the
fallback answers — when the first key there is empty, i.e. when any is. Ties on the bound
are all inside (`<=`), so the page is exact whatever the later sort keys are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import (
    BindParameter,
    BooleanClauseList,
    ColumnElement,
    Connection,
    Select,
    Table,
    func,
    literal_column,
    select,
)
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, Grouping, UnaryExpression
from sqlalchemy.sql.schema import Column

from app.metadata.models import ObjectDef

# Rows a newest-first search page may walk before the trigram index answers instead: a
# term matching 0.2 % of the rows fills a 21-row page within it (~5-10 ms of walking).
NEWEST_WINDOW = 10_000
CUSTOM_PLANS = "SET LOCAL plan_cache_mode = force_custom_plan"
NO_ORDERED_WALKS = "SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off"
# A windowed page (search_window) walks its window in order, on one process: a bitmap
# of the term's matches would fetch and sort every one of them whatever the window, and
# the window's bound is a parameter the planner cannot price, so it took a (parallel)
# sequential scan of the whole table for a rare term (140-240 ms against ~10 ms).
WALK_ONLY = ("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off; "
             "SET LOCAL max_parallel_workers_per_gather = 0")


def nth_row(query: Select[Any], rows: int | None = None) -> Select[Any]:
    """The `rows`-th (default NEWEST_WINDOW) row of an ordered `query`: a window's bound.
    OFFSET and LIMIT are written into the SQL, so the planner prices the walk it is."""
    offset: Any = literal_column(str(int((rows or NEWEST_WINDOW) - 1)))
    return query.offset(offset).limit(literal_column("1"))


def walks_searched_order(obj: ObjectDef, sort: list[tuple[str, str]] | None) -> bool:
    """True when a page sorted by `sort` could be read by walking an index whose first
    sorted key is a searchable field of `obj` (None: a count, which may walk any index
    holding the searched column)."""
    if sort is None:
        return True
    if not sort:
        return False
    return sort[0][0] in {f.name for f in obj.searchable_fields}


def order_window(table: Table, key: str, rows: int | None = None) -> ColumnElement[bool]:
    """`key` at or above its value in the `rows`-th row of `table` in descending order
    (all owners; empty values last, as ObjectQL sorts descending): the first `rows` rows a
    descending page by `key` walks. The bound is one backward read of an index led by
    `key`; when fewer rows have a value, the window is empty and the fallback answers."""
    window = table.alias("window")
    column = window.c[key]
    bound = nth_row(select(column).where(column.isnot(None))
                    .order_by(column.desc().nulls_last()), rows).scalar_subquery()
    return table.c[key] >= bound


def search_window(obj: ObjectDef, table: Table, sort: list[tuple[str, str]],
                  where: ColumnElement[bool] | None = None) -> ColumnElement[bool] | None:
    """The window a search page sorted by `sort` is first read from (see the module
    notes), or None when its order cannot be walked that way: newest first (by id), or by
    a plain column that is not searched and has an index to walk — descending: an index
    led by it (the list views' date orders); ascending: an index led by columns `where`
    pins to one value (its top-level `column = value` conditions), then by it (the
    views' own indexes, e.g. open tasks by due date)."""
    if not sort:
        return None
    key, direction = sort[0]
    if (key, direction) == ("id", "desc"):
        return newest_window(table)
    if key == "id" or "." in key or key not in table.c \
            or key in {f.name for f in obj.searchable_fields}:
        return None
    if direction == "desc":
        if not any(index.columns and next(iter(index.columns)).name == key
                   for index in table.indexes):
            return None
        return order_window(table, key)
    pins = equality_pins(table, where)
    pinned = pinned_index_prefix(table, key, set(pins))
    if pinned is None:
        return None
    return ascending_window(table, key, {name: pins[name] for name in pinned})


def equality_pins(table: Table, where: ColumnElement[bool] | None
                  ) -> dict[str, BindParameter[Any]]:
    """`column = value` conditions on `table` that every row of `where` meets (its
    top-level AND terms; nothing under an OR or NOT), by column name."""
    pins: dict[str, BindParameter[Any]] = {}
    stack: list[Any] = [] if where is None else [where]
    while stack:
        clause = stack.pop()
        if isinstance(clause, Grouping):
            stack.append(clause.element)
        elif isinstance(clause, BooleanClauseList) and clause.operator is operators.and_:
            stack.extend(clause.clauses)
        elif isinstance(clause, BinaryExpression) and clause.operator is operators.eq \
                and isinstance(clause.left, Column) and clause.left.table is table \
                and isinstance(clause.right, BindParameter):
            pins.setdefault(clause.left.name, clause.right)
    return pins


def pinned_index_prefix(table: Table, key: str, pinned: set[str]) -> list[str] | None:
    """The longest list of `pinned` columns that, followed by `key`, starts a plain-column
    index of `table` (the rows of one value of them are read in `key` order there), or
    None when no index has `key` after pinned columns only."""
    best: list[str] | None = None
    for index in table.indexes:
        names = []
        for expression in index.expressions:
            while isinstance(expression, UnaryExpression):  # ASC / NULLS FIRST
                expression = expression.element
            if not isinstance(expression, Column):
                break  # an expression index (lower(...)): not in column order
            names.append(expression.name)
        if key not in names:
            continue
        prefix = names[:names.index(key)]
        if set(prefix) <= pinned and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


def ascending_window(table: Table, key: str, pins: dict[str, BindParameter[Any]],
                     rows: int | None = None) -> ColumnElement[bool]:
    """`key` from the first to the `rows`-th (default NEWEST_WINDOW) key, in ascending
    order, of the rows of `table` that have the `pins` values — to the last when fewer
    rows have them — or no row at all when the first key is empty (empty keys sort first:
    then some are, and a range of values would leave them out). Three reads of the index
    (pins…, key), index-only: the first and last entries and the `rows`-th.

    The lower bound changes no result (every pinned row is at or above it) but steers the
    planner: it prices two unknown bounds on one column as a narrow range (0.5 % of the
    rows) and walks the view's index, where with one bound (a third of the rows) it could
    fetch all rows of a less selective index (status) and sort them — on 40,000 rows the
    two plans cost within 15 % of each other."""
    window = table.alias("window")
    column = window.c[key]
    pinned = select(column).where(*[window.c[name] == value for name, value in pins.items()])
    ascending = pinned.order_by(column.asc().nulls_first())
    one: Any = literal_column("1")
    first = ascending.limit(one).scalar_subquery()
    nth = nth_row(ascending, rows)
    last = pinned.order_by(column.desc().nulls_last()).limit(one)
    return table.c[key].between(first, func.coalesce(nth.scalar_subquery(),
                                                     last.scalar_subquery()))


@contextmanager
def search_planning(conn: Connection, *, no_ordered_walks: bool,
                    walk_only: bool = False) -> Iterator[None]:
    """Run the statements of this block with the search planner settings (see above).
    A no-op on SQLite and inside a write transaction (whose settings it must not touch:
    a SET LOCAL there would outlive the read)."""
    raw: Any = conn.connection.dbapi_connection
    if conn.dialect.name != "postgresql" or not getattr(raw, "autocommit", False) \
            or raw.info.transaction_status != 0:  # 0: idle, outside a transaction
        yield
        return
    settings = [CUSTOM_PLANS, *([NO_ORDERED_WALKS] if no_ordered_walks else []),
                *([WALK_ONLY] if walk_only else [])]
    conn.exec_driver_sql("BEGIN READ ONLY; " + "; ".join(settings))
    try:
        yield
    except BaseException:
        with suppress(Exception):  # a broken connection: the pool discards it anyway
            conn.exec_driver_sql("ROLLBACK")
        raise
    conn.exec_driver_sql("COMMIT")


def newest_window(table: Table, rows: int | None = None) -> ColumnElement[bool]:
    """`id` among the newest `rows` (default NEWEST_WINDOW) rows of `table`, all owners:
    the bound is one index-only read of the primary key; empty when the table is smaller.
    """
    newest = table.alias("newest")
    bound = nth_row(select(newest.c.id).order_by(newest.c.id.desc()), rows).scalar_subquery()
    return table.c.id >= func.coalesce(bound, "")
