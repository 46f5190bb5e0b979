"""All widget data of the sales dashboard, cold and warm, against the same aggregates as
hand-written SQL in the same run.

Usage: python bench/dashboard.py --database-url URL [--seed] [--scale N] [--runs N]
                                 [--industry VALUE]
With --seed an empty database is first loaded with 200,000 opportunities (20,000 accounts
and contacts, 200,000 activities, 50,000 leads; bulk, as `hotcrm seed` does); --scale N
loads N opportunities instead, the rest in the same proportions (a medium set to try).
--industry sets the dashboard's industry filter (account.industry): the hand-written SQL
then joins the account, as a developer would.

cold  = every widget computed (cache emptied before each run), as the sales manager
warm  = the same call answered from the widget cache
hand  = the same figures as hand-written SQL (one statement per distinct set of rows, the
        manager's row-level restriction included), executed one after another
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date
from typing import Any

from sqlalchemy import bindparam, text

from app.core import build_services
from app.dashboards.cache import LocalCache
from app.dashboards.filters import trailing_months
from app.dashboards.service import Dashboards
from app.dashboards.trend import trend_span
from app.objectql import Context
from app.seed import database_is_empty
from app.seed.demo import ensure_demo_users
from app.seed.large import seed_large

WON = "stage = 'closed_won'"
OPEN = "stage NOT IN ('closed_won', 'closed_lost')"
CLOSED = "stage IN ('closed_won', 'closed_lost')"


def hand_written(year_start: date, industry: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """The statements a developer would write for the same widgets (period = :s .. :e,
    previous = :ps .. :pe; dates bound as parameters; with `industry`, only deals and
    contracts of accounts in :industry, and leads in it)."""
    OPP = ("FROM opportunity o JOIN account a ON a.id = o.account WHERE "
           "a.industry = :industry AND o.owner IN :owners") if industry \
        else "FROM opportunity o WHERE o.owner IN :owners"
    CONTRACT = ("FROM contract c JOIN account a ON a.id = c.account WHERE "
                "a.industry = :industry AND c.owner IN :owners") if industry \
        else "FROM contract c WHERE c.owner IN :owners"
    LEAD = "l.industry = :industry AND " if industry else ""
    IN_INDUSTRY = " AND a.industry = :industry" if industry else ""
    period, previous = {"a": "s", "b": "e"}, {"a": "ps", "b": "pe"}
    out: list[tuple[str, dict[str, Any]]] = []
    for span in (period, previous):
        rng = f"o.close_date >= :{span['a']} AND o.close_date < :{span['b']}"
        out += [  # revenue, average deal, sales cycle, deals won: one statement
            (f"SELECT sum(o.amount), avg(o.amount), count(*), avg(julianday(o.close_date)) - "
             f"avg(julianday(o.created_at)) {OPP} AND {WON} AND {rng}", {"sqlite": True}),
            (f"SELECT o.stage, count(*) {OPP} AND {CLOSED} AND {rng} GROUP BY o.stage", {}),
            (f"SELECT sum(c.contract_value), count(*) {CONTRACT} "
             f"AND c.start_date >= :{span['a']} AND c.start_date < :{span['b']}", {}),
            (f"SELECT l.status, count(*) FROM lead l WHERE {LEAD}l.owner IN :owners AND "
             f"l.created_at >= :{span['a']} AND l.created_at < :{span['b']} "
             "GROUP BY l.status", {}),
        ]
    rng = "o.close_date >= :s AND o.close_date < :e"
    out += [
        (f"SELECT sum(o.amount), sum(o.expected_revenue), count(*) {OPP} AND {OPEN}", {}),
        (f"SELECT o.stage, sum(o.amount), count(*) {OPP} AND {OPEN} GROUP BY o.stage", {}),
        ("SELECT {month}, sum(o.amount), count(*) " + OPP + f" AND {WON} AND "
         "o.close_date >= :ts AND o.close_date < :te GROUP BY 1", {"month": True}),
        (f"SELECT a.industry, sum(o.amount) FROM opportunity o LEFT JOIN account a ON "
         f"a.id = o.account WHERE o.owner IN :owners AND {WON} AND {rng}{IN_INDUSTRY} "
         "GROUP BY a.industry", {}),
        (f"SELECT o.loss_reason, count(*), sum(o.amount) {OPP} AND o.stage = 'closed_lost' "
         f"AND {rng} GROUP BY o.loss_reason", {}),
        ("SELECT {month}, o.forecast_category, sum(o.amount) " + OPP + f" AND {rng} AND "
         "o.forecast_category IN ('closed', 'commit', 'best_case', 'pipeline') "
         "GROUP BY 1, 2", {"month": True}),
        (f"SELECT o.id, o.name, a.name, o.stage, o.amount, o.close_date, o.owner "
         f"FROM opportunity o LEFT JOIN account a ON a.id = o.account WHERE o.owner IN "
         f":owners AND {OPEN}{IN_INDUSTRY} ORDER BY o.amount DESC, o.id LIMIT 10", {}),
        (f"SELECT o.owner, o.stage, count(*), sum(o.amount) {OPP} AND {CLOSED} AND {rng} "
         "GROUP BY o.owner, o.stage", {}),
        ("SELECT t.owner, count(*) FROM activity t WHERE t.owner IN :owners AND "
         "t.activity_date >= :s AND t.activity_date < :e GROUP BY t.owner", {}),
        ("SELECT t.id, t.subject, t.type, t.activity_date, a.name, t.owner FROM activity t "
         "LEFT JOIN account a ON a.id = t.account WHERE t.owner IN :owners "
         "ORDER BY t.activity_date DESC, t.id LIMIT 8", {}),
        ("SELECT id, name FROM \"user\" WHERE id IN :owners", {}),  # owner names
    ]
    # The KPIs' six-month sparklines (:ms .. :me): the same figures per month.
    months = "o.close_date >= :ms AND o.close_date < :me"
    out += [
        ("SELECT {month}, sum(o.amount), avg(o.amount), count(*), avg(julianday(o.close_date))"
         " - avg(julianday(o.created_at)) " + OPP + f" AND {WON} AND {months} GROUP BY 1",
         {"sqlite": True, "month": True}),
        ("SELECT {month}, o.stage, count(*) " + OPP + f" AND {CLOSED} AND {months} "
         "GROUP BY 1, 2", {"month": True}),
        ("SELECT {month_c}, sum(c.contract_value), count(*) " + CONTRACT + " AND "
         "c.start_date >= :ms AND c.start_date < :me GROUP BY 1", {"month": True}),
        ("SELECT {month_l}, l.status, count(*) FROM lead l WHERE " + LEAD + "l.owner IN "
         ":owners AND l.created_at >= :ms AND l.created_at < :me GROUP BY 1, 2",
         {"month": True}),
    ]
    return out


def run_hand(engine: Any, statements: list[tuple[str, dict[str, Any]]],
             params: dict[str, Any]) -> None:
    dialect = engine.dialect.name
    def month_of(column: str) -> str:
        return f"strftime('%Y-%m', {column})" if dialect == "sqlite" \
            else f"to_char({column}, 'YYYY-MM')"
    with engine.connect() as conn:
        for sql, flags in statements:
            if flags.get("sqlite") and dialect != "sqlite":
                sql = sql.replace("julianday(o.close_date)",
                                  "(o.close_date - date '1970-01-01')").replace(
                    "julianday(o.created_at)", "extract(epoch from o.created_at) / 86400")
            sql = sql.replace("{month}", month_of("o.close_date")).replace(
                "{month_c}", month_of("c.start_date")).replace(
                "{month_l}", month_of("l.created_at"))
            stmt = text(sql)
            if ":owners" in sql:
                stmt = stmt.bindparams(bindparam("owners", expanding=True))
            conn.execute(stmt, {k: v for k, v in params.items()
                                if f":{k}" in sql}).all()


def timed(fn: Any, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("HOTCRM_DATABASE_URL"))
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--scale", type=int, default=200_000,
                        help="opportunities to seed (with --seed); the rest in proportion")
    parser.add_argument("--industry", help="the dashboard's industry filter, e.g. finance")
    args = parser.parse_args()
    services = build_services(database_url=args.database_url)
    ql = services.ql
    if args.seed and database_is_empty(ql):
        started = time.perf_counter()
        n = args.scale
        counts = seed_large(services, accounts=n // 10, contacts=n // 10,
                            opportunities=n, activities=n, leads=n // 4)
        print(f"seeded {counts} in {time.perf_counter() - started:.0f} s")
    parallel = Dashboards(ql, LocalCache())
    serial = Dashboards(ql, LocalCache(), workers=1)
    users = ensure_demo_users(services)
    manager = users["manager@hotcrm.local"]
    [owners] = [[manager.user_id, *sorted(manager.subordinate_ids)]]
    n = ql.count(Context.system(), "opportunity", cap=10_000_000)[0]
    print(f"{services.engine.dialect.name}: {n:,} opportunities; as the sales manager "
          f"(sees {len(owners)} owners)")

    dashboards = parallel
    state = dashboards.state(manager, "sales",
                             {"industry": args.industry} if args.industry else {})
    assert state.period is not None
    widgets = len(dashboards.definition("sales").widgets)
    twelve = trailing_months("$last_n_months:12", state.today)
    sparkline = trend_span(6, state)
    assert twelve is not None and sparkline is not None
    params = {"owners": owners, "s": state.period.start, "e": state.period.end,
              "ps": state.period.previous.start, "pe": state.period.previous.end,
              "ts": twelve[0], "te": twelve[1], "industry": args.industry,
              "ms": sparkline[0], "me": sparkline[1]}
    statements = hand_written(state.today, bool(args.industry))
    if args.industry:
        print(f"industry filter: {args.industry}")

    def cold(service: Dashboards = parallel) -> None:
        for obj in ("opportunity", "account", "contract", "activity", "lead", "user"):
            service.cache.invalidate(obj)
        service.data(manager, "sales", state)

    def warm() -> None:
        dashboards.data(manager, "sales", state)

    cold()  # first touch: pages into the OS cache for both sides
    run_hand(services.engine, statements, params)
    ours, one_thread, hand = [], [], []
    for _ in range(args.runs):  # interleaved, so load changes hit all alike
        ours += timed(cold, 1)
        one_thread += timed(lambda: cold(serial), 1)
        hand += timed(lambda: run_hand(services.engine, statements, params), 1)
    warm_samples = timed(warm, 200)
    c, h, w = statistics.median(ours), statistics.median(hand), statistics.median(warm_samples)
    s1 = statistics.median(one_thread)
    print(f"hand-written SQL ({len(statements)} statements, one after another) {h:8.1f} ms")
    print(f"cold: all {widgets} widgets {c:8.1f} ms ({parallel.workers} threads) | ratio "
          f"{c / h:4.2f}x  (median of {args.runs})")
    print(f"cold: all {widgets} widgets {s1:8.1f} ms (1 thread)  | ratio {s1 / h:4.2f}x")
    print(f"warm: all {widgets} widgets {w:8.3f} ms (cached) | ratio to hand-written "
          f"{w / h:6.4f}x  (median of 200)")
    parallel.close()
    serial.close()


if __name__ == "__main__":
    main()
