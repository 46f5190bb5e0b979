"""How searches are planned, and that every plan returns what the plain LIKE scan returns.

Plan tests (PostgreSQL): 40,000 activities whose subjects cluster the way real ones do
(every "Follow up on open invoice" sorts together, 8 % of the rows; one rare subject),
`VACUUM (ANALYZE)`, then the real ObjectQL calls of the global search page (newest
first), the old page sorted by subject and a list's quick-search count, as admin and as
a rep. Each captured statement is explained under the settings ObjectQL runs it with
(`app/objectql/search_plans.py`), and the plan must be the one that does not depend on
where the matches sit in the subject order.

Result tests (SQLite and PostgreSQL): pages and counts for common, rare, clustered and
random terms, sorted every way the UI sorts, as admin and as a rep, equal a hand-written
LIKE query with the same row rule and order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event

from app.core import Services, build_services
from app.objectql import Context, search_plans
from app.objectql.search_plans import search_planning, walks_searched_order
from app.objectql.service import COUNT_CAP, SEARCH_COUNT_CAP
from app.seed.demo import ensure_demo_users
from app.storage.db import analyze
from tests.conftest import METADATA
from tests.support.databases import scratch_postgres
from tests.support.search_oracle import subject_search_ids

SYSTEM = Context.system()
ROWS = 40_000
SUBJECTS = [  # (subject, share of the rows): the common term clusters in subject order
    ("Call with {n}", 0.40), ("Book training for {n}", 0.22), ("Account note", 0.10),
    ("Follow up on open invoice", 0.08), ("Send security whitepaper", 0.03),
    ("Quarterly business review", 0.17),
]
RARE = "Zanzibar escalation"
STAMP = datetime(2026, 1, 1, 9, 0)
KINDS = [("task", "planned"), ("call", "completed"), ("email", "planned"),
         ("task", "completed"), ("meeting", "completed")]


def _subject(i: int) -> str:
    at = (i * 7919 % 1000) / 1000  # spread every template over the whole id range
    for subject, share in SUBJECTS:
        if at < share:
            return subject.format(n=f"Person {i % 5000}")
        at -= share
    return SUBJECTS[-1][0]


def _insert_activities(services: Services, owners: list[str], rows: int) -> None:
    """Fixture data for the planner's statistics, written with one INSERT per batch (not
    through ObjectQL: the plans, not the writes, are under test)."""
    table = services.ql.schema.table("activity")
    batch = []
    for i in range(rows):
        # A fifth are open tasks (the open_tasks view); only tasks have a due date, in an
        # order independent of the ids and subjects.
        kind, status = KINDS[i % len(KINDS)]
        due = (STAMP + timedelta(days=i * 31 % 397)).date() if kind == "task" else None
        batch.append({"id": f"{i:026d}", "owner": owners[i % len(owners)],
                      "subject": RARE if i == rows // 2 else _subject(i),
                      "type": kind, "status": status, "priority": "normal",
                      "activity_date": STAMP + timedelta(minutes=i // 7), "due_date": due,
                      "created_at": STAMP, "modified_at": STAMP, "version": 1})
        if len(batch) == 5000 or i == rows - 1:
            with services.engine.begin() as conn:
                conn.execute(table.insert(), batch)
            batch = []


@contextmanager
def _postgres() -> Iterator[str]:
    with scratch_postgres("hotcrm_search") as url:
        yield url


@pytest.fixture(scope="module")
def large_pg() -> Iterator[tuple[Services, dict[str, Context]]]:
    with _postgres() as url:
        services = build_services(database_url=url, metadata_dir=METADATA)
        try:
            users = ensure_demo_users(services)
            people = {"admin": users["admin@hotcrm.local"], "rep": users["alice@hotcrm.local"]}
            owners = [str(c.user_id) for c in users.values() if c.role != "admin"]
            _insert_activities(services, owners, ROWS)
            analyze(services.engine, ["activity"])
            yield services, people
        finally:
            services.engine.dispose()


def _statements(engine: Engine, call: Any) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "lower(activity.subject)" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return seen


def _plan(services: Services, statement: str, parameters: Any, no_ordered_walks: bool,
          walk_only: bool = False) -> str:
    read = services.engine.execution_options(isolation_level="AUTOCOMMIT")
    with read.connect() as conn, search_planning(conn, no_ordered_walks=no_ordered_walks,
                                                 walk_only=walk_only):
        return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement,
                                                             parameters))


# A walk of the subject index (the rep's: of (owner, subject)) from the first matching
# subject on (app/objectql/value_windows.py).
WALKS_SUBJECTS_FROM_FIRST_MATCH = (
    r"Index (Only )?Scan using ix_activity_(owner_)?subject(_id)?"
    r" on activity  .*\n *Index Cond: \(.*subject\)?(::text)? >= '")

CASES = [  # (kind, term)
    ("newest", "follow"), ("newest", "zanzibar"), ("by subject", "follow"),
    ("by subject", "whitepaper"), ("by subject", "zanzibar"), ("count", "follow"),
    ("count", "whitepaper"), ("count", "zanzibar"), ("by date", "follow"),
    ("by date", "zanzibar"), ("by date", "send security"), ("open tasks", "follow"),
    ("open tasks", "zanzibar"), ("open tasks", "send security"),
]


@pytest.mark.parametrize("who", ["admin", "rep"])
@pytest.mark.parametrize(("kind", "term"), CASES)
def test_search_plans_on_postgresql(large_pg: tuple[Services, dict[str, Context]],
                                    who: str, kind: str, term: str) -> None:
    services, people = large_pg
    ql, ctx = services.ql, people[who]
    sort = {"newest": [("id", "desc")], "by subject": [("subject", "asc")],
            "by date": [("activity_date", "desc")], "open tasks": [("due_date", "asc")]
            }.get(kind)
    view = "open_tasks" if kind == "open tasks" else None

    def call() -> None:
        if sort is None:
            ql.count(ctx, "activity", search=term)
        else:
            ql.find(ctx, "activity", fields=["id", "subject"], search=term, sort=sort,
                    limit=21, view=view)

    statements = _statements(services.engine, call)
    obj = ql.object("activity")
    # A newest-first or by-date page of a rare term is read twice: from the window of
    # the first rows in that order, then (too few there) from the whole table without
    # ordered walks.
    # A page by subject is read from the window of rows from the first matching subject
    # on (app/storage/search_values.py); the rare term's one row does not fill it.
    # A count is read from the range of subjects between the first and the last
    # matching one (app/objectql/value_windows.py): whole here, so one statement.
    # An open-tasks page is read from the window of the first open tasks by due date.
    windowed = kind in ("newest", "by date", "by subject", "count", "open tasks")
    assert len(statements) == (2 if windowed and term == "zanzibar" and kind != "count"
                               else 1)
    plans = [_plan(services, statement, parameters,
                   (walks_searched_order(obj, sort) and not windowed) or i > 0,
                   walk_only=windowed and i == 0)
             for i, (statement, parameters) in enumerate(statements)]
    for i, plan in enumerate(plans):
        if kind in ("by subject", "count") and i == 0:
            continue
        # Never an open-ended walk of an index ordered by the searched text: the matches
        # cluster there.
        assert not re.search(r"Index (Only )?Scan( Backward)? using "
                             r"ix_activity_(owner_)?subject", plan), plan
    if kind == "by subject":
        # From the first matching subject, walking the subject index and stopping after
        # the page: neither every match fetched and sorted, nor a walk from the start.
        assert re.search(WALKS_SUBJECTS_FROM_FIRST_MATCH, plans[0]), plans
        assert "Bitmap" not in plans[0] and "Seq Scan on activity" not in plans[0], plans
        assert "Sort" not in plans[0].split("InitPlan")[0], plans
    if kind == "count":
        # The range of matching subjects, walked in the subject index (the rep's in the
        # (owner, subject) one): never every row the rep owns, nor every match fetched.
        assert re.search(WALKS_SUBJECTS_FROM_FIRST_MATCH, plans[0]), plans
        assert "Bitmap" not in plans[0] and "Seq Scan" not in plans[0], plans
    elif term == "zanzibar":  # rare: straight from the trigram index
        assert "Bitmap Index Scan on tg_activity_subject" in plans[-1], plans
    elif kind == "newest":  # common: the newest rows first, stopping after the page
        assert "Index Scan Backward using activity_pkey" in plans[0], plans
        assert "Sort" not in plans[0], plans
    if kind == "by date":
        # The window is walked backwards by date, whatever the term: a bitmap of a common
        # (or correlated two-word) term's matches would fetch and sort all of them; a
        # sequential scan would read the whole table for a rare one.
        assert re.search(r"Index Scan Backward using ix_activity_(owner_)?activity_date",
                         plans[0]), plans
        assert "Bitmap" not in plans[0] and "Seq Scan on activity" not in plans[0], plans
        assert "Sort" not in plans[0].split("InitPlan")[0], plans
    if kind == "open tasks":
        # Ascending: the window (bounded within the open tasks) is walked forwards along
        # the view's index, which stops at the bound for a rare term.
        assert re.search(r"Index Scan using ix_activity_(owner_)?type_status_due_date_id",
                         plans[0]), plans
        assert re.search(r"Index Cond: .*due_date <= ", plans[0]), plans
        assert "Bitmap" not in plans[0] and "Seq Scan on activity" not in plans[0], plans
        assert "Sort" not in plans[0].split("InitPlan")[0], plans


def test_search_statements_are_never_generic_plans(
        large_pg: tuple[Services, dict[str, Context]]) -> None:
    """A repeated search is prepared by psycopg after five runs; PostgreSQL must still
    plan it for its term (a generic plan guesses LIKE's selectivity blind and walked a
    whole index for a rare term)."""
    services, people = large_pg
    generic: list[int] = []

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "lower(activity.subject)" in statement:
            row = cursor.connection.execute(
                "SELECT coalesce(sum(generic_plans), 0) FROM pg_prepared_statements "
                "WHERE statement LIKE '%lower(activity.subject)%' "
                "AND statement NOT LIKE '%pg_prepared_statements%'").fetchone()
            generic.append(int(row[0]))

    event.listen(services.engine, "after_cursor_execute", after)
    try:
        for _ in range(12):
            for term in ("zanzibar", "follow"):
                services.ql.find(people["rep"], "activity", fields=["id"], search=term,
                                 sort=[("subject", "asc")], limit=6)
                services.ql.count(people["rep"], "activity", search=term)
    finally:
        event.remove(services.engine, "after_cursor_execute", after)
    assert generic and max(generic) == 0, generic


# -- results equal the LIKE oracle, both databases ---------------------------------------
def _oracle(services: Services, term_list: list[str], owner: str | None,
            order: str, limit: int | None) -> list[str]:
    return subject_search_ids(services, term_list, owner, order, limit)


ORDERS = {  # ObjectQL sort -> the same order by hand (ties by id, as ObjectQL breaks them)
    "newest": ([("id", "desc")], "id DESC"),
    "subject": ([("subject", "asc")], "subject ASC, id ASC"),
    "subject desc": ([("subject", "desc")], "subject DESC, id DESC"),
    "date": ([("activity_date", "desc")], "activity_date DESC NULLS LAST, id DESC"),
}


@pytest.fixture
def seeded(services: Services) -> tuple[Services, dict[str, Context]]:
    users = ensure_demo_users(services)
    people = {"admin": users["admin@hotcrm.local"], "rep": users["alice@hotcrm.local"]}
    owners = [str(c.user_id) for c in users.values() if c.role != "admin"]
    account = services.ql.insert(SYSTEM, "account", {"name": "Search Co",
                                                        "phone": "555-0100"})["id"]
    rows = [{"subject": RARE if i == 1400 else _subject(i), "type": "call",
             "account": account, "owner": owners[i % len(owners)],
             # ties (same day, many rows) and a few without a date (sorted last)
             "activity_date": None if i % 50 == 7 else datetime(2026, 1 + i % 9,
                                                                 1 + i % 28, 10, 0)}
            for i in range(3000)]
    services.ql.bulk_insert(SYSTEM, "activity", rows)
    analyze(services.engine, ["activity"])
    return services, people


TERMS = st.one_of(
    st.sampled_from(["follow", "FOLLOW up", "whitepaper", "zanzibar", "call with",
                     "person 1", "note", "e", "up on", "view", "nothing-here", "%", "_a"]),
    st.text("abcdefilnoprstuvwz %_\\'", min_size=1, max_size=6))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(term=TERMS, order=st.sampled_from(sorted(ORDERS)), who=st.sampled_from(["admin", "rep"]),
       limit=st.sampled_from([6, 21, 50]), window=st.sampled_from([30, 300, 10_000]))
def test_search_results_equal_the_like_oracle(seeded: tuple[Services, dict[str, Context]],
                                              term: str, order: str, who: str, limit: int,
                                              window: int) -> None:
    """`window`: how many of the first rows a newest-first or by-date page reads before
    falling back to the whole table (PostgreSQL), small here so both paths run on 3,000
    rows."""
    with patch.object(search_plans, "NEWEST_WINDOW", window):
        _check_against_oracle(seeded, term, order, who, limit)


def _check_against_oracle(seeded: tuple[Services, dict[str, Context]], term: str,
                          order: str, who: str, limit: int) -> None:
    services, people = seeded
    ctx = people[who]
    term_list = [t for t in term.split() if t][:5]
    if not term_list:
        return
    owner = None if who == "admin" else str(ctx.user_id)
    sort, by_hand = ORDERS[order]
    found = [r["id"] for r in services.ql.find(ctx, "activity", fields=["id"], search=term,
                                               sort=sort, limit=limit).records]
    assert found == _oracle(services, term_list, owner, by_hand, limit), (term, order, who)
    n, capped = services.ql.count(ctx, "activity", search=term)
    matches = len(_oracle(services, term_list, owner, "id", None))
    # A search counts its matches up to SEARCH_COUNT_CAP ("1,000+"), not COUNT_CAP.
    assert (n, capped) == ((SEARCH_COUNT_CAP, True) if matches > SEARCH_COUNT_CAP
                           else (matches, False))
    assert n <= SEARCH_COUNT_CAP < COUNT_CAP


def test_search_settings_end_with_the_statement(large_pg: tuple[Services, dict[str, Context]]
                                                ) -> None:
    """The planner settings are SET LOCAL in their own transaction: after a search, and
    after a statement that failed under them, the pooled connection is idle and back to
    the server's defaults (else every later read on it would plan without index walks)."""
    services, people = large_pg
    used: list[Any] = []

    def grab(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "lower(activity.subject)" in statement:
            used.append(cursor.connection)

    event.listen(services.engine, "before_cursor_execute", grab)
    try:
        services.ql.count(people["rep"], "activity", search="follow")
    finally:
        event.remove(services.engine, "before_cursor_execute", grab)
    read = services.engine.execution_options(isolation_level="AUTOCOMMIT")
    with read.connect() as conn:
        with pytest.raises(Exception, match="division by zero"), \
                search_planning(conn, no_ordered_walks=True):
            conn.exec_driver_sql("SELECT 1 / 0")
        used.append(conn.connection.dbapi_connection)
        for raw in used:
            assert raw.info.transaction_status == 0  # idle, not inside a transaction
            settings = raw.execute("SELECT current_setting('enable_indexscan'), "
                                   "current_setting('enable_indexonlyscan'), "
                                   "current_setting('plan_cache_mode')").fetchone()
            assert settings == ("on", "on", "auto")
