"""Plan tests: every list view, related list and board in the shipped metadata reads its
first page off an index, on SQLite and on PostgreSQL, for an admin, a manager and a rep.

Not timings: each case runs the real ObjectQL call, captures the SQL it sends, and asks
the database for its plan. A plan that sorts (PostgreSQL `Sort` or `Incremental Sort`,
SQLite `USE TEMP B-TREE FOR ... ORDER BY`) fails: on the large data set sorting the
filtered set is what made a rep's list 21x slower on PostgreSQL than the same query
written by hand, and since sort indexes end in ObjectQL's id tie-break, even sorting the
ties of one date is avoidable (it read 94 rows for a 20-row page).

Statistics are realistic: ~20,000 rows from the large seed (the owners, picklist spreads
and dates of the 1.6M-row data set), then `VACUUM (ANALYZE)` / `ANALYZE` as `hotcrm seed`
does — so board totals are index-only scans on PostgreSQL. At this scale PostgreSQL
rightly sorts a hundred rows rather than walk an index, so there the page plans are
explained with sorts priced out (`enable_sort = off`): a Sort left in the plan means no
index can deliver the order. SQLite needs no such help.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from app.core import Services, build_services
from app.objectql import Context
from app.seed.demo import ensure_demo_users
from app.seed.large import seed_large
from app.storage.rollups import PREFIX as ROLLUP_PREFIX
from components.field_widgets import lookup_expand, name_fields
from components.kanban_logic import board_spec, kanban_views, load_board
from components.related_list import ROWS
from components.related_list import _sort as related_sort
from tests.support.databases import scratch_postgres

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 600  # x3 contacts, x2 opportunities and emails, x10 activities
# One worker runs the module, so each database is seeded once (~12 s each), not per worker.
pytestmark = [pytest.mark.xdist_group("query_plans")]
PAGE = 50
USERS = {"admin": "admin@hotcrm.local", "manager": "manager@hotcrm.local",
         "rep": "alice@hotcrm.local"}


@dataclass
class Seeded:
    services: Services
    users: dict[str, Context]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Seeded]:
    with _database(request.param, tmp_path_factory) as url:
        services = build_services(database_url=url, metadata_dir=ROOT / "metadata")
        try:
            seed_large(services, accounts=ACCOUNTS, contacts=3 * ACCOUNTS,
                       opportunities=2 * ACCOUNTS, activities=10 * ACCOUNTS,
                       emails=2 * ACCOUNTS, random_seed=7, progress=False)
            contexts = ensure_demo_users(services)
            yield Seeded(services, {role: contexts[email] for role, email in USERS.items()})
        finally:
            services.engine.dispose()


@contextmanager
def _database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('plans') / 'plans.db'}"
        return
    with scratch_postgres("hotcrm_plans") as url:
        yield url


# -- capturing and explaining ------------------------------------------------------------
@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every SELECT ObjectQL sends inside the block, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
               _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


@dataclass
class Plan:
    text: str  # readable, for failure messages
    sorts: list[str]  # sorts over the filtered set
    index_only: bool  # answered from an index without reading the table


def explain(engine: Engine, statement: str, parameters: Any, allow_sort: bool = False) -> Plan:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            if allow_sort:
                # Board totals read a whole (filtered) table; at test scale a few pages of
                # heap beat any index, so price out the heap scan to ask whether a
                # COVERING index exists (it must, for the 200k-row board).
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            else:
                # At test scale sorting 100 rows is rightly cheaper than an index walk, so
                # ask whether an order-serving plan EXISTS: with sorts priced out, a Sort
                # node left means no index delivers the order (as with the old NULLS
                # mismatch). On the large data set the planner picks that plan itself.
                conn.exec_driver_sql("SET LOCAL enable_sort = off")
            doc = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement,
                                       parameters).scalar_one()
            nodes = list(_walk(doc[0]["Plan"]))
            readable = "\n".join(r[0] for r in conn.exec_driver_sql(
                "EXPLAIN " + statement, parameters))
            return Plan(readable,
                        [str(n.get("Sort Key")) for n in nodes
                         if n["Node Type"] in ("Sort", "Incremental Sort")],
                        any(n["Node Type"] == "Index Only Scan" for n in nodes))
        rows = [r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                   parameters)]
        return Plan("\n".join(rows), [r for r in rows if "B-TREE FOR" in r and "ORDER BY" in r],
                    any("COVERING INDEX" in r for r in rows))


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def page_queries(seen: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(s, p) for s, p in seen if "ORDER BY" in s.upper() and "LIMIT" in s.upper()
            and "GROUP BY" not in s.upper()]


def assert_served_by_index(engine: Engine, queries: list[tuple[str, Any]], what: str,
                           at_most: int | None = None) -> None:
    """No sort of the filtered set, unless that set is known to fit `at_most` rows."""
    assert queries, f"{what}: no page query was captured"
    for statement, parameters in queries:
        plan = explain(engine, statement, parameters)
        assert not plan.sorts or at_most is not None, (
            f"{what} sorts the filtered set on {engine.dialect.name} instead of reading an "
            f"index in order:\n{statement}\n{parameters}\n{plan.text}")


# -- the cases -----------------------------------------------------------------------------
def _list_views() -> list[tuple[str, str]]:
    from app.metadata import load_registry

    registry = load_registry(ROOT / "metadata")
    return [(obj.name, view) for obj in registry.business_objects for view in obj.list_views]


def _related_lists() -> list[tuple[str, str, str]]:
    from app.metadata import load_registry

    registry = load_registry(ROOT / "metadata")
    return [(obj.name, spec.object, spec.field) for obj in registry.business_objects
            for layout in obj.page_layouts.values() for spec in layout.related_lists]


@pytest.mark.parametrize("role", sorted(USERS))
@pytest.mark.parametrize(("object_name", "view"), _list_views())
def test_list_view_first_page_is_read_off_an_index(seeded: Seeded, object_name: str,
                                                   view: str, role: str) -> None:
    ql, ctx = seeded.services.ql, seeded.users[role]
    obj = ql.object(object_name)
    with captured(seeded.services.engine) as seen:
        ql.find(ctx, object_name, view=view, limit=PAGE, with_total=True)
    assert_served_by_index(seeded.services.engine, page_queries(seen),
                           f"{role}'s list view {object_name}/{view} "
                           f"(sort {obj.list_views[view].sort})")


@pytest.mark.parametrize("role", sorted(USERS))
@pytest.mark.parametrize(("parent", "child", "via"), _related_lists())
def test_related_list_is_read_off_an_index(seeded: Seeded, parent: str, child: str,
                                           via: str, role: str) -> None:
    ql, ctx = seeded.services.ql, seeded.users[role]
    child_obj = ql.object(child)
    # The parent with the most children this user can see: the worst case for a sort.
    rows = ql.aggregate(ctx, child, group_by=[via], aggregate={"n": ("count", "id")},
                        filters=[[via, "!=", None]], sort=[["n", "desc"]], limit=1)
    if not rows:
        pytest.skip(f"{role} sees no {child} linked through {via}")
    biggest = rows[0]["n"]
    readable = set(ql.readable_fields(ctx, child_obj))
    fields = list(dict.fromkeys([*name_fields(child_obj), "created_at"]))
    with captured(seeded.services.engine) as seen:
        # The same call components/related_list.py makes.
        ql.related(ctx, child, via, rows[0][via], fields=fields,
                   expand=lookup_expand(ql, child_obj, fields),
                   sort=related_sort(child_obj, readable), limit=ROWS, with_total=True)
    # Sorting a related set that fits one list (one contract per deal) costs nothing.
    assert_served_by_index(seeded.services.engine, page_queries(seen),
                           f"{role}'s related list {parent} -> {child}.{via} "
                           f"({biggest} rows)", at_most=biggest if biggest <= ROWS else None)


def _boards() -> list[tuple[str, str]]:
    from app.metadata import load_registry

    registry = load_registry(ROOT / "metadata")
    return [(obj.name, name) for obj in registry.business_objects
            for name, _ in kanban_views(obj)]


@pytest.mark.parametrize("role", sorted(USERS))
@pytest.mark.parametrize(("object_name", "view"), _boards())
def test_board_cards_and_totals_come_from_indexes(seeded: Seeded, object_name: str,
                                                  view: str, role: str) -> None:
    ql, ctx = seeded.services.ql, seeded.users[role]
    spec = board_spec(ql.object(object_name), view)
    engine = seeded.services.engine
    with captured(engine) as seen:
        columns = load_board(ql, ctx, spec)
    assert sum(c.count for c in columns) > 0
    assert_served_by_index(engine, page_queries(seen), f"{role}'s board {object_name}/{view}")
    totals = [(s, p) for s, p in seen if "GROUP BY" in s.upper()]
    assert len(totals) == 1
    plan = explain(engine, *totals[0], allow_sort=True)  # sorting 7 groups is fine
    # Totals a dashboard rollup keeps (app/storage/rollups.py) read that small table.
    assert plan.index_only or ROLLUP_PREFIX in plan.text, (
        f"{role}'s board totals read the table on "
        f"{engine.dialect.name} (no covering index used):\n{plan.text}")


def test_bulk_load_leaves_tables_analyzed_and_all_visible(seeded: Seeded) -> None:
    """After `hotcrm seed` the planner knows the row counts, and on PostgreSQL every page
    is in the visibility map, so counts and board totals can skip the table."""
    engine = seeded.services.engine
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            pages, visible, rows = conn.exec_driver_sql(
                "SELECT relpages, relallvisible, reltuples FROM pg_class "
                "WHERE relname = 'opportunity'").one()
            assert rows == 2 * ACCOUNTS and pages > 0 and visible == pages
        else:
            stat = conn.exec_driver_sql(
                "SELECT stat FROM sqlite_stat1 WHERE tbl = 'opportunity' LIMIT 1").scalar()
            assert stat and int(stat.split()[0]) == 2 * ACCOUNTS
