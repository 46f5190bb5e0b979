"""Every KPI and chart series of the sales dashboard equals hand-written SQL over the same
data, on SQLite and PostgreSQL, for an admin, a manager, a rep and a viewer; drill-down
filters find exactly the records behind a figure; the cache never serves a stale figure."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from itertools import pairwise
from typing import Any

import pytest

from app.dashboards.drill import drill_filters
from app.dashboards.service import Dashboards
from app.objectql.buckets import bucket_label
from app.objectql.errors import QueryError
from tests.integration.dashboard_support import LAST_Q, THIS_Q, SalesData, make_sales_data

ROLES = ["admin", "manager", "rep_a", "viewer"]
OPEN = "stage NOT IN ('closed_won', 'closed_lost')"


@pytest.fixture
def sales(ql: Any) -> SalesData:
    return make_sales_data(ql)


def _d(value: Any) -> date:
    return value if isinstance(value, date) and not isinstance(value, datetime) \
        else date.fromisoformat(str(value)[:10])


def _dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _same(ours: Any, oracle: Any) -> bool:
    if ours is None or oracle is None:
        return ours is None and oracle is None
    return float(ours) == pytest.approx(float(oracle), rel=1e-9, abs=1e-6)


def _kpi_oracles(s: SalesData, owners: list[str], span: tuple[date, date]) -> dict[str, Any]:
    won = ("FROM opportunity WHERE owner IN :owners AND stage = 'closed_won' "
           "AND close_date >= :s AND close_date < :e")
    p = {"s": span[0], "e": span[1]}
    [(revenue, average, n)] = s.sql(f"SELECT coalesce(sum(amount), 0), avg(amount), count(*) {won}",
                                    owners, **p)
    closed = dict(s.sql("SELECT stage, count(*) FROM opportunity WHERE owner IN :owners AND "
                        "stage IN ('closed_won', 'closed_lost') AND close_date >= :s AND "
                        "close_date < :e GROUP BY stage", owners, **p))
    wins, losses = closed.get("closed_won", 0), closed.get("closed_lost", 0)
    cycles = [(datetime.combine(_d(c), datetime.min.time()) - _dt(created)).total_seconds()
              / 86400 for c, created in s.sql(f"SELECT close_date, created_at {won}",
                                              owners, **p)]
    [(booked,)] = s.sql("SELECT coalesce(sum(contract_value), 0) FROM contract "
                        "WHERE owner IN :owners AND "
                        "start_date >= :s AND start_date < :e", owners, **p)
    leads = dict(s.sql("SELECT status, count(*) FROM lead WHERE owner IN :owners AND "
                       "created_at >= :s AND created_at < :e GROUP BY status", owners, **p))
    new_leads = sum(leads.values())
    qualified = leads.get("qualified", 0) + leads.get("converted", 0)
    return {"revenue": revenue,
            "new_leads": new_leads,
            "lead_qualification": qualified / new_leads * 100 if new_leads else None,
            "avg_deal_size": average, "deals_won": n,
            "win_rate": wins / (wins + losses) * 100 if wins + losses else None,
            "sales_cycle": sum(cycles) / len(cycles) if cycles else None,
            "contracts_booked": booked}


@pytest.mark.parametrize("who", ROLES)
def test_kpis_equal_hand_written_sql(ql: Any, sales: SalesData, who: str):
    ctx = getattr(sales.team, who)
    service = Dashboards(ql)
    data = service.data(ctx, "sales", service.state(ctx, "sales", {}))
    owners = sales.owners_visible(who)
    now, before = _kpi_oracles(sales, owners, THIS_Q), _kpi_oracles(sales, owners, LAST_Q)
    for name, oracle in now.items():
        figure = data[name]
        if name == "contracts_booked" and who == "viewer":  # contract_value is hidden
            assert figure == {"kind": "kpi", "error": "no_access", "message": "No access"}
            continue
        assert _same(figure["value"], oracle), (name, figure["value"], oracle)
        assert _same(figure["previous"], before[name]), (name, figure, before[name])
        if before[name] and oracle is not None:
            assert figure["change"] == pytest.approx(
                (oracle - before[name]) / abs(before[name]) * 100, abs=0.01)
    [(open_amount, weighted, count)] = sales.sql(
        f"SELECT coalesce(sum(amount), 0), coalesce(sum(expected_revenue), 0), count(*) "
        f"FROM opportunity "
        f"WHERE owner IN :owners AND {OPEN}", owners)
    assert _same(data["pipeline"]["value"], open_amount)
    assert _same(data["pipeline"]["row"]["weighted"] or 0, weighted)
    assert data["pipeline"]["row"]["count"] == count
    assert _same(data["weighted_pipeline"]["value"], weighted)
    service.close()


@pytest.mark.parametrize("who", ["manager", "rep_a"])
def test_kpi_trends_equal_hand_written_sql_month_by_month(ql: Any, sales: SalesData,
                                                          who: str):
    """Each KPI's sparkline: its value in each of the period's last six months (this quarter
    runs on, so up to this month), as the same SQL gives it for that month alone."""
    ctx = getattr(sales.team, who)
    service = Dashboards(ql)
    data = service.data(ctx, "sales", service.state(ctx, "sales", {}))
    owners = sales.owners_visible(who)
    months = [date(2024, 12, 1), *(date(2025, m, 1) for m in range(1, 7))]  # Dec … Jun 1
    oracles = [_kpi_oracles(sales, owners, (a, b)) for a, b in pairwise(months)]
    assert any(o["revenue"] for o in oracles) and any(o["new_leads"] for o in oracles)
    for name in oracles[0]:
        trend = data[name]["trend"]
        assert [p["month"] for p in trend] == [f"{m:%Y-%m}" for m in months[:-1]], name
        for point, oracle in zip(trend, oracles, strict=True):
            assert _same(point["value"], oracle[name]), (name, point, oracle[name])
    assert "trend" not in data["pipeline"]  # open deals: no period, no trend
    service.close()


@pytest.mark.parametrize("who", ROLES)
def test_chart_series_equal_hand_written_sql(ql: Any, sales: SalesData, who: str):
    ctx = getattr(sales.team, who)
    service = Dashboards(ql)
    data = service.data(ctx, "sales", service.state(ctx, "sales", {}))
    owners = sales.owners_visible(who)
    period = {"s": THIS_Q[0], "e": THIS_Q[1]}

    funnel = sales.sql(f"SELECT stage, sum(amount), count(*) FROM opportunity "
                       f"WHERE owner IN :owners AND {OPEN} GROUP BY stage", owners)
    ours = {r["stage"]: (r["amount"], r["count"]) for r in data["funnel"]["rows"]}
    assert set(ours) == {stage for stage, _, _ in funnel}
    for stage, amount, n in funnel:
        assert _same(ours[stage][0], amount) and ours[stage][1] == n
    assert list(ours) == [s for s in ("prospecting", "qualification", "needs_analysis",
                                      "proposal", "negotiation") if s in ours]  # stage order

    monthly: dict[str, float] = defaultdict(float)
    for close, amount in sales.sql(
            "SELECT close_date, amount FROM opportunity WHERE owner IN :owners AND "
            "stage = 'closed_won' AND close_date >= :s AND close_date < :e", owners,
            s=date(2024, 6, 1), e=date(2025, 6, 1)):
        monthly[bucket_label(_d(close), "month")] += amount
    chart = data["revenue_by_month"]
    assert {r["close_date:month"]: r["revenue"] for r in chart["rows"]} == pytest.approx(
        dict(monthly))
    assert chart["categories"][0] == "2024-06" and chart["categories"][-1] == "2025-05"
    assert len(chart["categories"]) == 12

    industries = sales.sql(
        "SELECT a.industry, sum(o.amount) FROM opportunity o LEFT JOIN account a "
        "ON a.id = o.account WHERE o.owner IN :owners AND o.stage = 'closed_won' AND "
        "o.close_date >= :s AND o.close_date < :e GROUP BY a.industry", owners, **period)
    assert {r["account.industry"]: r["revenue"] for r in data["revenue_by_industry"]["rows"]} \
        == pytest.approx(dict(industries))

    reasons = sales.sql(
        "SELECT loss_reason, count(*) FROM opportunity WHERE owner IN :owners AND "
        "stage = 'closed_lost' AND close_date >= :s AND close_date < :e GROUP BY loss_reason",
        owners, **period)
    assert {r["loss_reason"]: r["deals"] for r in data["loss_reasons"]["rows"]} == \
        dict(reasons)

    forecast: dict[tuple[str, str], float] = defaultdict(float)
    for close, category, amount in sales.sql(
            "SELECT close_date, forecast_category, amount FROM opportunity WHERE owner IN "
            ":owners AND close_date >= :s AND close_date < :e AND forecast_category IN "
            "('closed', 'commit', 'best_case', 'pipeline') AND amount IS NOT NULL",
            owners, **period):
        forecast[(bucket_label(_d(close), "month"), category)] += amount
    assert {(r["close_date:month"], r["forecast_category"]): r["amount"]
            for r in data["forecast"]["rows"] if r["amount"] is not None} == \
        pytest.approx(dict(forecast))

    top = sales.sql(f"SELECT id FROM opportunity WHERE owner IN :owners AND {OPEN} "
                    "ORDER BY (CASE WHEN amount IS NULL THEN 1 ELSE 0 END), amount DESC, id DESC "
                    "LIMIT 10", owners)
    assert [r["id"] for r in data["top_deals"]["rows"]] == [i for (i,) in top]

    board: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "won": 0, "closed_won_n": 0, "closed_lost_n": 0, "activities": 0})
    for owner, stage, n, amount in sales.sql(
            "SELECT owner, stage, count(*), sum(amount) FROM opportunity WHERE owner IN "
            ":owners AND stage IN ('closed_won', 'closed_lost') AND close_date >= :s AND "
            "close_date < :e GROUP BY owner, stage", owners, **period):
        board[owner][f"{stage}_n"] = n
        if stage == "closed_won":
            board[owner]["won"] = amount
    for owner, n in sales.sql(
            "SELECT owner, count(*) FROM activity WHERE owner IN :owners AND activity_date "
            ">= :s AND activity_date < :e GROUP BY owner", owners, **period):
        board[owner]["activities"] = n
    rows = data["leaderboard"]["rows"]
    assert {r["owner"] for r in rows} == set(board)
    for r in rows:
        assert {k: r[k] for k in ("closed_won_n", "closed_lost_n", "activities")} == \
            {k: board[r["owner"]][k] for k in ("closed_won_n", "closed_lost_n", "activities")}
        assert _same(r["won"], board[r["owner"]]["won"])
    for r in rows:
        total = r["closed_won_n"] + r["closed_lost_n"]
        assert _same(r["win_rate"], r["closed_won_n"] / total * 100 if total else None)
    assert [r["won"] for r in rows] == sorted((r["won"] for r in rows), reverse=True)
    assert set(data["leaderboard"]["labels"]["owner"]) == {r["owner"] for r in rows}

    recent = sales.sql("SELECT id FROM activity WHERE owner IN :owners "
                       "ORDER BY activity_date DESC, id DESC LIMIT 8", owners)
    assert [r["id"] for r in data["recent_activities"]["rows"]] == [i for (i,) in recent]
    service.close()


def test_filters_narrow_every_figure(ql: Any, sales: SalesData):
    t = sales.team
    service = Dashboards(ql)
    params = {"period": "last_quarter", "owner": t.rep_a.user_id, "industry": "technology"}
    state = service.state(t.manager, "sales", params)
    data = service.data(t.manager, "sales", state)
    [(revenue, n)] = sales.sql(
        "SELECT coalesce(sum(o.amount), 0), count(*) FROM opportunity o "
        "JOIN account a ON a.id = o.account "
        "WHERE o.owner IN :owners AND a.industry = 'technology' AND o.stage = 'closed_won' "
        "AND o.close_date >= :s AND o.close_date < :e", [t.rep_a.user_id],
        s=LAST_Q[0], e=LAST_Q[1])
    assert _same(data["revenue"]["value"], revenue) and data["deals_won"]["value"] == n
    # The industry narrows the other figures too (answered from the rollups keeping the
    # account's industry): win rate, funnel, contracts, leads.
    join = ("FROM opportunity o JOIN account a ON a.id = o.account WHERE o.owner IN :owners "
            "AND a.industry = 'technology'")
    closed = dict(sales.sql(f"SELECT o.stage, count(*) {join} AND o.stage IN ('closed_won', "
                            "'closed_lost') AND o.close_date >= :s AND o.close_date < :e "
                            "GROUP BY o.stage", [t.rep_a.user_id], s=LAST_Q[0], e=LAST_Q[1]))
    won, lost = closed.get("closed_won", 0), closed.get("closed_lost", 0)
    assert data["win_rate"]["row"]["closed_won_n"] == won
    assert data["win_rate"]["row"]["closed_lost_n"] == lost
    funnel = {s: (c, a) for s, c, a in sales.sql(
        f"SELECT o.stage, count(*), sum(o.amount) {join} AND o.stage NOT IN ('closed_won', "
        "'closed_lost') GROUP BY o.stage", [t.rep_a.user_id])}
    assert funnel and won + lost > 0  # the data has some of each
    assert {r["stage"]: r["count"] for r in data["funnel"]["rows"]} == \
        {s: c for s, (c, _) in funnel.items()}
    assert all(_same(r["amount"], funnel[r["stage"]][1]) for r in data["funnel"]["rows"])
    [(booked,)] = sales.sql(
        "SELECT coalesce(sum(c.contract_value), 0) FROM contract c JOIN account a ON "
        "a.id = c.account WHERE c.owner IN :owners AND a.industry = 'technology' AND "
        "c.start_date >= :s AND c.start_date < :e", [t.rep_a.user_id], s=LAST_Q[0], e=LAST_Q[1])
    assert _same(data["contracts_booked"]["value"], booked)
    [(leads,)] = sales.sql(
        "SELECT count(*) FROM lead WHERE owner IN :owners AND industry = 'technology' AND "
        "created_at >= :s AND created_at < :e", [t.rep_a.user_id], s=LAST_Q[0], e=LAST_Q[1])
    assert data["new_leads"]["value"] == leads
    assert state.to_params() == params
    custom = service.state(t.manager, "sales", {"period": "custom", "from": "2025-02-01",
                                                "to": "2025-02-28"})
    assert (custom.period.start, custom.period.end) == (date(2025, 2, 1), date(2025, 3, 1))
    assert (custom.period.previous.start, custom.period.previous.end) == \
        (date(2025, 1, 4), date(2025, 2, 1))
    service.close()


def test_owner_filter_respects_security(ql: Any, sales: SalesData):
    t = sales.team
    service = Dashboards(ql)
    with pytest.raises(QueryError) as caught:
        service.state(t.rep_a, "sales", {"owner": t.rep_b.user_id})
    assert caught.value.details[0]["field"] == "owner"
    with pytest.raises(QueryError):
        service.state(t.manager, "sales", {"owner": t.admin.user_id})  # not in the team
    with pytest.raises(QueryError):
        service.state(t.manager, "sales", {"period": "next_decade", "industry": "space"})
    assert service.state(t.admin, "sales", {"owner": t.rep_b.user_id}).owner == t.rep_b.user_id
    assert service.state(t.rep_a, "sales", {"owner": "me"}).owner == t.rep_a.user_id
    service.close()


@pytest.mark.parametrize("who", ["manager", "rep_a"])
def test_drill_down_finds_exactly_the_records_behind_a_figure(ql: Any, sales: SalesData,
                                                              who: str):
    ctx = getattr(sales.team, who)
    service = Dashboards(ql)
    state = service.state(ctx, "sales", {})
    dashboard = service.definition("sales")
    data = service.data(ctx, "sales", state)
    for row in data["funnel"]["rows"]:
        obj, filters = drill_filters(ql, ctx, dashboard.widget("funnel"), state, row)
        assert ql.count(ctx, obj, filters=filters)[0] == row["count"]
    for row in data["revenue_by_month"]["rows"]:
        obj, filters = drill_filters(ql, ctx, dashboard.widget("revenue_by_month"), state, row)
        assert ql.count(ctx, obj, filters=filters)[0] == row["deals"]
    for row in data["leaderboard"]["rows"]:
        obj, filters = drill_filters(ql, ctx, dashboard.widget("leaderboard"), state, row)
        assert ql.count(ctx, obj, filters=filters)[0] == row["closed_won_n"] + \
            row["closed_lost_n"]
    obj, filters = drill_filters(ql, ctx, dashboard.widget("deals_won"), state)
    assert ql.count(ctx, obj, filters=filters)[0] == data["deals_won"]["value"]
    for row in data["revenue_by_industry"]["rows"]:
        obj, filters = drill_filters(ql, ctx, dashboard.widget("revenue_by_industry"), state,
                                     row)
        found = ql.aggregate(ctx, obj, filters=filters, aggregate={"r": ("sum", "amount")})
        assert _same(found[0]["r"], row["revenue"])
    service.close()


def test_cache_is_invalidated_by_change_events(ql: Any, sales: SalesData):
    t = sales.team
    service = Dashboards(ql)
    state = service.state(t.manager, "sales", {})
    before = service.data(t.manager, "sales", state)
    assert service.data(t.manager, "sales", state) == before  # warm
    heard: list[str] = []
    service.subscribe(heard.append)
    deal = ql.find(t.rep_a, "opportunity", fields=["id", "amount"],
                   filters=[["stage", "=", "negotiation"], ["amount", "!=", None]],
                   limit=1).records[0]
    ql.update(t.rep_a, "opportunity", deal["id"], {"stage": "closed_won",
                                                   "close_date": "2025-05-14"})
    assert "opportunity" in heard
    after = service.data(t.manager, "sales", state)
    assert after["deals_won"]["value"] == (before["deals_won"]["value"] or 0) + 1
    assert _same(after["revenue"]["value"], (before["revenue"]["value"] or 0) + deal["amount"])
    service.close()


def test_redis_cache_is_shared_and_invalidated_across_processes(tmp_path: Any,
                                                                redis_url: str):
    """Two HotCRM processes on one database and one Redis. Process B's dashboard is cached
    in Redis; a deal won in process A (which never opened a dashboard) reaches B through
    the change-event relay alone (the cache has no channel of its own), wakes B's open
    dashboard and B's next figure is fresh, not the cached one."""
    import threading

    from app.config import Settings
    from app.core import build_services
    from app.dashboards.service import dashboards_for
    from app.events_redis import wait_connected
    from tests.conftest import METADATA

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a, b = (build_services(Settings(database_url=url, metadata_dir=METADATA,
                                    redis_url=redis_url)) for _ in range(2))
    assert a.relay and b.relay and wait_connected(a.relay) and wait_connected(b.relay)
    sales = make_sales_data(a.ql)
    b.ql.clock = a.ql.clock  # the same "today" in both processes
    board = dashboards_for(b.ql, redis_url)
    assert board.cache.backend == "redis"
    manager = sales.team.manager
    state = board.state(manager, "sales", {})
    dashboard = board.definition("sales")
    first = board.data(manager, "sales", state, ["deals_won"])
    keys = board._keys(manager, dashboard, [dashboard.widget("deals_won")], state)
    assert board.cache.get_many(keys) == [first["deals_won"]]  # stored in Redis
    woken = threading.Event()
    board.subscribe(lambda obj: woken.set() if obj == "opportunity" else None)
    deal = a.ql.find(sales.team.rep_a, "opportunity", fields=["id"],
                     filters=[["stage", "=", "proposal"], ["amount", "!=", None]],
                     limit=1).records[0]
    a.ql.update(sales.team.rep_a, "opportunity", deal["id"], {"stage": "closed_won",
                                                             "close_date": "2025-05-14"})
    assert woken.wait(2), "process B's open dashboard was not told about A's change"
    assert board._keys(manager, dashboard, [dashboard.widget("deals_won")], state) != keys
    fresh = board.data(manager, "sales", state, ["deals_won"])
    assert fresh["deals_won"]["value"] == first["deals_won"]["value"] + 1
    redis_client = board.cache._redis  # type: ignore[attr-defined]
    for key in redis_client.scan_iter(match=board.cache._ns + "*"):  # type: ignore[attr-defined]
        redis_client.delete(key)  # leave the server clean
    board.close()
    a.close()
    b.close()
