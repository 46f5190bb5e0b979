"""ObjectQL against hand-written SQLAlchemy Core, on the same data, in the same process.

Usage: python bench/objectql.py [--database-url URL] [--seconds S]
Needs a seeded database (`hotcrm seed --scale large`); with --seed-accounts N it seeds
N accounts (and the large-scale ratios) first when the database is empty.
Each case prints p50/p95 of ObjectQL, of the hand-written query, and their ratio.

The hand-written queries are what a PostgreSQL expert would write against the same
tables and indexes, returning the same rows (checked): the rep's row-level restriction
(owner = rep on private objects) included, the page taken from the index before the
lookup join, the count capped, the insert and its audit row in one statement on
PostgreSQL (a data-modifying CTE), so a ratio near 1 means ObjectQL adds little.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import bindparam, event, func, insert, literal, literal_column, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app import audit
from app.audit import AUDIT
from app.core import build_services
from app.objectql import Context, rollup_upkeep
from app.storage.db import analyze
from app.storage.ids import new_id
from app.storage.rollups import COUNT, count_column, sum_column
from app.storage.rollups import rebuild as rebuild_rollup


def measure_pair(ours: Callable[[], object], hand: Callable[[], object], seconds: float
                 ) -> tuple[list[float], list[float]]:
    """Both sides in alternating rounds of 10 calls, so a burst of load from other jobs on
    the machine hits both alike and the ratio stays meaningful."""
    for _ in range(20):  # warm caches, SQLAlchemy's statement cache, prepared statements
        ours()
        hand()
    samples: tuple[list[float], list[float]] = ([], [])
    deadline = time.perf_counter() + 2 * seconds
    while time.perf_counter() < deadline and len(samples[0]) < 20_000:
        for fn, into in ((ours, samples[0]), (hand, samples[1])):
            for _ in range(10):
                start = time.perf_counter()
                fn()
                into.append((time.perf_counter() - start) * 1000)
    return samples


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, ours: list[float], hand: list[float]) -> dict[str, float]:
    p50, p95, h50, h95 = pct(ours, .5), pct(ours, .95), pct(hand, .5), pct(hand, .95)
    ratio = p50 / h50 if h50 else float("nan")
    print(f"{name:<28} ObjectQL p50 {p50:7.3f} ms  p95 {p95:7.3f} ms | hand-written p50 "
          f"{h50:7.3f} ms  p95 {h95:7.3f} ms | ratio {ratio:4.2f}x  (n={len(ours)})")
    return {"p50": p50, "p95": p95, "hand_p50": h50, "ratio": ratio}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("HOTCRM_DATABASE_URL"))
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--seed-accounts", type=int, default=0)
    args = parser.parse_args()
    services = build_services(database_url=args.database_url)
    ql, engine = services.ql, services.engine
    system = Context.system()
    if args.seed_accounts and ql.count(system, "account", cap=1)[0] == 0:
        from app.seed import seed_scale

        seed_scale(services, str(args.seed_accounts), 42)
    counts = {o: ql.count(system, o, cap=10_000_000)[0]
              for o in ("account", "contact", "opportunity", "activity")}
    print(f"database: {engine.dialect.name}; rows: " +
          ", ".join(f"{n:,} {o}" for o, n in counts.items()))
    rep = ql.find_one(system, "user", fields=["id"], filters=[["role", "=", "sales_rep"]])
    assert rep, "seed the database first"
    me = Context(user_id=rep["id"], role="sales_rep")
    acc, opp = ql.schema.table("account"), ql.schema.table("opportunity")
    # An expert reads outside a transaction on PostgreSQL (no BEGIN/ROLLBACK round trips).
    reader = engine.execution_options(isolation_level="AUTOCOMMIT") \
        if engine.dialect.name == "postgresql" else engine
    results = {}

    list_cols = ["name", "account_number", "industry", "type", "annual_revenue", "phone",
                 "owner"]

    def ours_list() -> object:
        return ql.find(me, "account", fields=list_cols, filters=[["owner", "=", "$user"]],
                       sort=[["name", "asc"]], limit=20).records

    # Built once with the owner as a parameter, as an expert would (SQLAlchemy's cache key
    # of a statement built per call costs more than the indexed page).
    list_stmt = (select(acc.c.id, *[acc.c[c] for c in list_cols])
                 .where(acc.c.owner == bindparam("owner"))
                 .order_by(acc.c.name.asc().nulls_first(), acc.c.id.asc().nulls_first())
                 .limit(literal_column("20")))

    def hand_list() -> object:
        with reader.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(list_stmt, {"owner": me.user_id})]

    assert [r["id"] for r in ours_list()] == [r["id"] for r in hand_list()]  # type: ignore
    results["list page"] = report("list page (owner, by name)",
                                    *measure_pair(ours_list, hand_list, args.seconds))

    def ours_join() -> object:
        return ql.find(me, "opportunity", fields=["name", "account.name", "stage", "amount",
                                                  "close_date"],
                       filters=[["owner", "=", "$user"]], sort=[["close_date", "desc"]],
                       limit=20).records

    # Built once, as an expert would: making the account alias (40 columns) per call
    # costs more than the query.
    a = acc.alias("a")
    if engine.dialect.name != "postgresql":  # SQLite nests the loop by itself
        join_stmt = (select(opp.c.id, opp.c.name, a.c.name.label("account.name"),
                            opp.c.stage, opp.c.amount, opp.c.close_date)
                     .select_from(opp.outerjoin(a, opp.c.account == a.c.id))
                     .where(opp.c.owner == me.user_id)
                     .order_by(opp.c.close_date.desc().nulls_last(),
                               opp.c.id.desc().nulls_last()).limit(literal_column("20")))
    else:
        # PostgreSQL: the page comes off (owner, close_date, id) first; only its 20 rows
        # probe account.
        page = (select(opp.c.id, opp.c.name, opp.c.account, opp.c.stage, opp.c.amount,
                       opp.c.close_date)
                .where(opp.c.owner == me.user_id)
                .order_by(opp.c.close_date.desc().nulls_last(), opp.c.id.desc().nulls_last())
                .limit(literal_column("20"))
                .subquery("page"))
        join_stmt = (select(page.c.id, page.c.name, a.c.name.label("account.name"),
                            page.c.stage, page.c.amount, page.c.close_date)
                     .select_from(page.outerjoin(a, page.c.account == a.c.id))
                     .order_by(page.c.close_date.desc().nulls_last(),
                               page.c.id.desc().nulls_last()))

    def hand_join() -> object:
        with reader.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(join_stmt)]

    assert [r["id"] for r in ours_join()] == [r["id"] for r in hand_join()]  # type: ignore
    results["join page"] = report("lookup join page",
                                    *measure_pair(ours_join, hand_join, args.seconds))

    def ours_count() -> object:
        return ql.count(me, "opportunity", filters=[["stage", "=", "prospecting"]])

    # The rep's visibility (own records) is part of the query ObjectQL runs, so here too.
    counted = (select(literal(1)).where(opp.c.stage == bindparam("stage"),
                                        opp.c.owner == bindparam("owner"))
               .limit(literal_column("10001")).subquery())
    count_stmt = select(func.count()).select_from(counted)

    def hand_count() -> object:
        with reader.connect() as conn:
            return conn.execute(count_stmt, {"stage": "prospecting",
                                             "owner": me.user_id}).scalar()

    results["count"] = report("capped count",
                                *measure_pair(ours_count, hand_count, args.seconds))

    def ours_agg() -> object:
        return ql.aggregate(me, "opportunity", group_by=["stage"],
                            aggregate={"amount": ("sum", "amount"), "n": ("count", "id")})

    def hand_agg() -> object:
        stmt = (select(opp.c.stage, func.sum(opp.c.amount), func.count())
                .where(opp.c.owner == me.user_id).group_by(opp.c.stage))
        with reader.connect() as conn:
            return conn.execute(stmt).all()

    results["aggregate"] = report("group-by aggregate",
                                    *measure_pair(ours_agg, hand_agg, args.seconds))

    account_id = ql.find_one(me, "account", fields=["id"],
                             filters=[["owner", "=", "$user"]])["id"]  # type: ignore[index]
    close = date.today() + timedelta(days=30)

    def ours_insert() -> object:
        return ql.insert(me, "opportunity", {"name": "Bench deal", "account": account_id,
                                             "amount": 1000, "stage": "qualification",
                                             "close_date": close})

    postgres = engine.dialect.name == "postgresql"
    record_insert = insert(opp).values(
        id=bindparam("rid"), name="Bench deal", account=account_id, amount=1000.0,
        stage="qualification", probability=20.0, forecast_category="pipeline",
        expected_revenue=200.0, is_won=False, is_closed=False, close_date=close,
        owner=me.user_id, created_at=bindparam("now"), created_by=me.user_id,
        modified_at=bindparam("now"), modified_by=me.user_id, version=1)
    audit_values = {"object": literal("opportunity"), "action": literal("insert"),
                    "user_id": literal(me.user_id), "at": bindparam("now"),
                    "changes": literal({"name": [None, "Bench deal"]}, AUDIT.c.changes.type)}

    # The dashboards' rollups must follow the insert too (ObjectQL keeps them in the save's
    # transaction): an expert adds the deal's contribution to each rollup's group with an
    # upsert — on PostgreSQL folded into the same single statement as data-modifying CTEs.
    # The group values are the deal's (its account's industry read once here, not per
    # save: stricter for us).
    stored = ql.get(Context.system(), "opportunity", str(ours_insert()["id"]))  # type: ignore[index]
    industry = ql.get(Context.system(), "account", account_id)["industry"]
    stored = {**stored, "account.industry": industry}
    upserts = []
    for spec, table in ql.schema.rollups.get("opportunity", []):
        [(key, values)] = rollup_upkeep.deltas(spec, [(None, stored)]).items()
        measures = [COUNT, *[c for m in spec.measures for c in (sum_column(m), count_column(m))]]
        row = {**dict(zip(spec.key_columns, key, strict=True)),
               **{n: int(v) if n == COUNT or n.startswith("c__") else v
                  for n, v in zip(measures, values, strict=True)}}
        dialect_insert = pg_insert if postgres else sqlite_insert
        stmt = dialect_insert(table).values(row)
        upserts.append(stmt.on_conflict_do_update(
            index_elements=list(spec.key_columns),
            set_={n: table.c[n] + stmt.excluded[n] for n in measures}))
    if postgres:
        rec = record_insert.returning(opp.c.id).cte("rec")
        one_statement = insert(AUDIT).from_select(
            ["record_id", *audit_values], select(rec.c.id, *audit_values.values()))
        one_statement = one_statement.add_cte(
            *[u.returning(literal(1)).cte(f"r{i}") for i, u in enumerate(upserts)])

    def hand_insert() -> object:
        now, rid = ql.clock(), new_id()
        with engine.begin() as conn:
            if postgres:  # record, audit row and rollups in one statement, one round trip
                conn.execute(one_statement, {"rid": rid, "now": now})
            else:
                conn.execute(record_insert, {"rid": rid, "now": now})
                audit.record(conn, object_name="opportunity", record_id=rid, action="insert",
                             user_id=me.user_id, at=now,
                             changes={"name": [None, "Bench deal"]})
                for upsert in upserts:
                    conn.execute(upsert)
        return rid

    def statements(fn: Callable[[], object]) -> int:
        seen: list[str] = []

        def count(*_args: object) -> None:
            seen.append("x")

        event.listen(engine, "before_cursor_execute", count)
        try:
            fn()
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    print(f"{'statements per save':<28} ObjectQL {statements(ours_insert)} | hand-written "
          f"{statements(hand_insert)} (plus BEGIN and COMMIT each)")
    ours, hand = measure_pair(ours_insert, hand_insert, args.seconds)
    results["insert"] = report("insert + triggers + audit", ours, hand)
    print(f"{'inserts per second':<28} ObjectQL {1000 / statistics.mean(ours):8.0f}/s | "
          f"hand-written {1000 / statistics.mean(hand):8.0f}/s")
    # Where the difference goes: this process's CPU per save (Python, SQLAlchemy, the
    # driver) against the wall time, which adds the round trips and the server's work.
    cpu = {}
    for label, fn in (("ObjectQL", ours_insert), ("hand-written", hand_insert)):
        started = time.process_time()
        for _ in range(200):
            fn()
        cpu[label] = (time.process_time() - started) / 200 * 1000
    print(f"{'client CPU per save':<28} ObjectQL {cpu['ObjectQL']:.3f} ms | hand-written "
          f"{cpu['hand-written']:.3f} ms")
    with engine.begin() as conn:  # leave the data set as it was, rollups included
        conn.execute(opp.delete().where(opp.c.name == "Bench deal"))
        for spec, table in ql.schema.rollups.get("opportunity", []):
            rebuild_rollup(conn, spec, table, opp, ql.object("opportunity"), ql.schema.table)
    # The deleted rows cleared visibility-map bits; without this the next run's counts and
    # totals read the heap again (17 ms instead of 2 ms for the capped count).
    analyze(engine, ["opportunity", "audit_entry"])


if __name__ == "__main__":
    main()
