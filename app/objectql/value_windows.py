"""Searches read from the searched field's kept values (app/storage/search_values.py).

Every row a search matches holds, in the object's one searched field, a kept value that
matches it, so all matches lie between the first and the last matching value in that
field's order, and the field's (field, id) index walks them in order. Two uses:

- A page sorted by that field (`value_window`): from the first matching value, the next
  NEWEST_WINDOW rows in the page's direction, never past the last matching value. A full
  page read from it is exact; a short one is read again from the whole table.
- A count (`count_window`): the range from the first matching value to the last, or to
  the COUNT_WINDOW-th row from the first when the range is longer. A whole range counts
  exactly; a cut one answers only when it already holds more than the cap ("1,000+").
  The list page's total for a rep's common term walked every row the rep owns, testing
  each against every FTS match (SQLite: 60-140 ms); the range holds a few thousand.

Finding the first and last matching value reads every matching value, from the narrow
values table: never more of them than matching rows, usually far fewer (the 81k 'follow'
activities hold 14 distinct subjects).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    and_,
    bindparam,
    false,
    func,
    literal,
    literal_column,
    select,
    table,
)

from app.objectql.compiler import SelectBuilder, escape_like
from app.objectql.search_plans import nth_row
from app.storage.search import MIN_TRIGRAM_TERM, fts_query
from app.storage.search_values import values_table_name

# More matching distinct values than this: not windowed (the cap bounds the probe for a
# term matching most of a huge values table; 33k values of 'call with' take ~30 ms).
VALUE_PROBE_CAP = 50_000
# The probe's answers within one call, by (object, terms): (the cap it ran with, answer).
Probed = dict[tuple[str, tuple[str, ...]], tuple[int, tuple[int | None, Any, Any]]]
# A count on PostgreSQL probes for at most this many values: its trigram bitmap already
# stops after the cap's matching rows, so reading 33k values first ('call with': ~30 ms)
# made counts of terms matching many distinct values 4-8x slower (admin 'call' 8 -> 56
# ms). On SQLite the FTS count gathers every match's rowid, and the range wins even then.
PG_COUNT_PROBE_CAP = 1_000
# Rows a count's range may span before it is cut (an index-only walk of ~3-5 ms).
COUNT_WINDOW = 50_000


# The window of a search no kept value matches: no row can, and the page is empty as is.
NOTHING: ColumnElement[bool] = false()


def value_window(conn: Connection, b: SelectBuilder, search: str,
                 sort: list[tuple[str, str]], probed: Probed | None = None
                 ) -> ColumnElement[bool] | None:
    """The window a search page sorted by the searched field itself is first read from
    (see the module notes); None when this does not apply (another order, several
    searched fields, no term long enough for the values' index, too many matching
    values); NOTHING when no value matches."""
    kept = _kept_field(b, search)
    if not sort or kept is None or sort[0][0] != kept[0]:
        return None
    n, first, last = _matching_values(conn, b, kept[1], probed, VALUE_PROBE_CAP)
    if n == 0:
        return NOTHING
    if n is None:
        return None
    column = b.base.c[kept[0]]
    key = b.base.alias("window").c[kept[0]]
    postgres = conn.dialect.name == "postgresql"
    if sort[0][1] == "desc":
        bound = nth_row(select(key).where(key <= last)
                        .order_by(key.desc().nulls_last())).scalar_subquery()
        start = (func.greatest if postgres else func.max)(bound, first)
        return and_(column >= func.coalesce(start, first), column <= literal(last))
    bound = nth_row(select(key).where(key >= first)
                    .order_by(key.asc().nulls_first())).scalar_subquery()
    end = (func.least if postgres else func.min)(bound, last)
    return and_(column >= literal(first), column <= func.coalesce(end, last))


def count_window(conn: Connection, b: SelectBuilder, search: str,
                 probed: Probed | None = None
                 ) -> tuple[ColumnElement[bool] | None, bool] | None:
    """(the range a search's matches are counted in, whether it holds all of them), or
    None when this does not apply; (None, True) when nothing matches at all."""
    kept = _kept_field(b, search)
    if kept is None:
        return None
    cap = PG_COUNT_PROBE_CAP if conn.dialect.name == "postgresql" else VALUE_PROBE_CAP
    n, first, last = _matching_values(conn, b, kept[1], probed, cap)
    if n == 0:
        return None, True
    if n is None:
        return None
    key = b.base.alias("window").c[kept[0]]
    cut = nth_row(select(key.label("bound"), (key >= last).label("past"))
                  .where(key >= first).order_by(key.asc().nulls_first()), COUNT_WINDOW)
    row = conn.execute(cut).first()
    whole = row is None or bool(row.past)
    end = last if row is None or row.past else row.bound
    column = b.base.c[kept[0]]
    return and_(column >= literal(first), column <= literal(end)), whole


def _kept_field(b: SelectBuilder, search: str) -> tuple[str, list[str]] | None:
    """(the field whose values are kept, the search's terms) when the search looks in
    that field alone with a term long enough for the values' trigram index."""
    kept = b.schema.values.get(b.obj.name)
    if not kept:
        return None
    fields, terms = b.search_parts(search)
    if [f.name for f in fields] != [kept] \
            or not any(len(t) >= MIN_TRIGRAM_TERM for t in terms):
        return None
    return kept, terms


def _matching_values(conn: Connection, b: SelectBuilder, terms: list[str],
                     probed: Probed | None, cap: int) -> tuple[int | None, Any, Any]:
    """(how many, the smallest, the largest) kept values holding every term, as the
    object's own search matches them (LIKE on PostgreSQL; FTS5 trigram phrases plus LIKE
    for short terms on SQLite); (None, None, None) when more than `cap` do. `probed`
    keeps the answer for the rest of one call (a page and its total)."""
    key = (b.obj.name, tuple(terms))
    if probed is not None and key in probed:
        known_cap, found = probed[key]
        # An answer already read is used whatever this caller's cap: the cap only bounds
        # the reading, which is paid.
        if found[0] is not None or known_cap >= cap:
            return found
    found = _probe(conn, b, terms, cap)
    if probed is not None:
        probed[key] = (cap, found)
    return found


def _probe(conn: Connection, b: SelectBuilder, terms: list[str], cap: int
           ) -> tuple[int | None, Any, Any]:
    values = values_table_name(b.obj.name)
    postgres = conn.dialect.name == "postgresql"
    long_terms = [t for t in terms if len(t) >= MIN_TRIGRAM_TERM]
    value: Any = literal_column("v.value")
    # The patterns are written into the SQL (literal_execute): as parameters, psycopg
    # prepares the repeated probe and PostgreSQL's generic plan scanned every value.
    # PostgreSQL keeps lower(value) as `folded`; SQLite tests a short term with lower().
    folded: Any = literal_column("v.folded") if postgres else func.lower(value)
    likes = [folded.like(bindparam(None, f"%{escape_like(t.lower())}%", type_=String,
                                   literal_execute=True), escape="\\")
             for t in terms if postgres or t not in long_terms]
    source: Any = table(values).alias("v")
    if not postgres:
        fts = f"{values}_fts"
        source = source.join(table(fts), literal_column(f'"{fts}".rowid')
                             == literal_column("v.rowid"))
        likes.append(literal_column(f'"{fts}"').op("MATCH")(
            bindparam(None, fts_query(["value"], long_terms), type_=String)))
    matching = (select(value.label("value")).select_from(source).where(and_(*likes))
                .limit(cap + 1).subquery())
    n, first, last = conn.execute(select(
        func.count(), func.min(matching.c.value), func.max(matching.c.value))).one()
    if n > cap:
        return None, None, None
    return int(n), first, last
