"""Search through the index (SQLite FTS5 trigram / PostgreSQL pg_trgm) against the old
LIKE scan, on the same data, in the same run.

Usage: python bench/search.py --database-url URL [--seconds S]
Needs a seeded database (`hotcrm seed --scale large`, or a smaller N). Opening it runs
schema sync, which builds the search index if it is missing (timed and printed).

Each case is an ObjectQL call the UI makes: the global search page (`search_object`:
substring search on one object sorted by its title field, 6 rows) and a list's quick
search count, as admin and as a sales rep (row security adds owner = rep). The baseline
is the very same ObjectQL call without the index: on SQLite a second ObjectQL whose
schema has no search tables (so it compiles today's `lower(col) LIKE '%term%'`), on
PostgreSQL a second engine with `enable_bitmapscan = off` (GIN indexes are only read
through bitmap scans, so the planner is back to the plan it had before they existed).
Both must return the same rows (checked). Since 2026-12-07 ObjectQL runs PostgreSQL
searches with its own planner settings (app/objectql/search_plans.py: no ordered index
walks for counts and pages sorted by a searched field), which the baseline engine gets
too: with bitmap scans off as well, its counts and title-sorted pages are sequential
scans; newest-first pages may still walk the primary key.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.core import build_services
from app.objectql import Context
from bench.objectql import pct

CASES = [  # (label, object, search text, title sort field)
    ("contact substring 'chards'", "contact", "chards", "last_name"),
    ("contact word 'Nelson'", "contact", "Nelson", "last_name"),
    ("contact two words 'yuki sato'", "contact", "yuki sato", "last_name"),
    ("contact rare 'wardeducation'", "contact", "wardeducation", "last_name"),
    ("account substring 'techno'", "account", "techno", "name"),
    ("activity common 'follow'", "activity", "follow", "subject"),
    ("activity word 'whitepaper'", "activity", "whitepaper", "subject"),
]


def measure_pair(ours: Callable[[], object], baseline: Callable[[], object], seconds: float
                 ) -> tuple[list[float], list[float]]:
    """Rounds of one baseline call and as many calls of ours as fit in the same time (at
    most 20), so a burst of load from other jobs hits both alike; at least `seconds` and
    8 baseline calls. 2 warm-up calls each."""
    for _ in range(2):
        ours()
        baseline()
    samples: tuple[list[float], list[float]] = ([], [])
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples[1]) < 8:
        start = time.perf_counter()
        baseline()
        budget = time.perf_counter() - start
        samples[1].append(budget * 1000)
        spent = 0.0
        for _ in range(20):
            start = time.perf_counter()
            ours()
            took = time.perf_counter() - start
            samples[0].append(took * 1000)
            spent += took
            if spent >= budget:
                break
    return samples


def report(label: str, ours: Callable[[], object], baseline: Callable[[], object],
           seconds: float, width: int = 44) -> None:
    """One printed row: ours against the baseline in the same run (measure_pair), p50 and
    p95 of each and the speed-up at p50."""
    fast, slow = measure_pair(ours, baseline, seconds)
    p50, p95, o50, o95 = pct(fast, .5), pct(fast, .95), pct(slow, .5), pct(slow, .95)
    print(f"{label:<{width}} {p50:8.2f}ms {p95:7.2f}ms | {o50:8.2f}ms {o95:7.2f}ms | "
          f"{o50 / p50:6.1f}x (n={len(fast)})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("HOTCRM_DATABASE_URL"))
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--newest-only", action="store_true",
                        help="only the global search page, newest first vs by title")
    parser.add_argument("--by-field-only", action="store_true",
                        help="only pages sorted by the searched field (the values window "
                             "against the same query without it)")
    parser.add_argument("--views-only", action="store_true",
                        help="only the list views' quick search (page + total, the view's "
                             "order)")
    args = parser.parse_args()
    started = time.perf_counter()
    services = build_services(database_url=args.database_url)
    print(f"open + schema sync (builds the index when missing): "
          f"{time.perf_counter() - started:.1f} s")
    ql = services.ql
    if services.engine.dialect.name == "postgresql":
        old = build_services(database_url=args.database_url).ql

        @event.listens_for(old.engine, "connect")
        def no_bitmap_scans(dbapi_connection: Any, record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET enable_bitmapscan = off")
            dbapi_connection.commit()

        old.engine.dispose()  # connections made before the listener go
        with old.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW enable_bitmapscan").scalar() == "off"
    else:
        old = build_services(database_url=args.database_url).ql
        old._schema = replace(old._schema, search={})  # today's LIKE compile
    system = Context.system()
    counts = {o: ql.count(system, o, cap=10_000_000)[0] for o in ("account", "contact",
                                                                   "activity")}
    print(f"database: {services.engine.dialect.name}; rows: "
          + ", ".join(f"{n:,} {o}" for o, n in counts.items()))
    rep = ql.find_one(system, "user", fields=["id", "name"],
                      filters=[["role", "=", "sales_rep"]], sort=[["email", "asc"]])
    assert rep, "seed the database first"
    admin = Context(user_id="admin", role="admin")
    me = Context(user_id=rep["id"], role="sales_rep")
    if args.newest_only:
        newest_first(ql, old, CASES, [("admin", admin), ("rep", me)], args.seconds)
        return
    if args.views_only:
        view_pages(ql, old, [("admin", admin), ("rep", me)], args.seconds)
        return
    if args.by_field_only:
        by_field_pages(services, args.database_url, [("admin", admin), ("rep", me)],
                       args.seconds)
        return
    print(f"{'case':<44} {'index p50':>10} {'p95':>9} | {'LIKE p50':>9} {'p95':>9} | speed-up")
    for label, obj, term, sort in CASES:
        if not counts.get(obj):
            continue
        for who, ctx in (("admin", admin), ("rep", me)):
            def page(q=ql, c=ctx, o=obj, t=term, s=sort) -> object:  # global search page
                return [r["id"] for r in q.find(c, o, fields=["id", s], search=t,
                                                sort=[(s, "asc")], limit=6).records]

            def count(q=ql, c=ctx, o=obj, t=term) -> object:  # list quick search count
                return q.count(c, o, search=t)

            for kind, fn in (("page", page), ("count", count)):
                ours: Callable[[], object] = fn
                baseline: Callable[[], object] = lambda f=fn: f(old)  # noqa: E731
                assert ours() == baseline(), (label, who, kind)
                report(f"{label} {kind} {who}", ours, baseline, args.seconds)
    newest_first(ql, old, CASES, [("admin", admin), ("rep", me)], args.seconds)
    view_pages(ql, old, [("admin", admin), ("rep", me)], args.seconds)
    by_field_pages(services, args.database_url, [("admin", admin), ("rep", me)],
                   args.seconds)


VIEW_CASES = [  # (object, list view, search text): what a list's quick search asks
    ("activity", "all", "follow"), ("activity", "all", "whitepaper"),
    ("activity", "all", "send security"), ("activity", "all", "zanzibar"),
    ("activity", "my_activities", "follow"), ("activity", "my_activities", "send security"),
    ("activity", "open_tasks", "follow"), ("activity", "open_tasks", "send security"),
    ("contact", "all", "chards"), ("contact", "all", "Nelson"),
    ("account", "all", "techno"),
]


def view_pages(ql: Any, old: Any, who: list[tuple[str, Context]], seconds: float) -> None:
    """A list view's quick search as the list page asks it: the first 50 rows in the
    view's own order with the (capped) total, against the LIKE baseline in the same run.
    Both must return the same rows and total."""
    print(f"\n{'list quick search (50 rows + total)':<44} {'index p50':>10} {'p95':>9} | "
          f"{'LIKE p50':>9} {'p95':>9} | speed-up")
    for obj, view, term in VIEW_CASES:
        for name, ctx in who:
            def page(q=ql, c=ctx, o=obj, v=view, t=term) -> object:
                result = q.find(c, o, fields=["id"], view=v, search=t, limit=50,
                                with_total=True)
                return [r["id"] for r in result.records], result.total

            baseline: Callable[[], object] = lambda f=page: f(old)  # noqa: E731
            assert page() == baseline(), (obj, view, term, name)
            report(f"{obj} {view} '{term}' {name}", page, baseline, seconds)


def newest_first(ql: Any, old: Any, cases: list[tuple[str, str, str, str]],
                 who: list[tuple[str, Context]], seconds: float) -> None:
    """The global search page as it is now (newest first, 21 rows: the database stops
    after the first matches; on SQLite a very common term walks the primary key instead
    of fetching every FTS match) against the page as it was (sorted by title through the
    index) in the same run. The rows must equal the LIKE baseline's newest-first rows."""
    print(f"\n{'global search page (21 rows)':<44} {'newest p50':>10} {'p95':>9} | "
          f"{'by title p50':>12} {'p95':>9} | speed-up")
    for label, obj, term, sort in cases:
        for name, ctx in who:
            def newest(q=ql, c=ctx, o=obj, t=term, s=sort) -> object:
                return [r["id"] for r in q.find(c, o, fields=["id", s], search=t,
                                                sort=[("id", "desc")], limit=21).records]

            def by_title(q=ql, c=ctx, o=obj, t=term, s=sort) -> object:
                return [r["id"] for r in q.find(c, o, fields=["id", s], search=t,
                                                sort=[(s, "asc")], limit=21).records]

            assert newest() == newest(old), (label, name)
            report(f"{label} {name}", newest, by_title, seconds)



BY_FIELD_CASES = [  # (object, field, search text): a column header clicked during a search
    ("activity", "subject", "follow"), ("activity", "subject", "whitepaper"),
    ("activity", "subject", "send security"), ("activity", "subject", "zanzibar"),
    ("activity", "subject", "call with"),
]


def by_field_pages(services: Any, url: str, who: list[tuple[str, Context]],
                   seconds: float) -> None:
    """A list page (50 rows + total) sorted by the very field searched, both ways: read
    from the window the field's kept values give (app/storage/search_values.py) against
    the same ObjectQL call without them (every match fetched through the trigram / FTS
    index and sorted: the plan before), in the same run. Rows and totals must agree."""
    ql = services.ql
    before = build_services(database_url=url).ql
    before._schema = replace(before._schema, values={})
    print(f"\n{'page sorted by the searched field (50 + total)':<50} {'window p50':>10} "
          f"{'p95':>9} | {'before p50':>10} {'p95':>9} | speed-up")
    for obj, field, term in BY_FIELD_CASES:
        for direction in ("asc", "desc"):
            for name, ctx in who:
                def page(q=ql, c=ctx, o=obj, f=field, t=term, d=direction) -> object:
                    result = q.find(c, o, fields=["id", f], search=t, sort=[(f, d)],
                                    limit=50, with_total=True)
                    return [r["id"] for r in result.records], result.total

                baseline: Callable[[], object] = lambda f=page: f(before)  # noqa: E731
                assert page() == baseline(), (obj, term, direction, name)
                report(f"{obj} by {field} {direction} '{term}' {name}", page, baseline,
                       seconds, width=50)


if __name__ == "__main__":
    main()
