"""The windows search pages are first read from (app/objectql/search_plans.py), ascending
and descending: which rows a window holds, and that a windowed page equals the page read
without any window.

Data: tasks and calls, planned and completed, whose due dates tie in groups of ~15 rows;
planned tasks always have a due date, completed tasks sometimes not, calls mostly not
(empty keys sort first in ascending order: a window must never leave them out).
Windows are made small (1-40 rows) so that pages are read both from the window and, when
it holds too few matches, from the whole table.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, and_, event, literal, or_, select

from app.core import Services
from app.objectql import Context, search_plans
from app.objectql import service as ql_service
from app.objectql.search_plans import equality_pins, search_window
from app.seed.demo import ensure_demo_users
from app.storage.db import analyze

SYSTEM = Context.system()
ROWS = 480
DAY = date(2026, 3, 1)


def _row(i: int, owners: list[str]) -> dict[str, Any]:
    kind = ("task", "planned") if i % 3 == 0 else ("task", "completed") if i % 3 == 1 \
        else ("call", "planned" if i % 2 else "completed")
    due: date | None = DAY + timedelta(days=(i * 7) % 11)  # 11 dates: ties of ~15 rows
    if kind[1] == "completed" and kind[0] == "task" and i % 13 == 1:
        due = None  # a few empty keys among completed tasks
    if kind[0] == "call" and i % 5:
        due = None  # most calls have none
    subject = ["Follow up on invoice", "Send security whitepaper", "Call about renewal",
               "Quarterly review"][i * 5 % 4]
    if i in (7, 300, 301, 455):  # rare; 300: an open task due on the last date
        subject = "Zanzibar escalation"
    return {"subject": subject, "type": kind[0], "status": kind[1],
            "owner": owners[i % len(owners)], "due_date": due,
            "priority": ["high", "normal", "low"][i % 3],
            "activity_date": datetime(2026, 1, 1 + i % 20, 9, 0)}


@pytest.fixture
def tasks(services: Services) -> tuple[Services, dict[str, Context]]:
    users = ensure_demo_users(services)
    people = {"admin": users["admin@hotcrm.local"], "rep": users["alice@hotcrm.local"]}
    owners = [str(c.user_id) for c in users.values() if c.role != "admin"]
    services.ql.bulk_insert(SYSTEM, "activity", [_row(i, owners) for i in range(ROWS)])
    analyze(services.engine, ["activity"])
    return services, people


def _statements(engine: Engine) -> tuple[list[str], Any]:
    seen: list[str] = []

    def grab(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "ORDER BY activity.due_date" in statement:  # the page, not its count
            seen.append(statement)
    return seen, grab


# -- which rows a window holds (both databases) -------------------------------------------
def _order_key(row: Any, key: str) -> tuple[Any, ...]:
    return (row[key] is not None, row[key] or DAY, row["id"])  # empty first, ties by id


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pins=st.sampled_from([{}, {"type": "task"}, {"type": "task", "status": "planned"},
                             {"type": "task", "status": "completed"},
                             {"type": "call", "status": "planned"}]),
       rows=st.sampled_from([1, 2, 15, 16, 40, 159, 160, 161, 1000]),
       key=st.sampled_from(["due_date", "activity_date"]))
def test_an_ascending_window_is_the_first_rows_with_their_ties(
        tasks: tuple[Services, dict[str, Context]], pins: dict[str, str], rows: int,
        key: str) -> None:
    """Within the pinned rows: empty when one of them has an empty key (they sort first,
    `<=` would drop them); else every row whose key is at most the `rows`-th key (ties on
    it whole), or all of them when fewer."""
    services, _ = tasks
    table = services.ql.schema.table("activity")
    pinned = and_(literal(True), *[table.c[n] == v for n, v in pins.items()])
    window = search_plans.ascending_window(table, key, equality_pins(table, pinned), rows)
    with services.engine.connect() as conn:
        every = sorted(conn.execute(select(table.c.id, table.c[key]).where(pinned)).mappings(),
                       key=lambda r: _order_key(r, key))
        inside = {r.id for r in conn.execute(select(table.c.id).where(pinned, window))}
    if any(r[key] is None for r in every):
        expected: set[str] = set()
    elif every:
        bound = every[min(rows, len(every)) - 1][key]
        expected = {r["id"] for r in every if r[key] <= bound}
    else:
        expected = set()
    assert inside == expected
    # A window is a prefix of the order: nothing outside sorts before anything inside.
    ranks = [r["id"] in inside for r in every]
    assert ranks == sorted(ranks, reverse=True)


def test_pins_are_only_top_level_equalities(tasks: tuple[Services, dict[str, Context]]
                                            ) -> None:
    services, _ = tasks
    table = services.ql.schema.table("activity")
    other = services.ql.schema.table("account")
    where = and_(table.c.type == "task", and_(table.c.status == "planned",
                                              table.c.due_date.isnot(None)),
                 or_(table.c.owner == "a", table.c.owner == "b"),
                 table.c.priority != "high", other.c.name == "x")
    assert set(equality_pins(table, where)) == {"type", "status"}
    assert equality_pins(table, None) == {}
    obj = services.ql.object("activity")
    # Ascending: the view index (type, status, due_date, id) bounds the window within the
    # open tasks; with nothing pinned the bound comes from the whole due_date index.
    windowed = str(search_window(obj, table, [("due_date", "asc")], where))
    assert "window.type = " in windowed and "window.status = " in windowed
    assert "window.type" not in str(search_window(obj, table, [("due_date", "asc")]))
    assert search_window(obj, table, [("subject", "asc")], where) is None  # searched
    assert search_window(obj, table, [("duration_minutes", "asc")], where) is None  # no index
    assert search_window(obj, table, [("account.name", "asc")], where) is None


# -- a windowed page equals the page read without a window (both databases) --------------
TERMS = ["follow", "send security", "zanzibar", "e", "renewal", "whitepaper", "nothing"]
FILTERS: dict[str, tuple[str | None, list[Any]]] = {  # name -> (list view, filters)
    "open tasks": ("open_tasks", []),
    "completed tasks": (None, [["type", "=", "task"], ["status", "=", "completed"]]),
    "calls": (None, [["type", "=", "call"]]),
    "everything": (None, []),
    "tasks or planned": (None, [[["type", "=", "task"], "or", ["status", "=", "planned"]]]),
}
SORTS = [[("due_date", "asc")], [("due_date", "desc")], [("activity_date", "asc")],
         [("activity_date", "desc")], [("due_date", "asc"), ("subject", "desc")],
         [("due_date", "asc"), ("priority", "asc")], [("id", "desc")]]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(term=st.sampled_from(TERMS), where=st.sampled_from(sorted(FILTERS)),
       sort=st.sampled_from(SORTS), who=st.sampled_from(["admin", "rep"]),
       limit=st.sampled_from([1, 3, 7, 21]), skip=st.sampled_from([0, 2, 9]),
       window=st.sampled_from([1, 3, 10, 40, 10_000]))
def test_windowed_pages_equal_unwindowed_pages(
        tasks: tuple[Services, dict[str, Context]], term: str, where: str,
        sort: list[tuple[str, str]], who: str, limit: int, skip: int, window: int) -> None:
    services, people = tasks
    view, filters = FILTERS[where]
    sort_arg = None if view and sort == [("due_date", "asc")] else sort  # the view's own

    def page() -> list[str]:
        return [r["id"] for r in services.ql.find(
            people[who], "activity", fields=["id"], view=view, filters=filters,
            sort=sort_arg, search=term, limit=limit, skip=skip).records]

    # SQLite windows only terms its FTS index matches often; "often" is 20 rows here.
    with patch.object(search_plans, "NEWEST_WINDOW", window), \
            patch.object(ql_service, "COMMON_TERM_MATCHES", 20):
        windowed = page()
    with patch.object(ql_service, "search_window", lambda *_a, **_k: None):
        plain = page()
    assert windowed == plain, (term, where, sort, who, limit, skip, window)


@pytest.mark.parametrize(("where", "term", "reads"), [
    ("open tasks", "follow", 1),  # common: a full page from the window
    ("open tasks", "zanzibar", 2),  # rare: too few in the window, then the whole table
    ("completed tasks", "follow", 2),  # empty due dates there: no window, the fallback
])
def test_open_tasks_pages_are_read_from_the_window(
        tasks: tuple[Services, dict[str, Context]], where: str, term: str,
        reads: int) -> None:
    """The open-tasks page of a common term needs one read, bounded within the open tasks
    (over the whole table the first due dates are empty and it would always fall back).
    SQLite windows only a term its FTS index matches often (a rare one is read through
    the index at once), and walks the window with plain LIKE."""
    services, people = tasks
    view, filters = FILTERS[where]
    seen, grab = _statements(services.engine)
    event.listen(services.engine, "before_cursor_execute", grab)
    try:
        with patch.object(search_plans, "NEWEST_WINDOW", 40), \
                patch.object(ql_service, "COMMON_TERM_MATCHES", 20):
            found = services.ql.find(people["admin"], "activity", fields=["id"], view=view,
                                     filters=filters, sort=[("due_date", "asc")],
                                     search=term, limit=5).records
    finally:
        event.remove(services.engine, "before_cursor_execute", grab)
    assert found
    sqlite = services.engine.dialect.name == "sqlite"
    if sqlite and term == "zanzibar":
        assert len(seen) == 1 and "window" not in seen[0], seen
        return
    assert len(seen) == reads, seen
    assert re.search(r'"?window"?\.type = ', seen[0]) \
        and re.search(r'"?window"?\.status = ', seen[0]), seen[0]
    assert "window" not in seen[-1] or reads == 1
    if sqlite:  # the window walks with LIKE; the fallback asks the FTS index
        assert "lower(activity.subject) LIKE" in seen[0] and "MATCH" not in seen[0]
        assert "MATCH" in seen[-1] or reads == 1
