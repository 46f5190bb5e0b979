"""A searched field's kept distinct values (app/storage/search_values.py) and the pages
sorted by that field read from them (search_plans.value_window), on SQLite and
PostgreSQL.

The values must hold every value any row holds, however the row was written (ObjectQL
saves and bulk inserts, an update, a plain INSERT such as a restore makes): a missing
value would start the window too late and silently drop rows from a page. Pages sorted
by the subject, either way, at any offset, as admin and as a rep, equal a hand-written
LIKE query; subjects repeat in groups that several terms match ("Follow-up call about
<product>": a dozen values, many rows each), so the window, not the fallback, answers.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, inspect, text

from app.core import Services, build_services
from app.objectql import Context, search_plans, service, value_windows
from app.seed.demo import ensure_demo_users
from app.storage.search_values import values_table_name
from tests.conftest import METADATA
from tests.support.databases import scratch_postgres
from tests.support.search_oracle import subject_search_ids

SYSTEM = Context.system()
PRODUCTS = ["Analytics", "Billing", "CPQ", "Data Cloud", "Edge", "Field Service",
            "Gateway", "Helpdesk", "Insights", "Journeys", "Knowledge", "Loyalty"]


def _subject(i: int) -> str:
    kind = i * 7919 % 13
    return [f"Follow-up call about {PRODUCTS[i % len(PRODUCTS)]}", "Sent follow-up email",
            "Follow up on open invoice", "FOLLOW UP NOW", "50% off_deal call",
            f"Call with Person {i % 40}", "Account note", "Account note",
            f"Call with Person {i % 40}", "Book training", "Book training", "Quarterly review",
            "Follow-up call about Edge"][kind]


@pytest.fixture
def seeded(services: Services) -> tuple[Services, dict[str, Context]]:
    users = ensure_demo_users(services)
    people = {"admin": users["admin@hotcrm.local"], "rep": users["alice@hotcrm.local"]}
    owners = [str(c.user_id) for c in users.values() if c.role != "admin"]
    rows = [{"subject": _subject(i), "type": "call", "owner": owners[i % len(owners)],
             "activity_date": datetime(2026, 1 + i % 9, 1 + i % 28)} for i in range(1500)]
    services.ql.bulk_insert(SYSTEM, "activity", rows)
    services.ql.insert(SYSTEM, "activity", {"subject": "Zanzibar escalation", "type": "call"})
    return services, people


def _values(services: Services) -> set[str]:
    with services.engine.connect() as conn:
        return {v for (v,) in conn.execute(text(
            f'SELECT value FROM "{values_table_name("activity")}"'))}


def _subjects(services: Services) -> set[str]:
    with services.engine.connect() as conn:
        return {s for (s,) in conn.execute(text(
            "SELECT subject FROM activity WHERE subject IS NOT NULL"))}


def test_values_hold_every_subject_however_written(
        seeded: tuple[Services, dict[str, Context]]) -> None:
    services, people = seeded
    ql = services.ql
    assert _subjects(services) <= _values(services)
    one = ql.insert(people["rep"], "activity", {"subject": "Brand new subject", "type": "call"})
    ql.update(SYSTEM, "activity", one["id"], {"subject": "Renamed subject"})
    table = ql.schema.table("activity")
    with services.engine.begin() as conn:  # not through ObjectQL: a restore, a migration
        conn.execute(table.insert(), [{
            "id": "0" * 26, "subject": "Written by hand", "type": "call", "status": "planned",
            "priority": "normal", "created_at": datetime(2026, 1, 1),
            "modified_at": datetime(2026, 1, 1), "version": 1}])
    values = _values(services)
    assert {"Renamed subject", "Written by hand"} <= values
    assert _subjects(services) <= values
    # A value no row holds any more stays: it can only start a window early.
    assert "Brand new subject" in values
    found = ql.find(SYSTEM, "activity", fields=["subject"], search="by hand",
                    sort=[("subject", "asc")], limit=5).records
    assert [r["subject"] for r in found] == ["Written by hand"]


def _oracle(services: Services, terms: list[str], owner: str | None, descending: bool,
            limit: int, skip: int) -> list[str]:
    order = "subject DESC, id DESC" if descending else "subject ASC, id ASC"
    return subject_search_ids(services, terms, owner, order, limit, skip)


TERMS = st.one_of(
    st.sampled_from(["follow", "follow-up", "FOLLOW up", "call about", "up call", "50%",
                     "off_", "invoice", "zanzibar", "account note", "person 1", "ab",
                     "nothing-here", "bout edg", "follow call"]),
    st.text("abcdeilnoprstuwz %_-", min_size=1, max_size=7))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(term=TERMS, descending=st.booleans(), who=st.sampled_from(["admin", "rep"]),
       limit=st.sampled_from([6, 21, 50]), skip=st.sampled_from([0, 10, 60]),
       window=st.sampled_from([5, 40, 10_000]))
def test_pages_by_subject_equal_the_like_oracle(
        seeded: tuple[Services, dict[str, Context]], term: str, descending: bool, who: str,
        limit: int, skip: int, window: int) -> None:
    """`window`: rows a window spans past its first value; small ones make the window end
    inside a group of matches, and the fallback answer short windows."""
    services, people = seeded
    ctx = people[who]
    terms = [t for t in term.split() if t][:5]
    if not terms:
        return
    owner = None if who == "admin" else str(ctx.user_id)
    sort = [("subject", "desc" if descending else "asc")]
    with patch.object(search_plans, "NEWEST_WINDOW", window):
        found = [r["id"] for r in services.ql.find(ctx, "activity", fields=["id"],
                                                   search=term, sort=sort, limit=limit,
                                                   skip=skip).records]
    assert found == _oracle(services, terms, owner, descending, limit, skip), \
        (term, descending, who, limit, skip, window)


def test_pages_by_subject_for_grouped_terms(seeded: tuple[Services, dict[str, Context]]
                                            ) -> None:
    """Every combination for the terms whose matches fill the window (the random search
    above may miss some): a wrong bound shows here on each backend."""
    services, people = seeded
    for term in ("follow", "call about", "FOLLOW up", "off_", "account note"):
        for descending in (False, True):
            for who, ctx in people.items():
                owner = None if who == "admin" else str(ctx.user_id)
                for skip, window in ((0, 10_000), (10, 10_000), (0, 40), (60, 300)):
                    with patch.object(search_plans, "NEWEST_WINDOW", window):
                        found = [r["id"] for r in services.ql.find(
                            ctx, "activity", fields=["id"], search=term, limit=21, skip=skip,
                            sort=[("subject", "desc" if descending else "asc")]).records]
                    assert found == _oracle(services, term.split(), owner, descending, 21,
                                            skip), (term, descending, who, skip, window)


def test_counts_from_the_range_of_matching_values(
        seeded: tuple[Services, dict[str, Context]]) -> None:
    """Counts and list totals equal the oracle's, capped as ever, whether the range of
    matching subjects is whole, cut short with more matches than the cap, or cut short
    with fewer (then the records are counted as before)."""
    services, people = seeded
    for term in ("follow", "call about", "off_", "account note", "zanzibar",
                 "nothing-here", "person 1", "ab"):
        for who, ctx in people.items():
            owner = None if who == "admin" else str(ctx.user_id)
            matches = len(_oracle(services, term.split(), owner, False, 100_000, 0))
            for window, cap, values in ((50_000, 1000, 50_000), (40, 1000, 50_000),
                                        (300, 50, 50_000), (5, 50, 50_000), (40, 3, 50_000),
                                        (50_000, 1000, 2), (40, 3, 2)):
                # `values`: at most this many matching values are read (more: counted as
                # before); a page by subject shares its probe with its total.
                expected = (cap, True) if matches > cap else (matches, False)
                with patch.object(value_windows, "COUNT_WINDOW", window), \
                        patch.object(service, "SEARCH_COUNT_CAP", cap), \
                        patch.object(value_windows, "VALUE_PROBE_CAP", values), \
                        patch.object(value_windows, "PG_COUNT_PROBE_CAP", min(values, 1000)):
                    counted = services.ql.count(ctx, "activity", search=term)
                    pages = [services.ql.find(ctx, "activity", fields=["id"], search=term,
                                              sort=[(field, "desc")], limit=2, skip=1,
                                              with_total=True)
                             for field in ("activity_date", "subject")]
                assert counted == expected, (term, who, window, cap, values)
                for page in pages:
                    assert (page.total, page.total_capped) == expected, \
                        (term, who, window, cap, values)


def _reads(services: Services, call: Any) -> list[str]:
    seen: list[str] = []

    def grab(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM activity" in statement and "ORDER BY activity.subject" in statement:
            seen.append(statement)

    event.listen(services.engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(services.engine, "before_cursor_execute", grab)
    return seen


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_a_common_term_is_read_from_its_window_alone(
        seeded: tuple[Services, dict[str, Context]], direction: str) -> None:
    """'follow' fills the page from the window: one read, bounded by the first matching
    value; a rare term's window is short, and the whole query answers after it."""
    services, people = seeded

    def page(term: str) -> None:
        services.ql.find(people["admin"], "activity", fields=["id"], search=term,
                         sort=[("subject", direction)], limit=21)

    common = _reads(services, lambda: page("follow"))
    assert len(common) == 1
    assert ("activity.subject >=" if direction == "asc" else "activity.subject <=") \
        in common[0]
    assert len(_reads(services, lambda: page("zanzibar"))) == 2
    # No kept value holds the term: the page is empty without a look at the rows.
    nothing = _reads(services, lambda: page("nothing-here"))
    assert len(nothing) == 1 and "lower(activity.subject)" not in nothing[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'values.db'}"
        return
    with scratch_postgres("hotcrm_values") as url:
        yield url


def test_values_follow_the_searchable_fields(database_url: str, tmp_path: Path) -> None:
    """Kept only while the subject is activity's one searchable field: a second one drops
    them (a row could then match through it whatever its subject); removing it again
    builds them anew from the rows already there."""
    meta = tmp_path / "metadata"
    shutil.copytree(METADATA, meta)
    path = meta / "objects" / "activity.object.yml"
    original = path.read_text()
    services = build_services(database_url=database_url, metadata_dir=meta)
    try:
        values = values_table_name("activity")
        services.ql.insert(SYSTEM, "activity", {"subject": "Kept subject", "type": "call"})
        assert "Kept subject" in _values(services)
        path.write_text(original.replace("  description:\n", "  description:\n"
                                         "    searchable: true\n", 1))
        services.reload_metadata()
        assert values not in inspect(services.engine).get_table_names()
        services.ql.insert(SYSTEM, "activity", {"subject": "Added meanwhile", "type": "call"})
        path.write_text(original)
        services.reload_metadata()
        assert values in inspect(services.engine).get_table_names()
        assert {"Kept subject", "Added meanwhile"} <= _values(services)
        found = services.ql.find(SYSTEM, "activity", fields=["subject"], search="meanwhile",
                                 sort=[("subject", "desc")], limit=3).records
        assert [r["subject"] for r in found] == ["Added meanwhile"]
    finally:
        services.engine.dispose()
