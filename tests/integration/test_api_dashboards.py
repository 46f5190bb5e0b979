"""Dashboards and KPIs over REST: the seed's shapes, computed from real data as the caller,
period and owner filters, errors in the envelope, documented in OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api_support import Api, assert_envelope
from tests.integration.dashboard_support import LAST_Q, THIS_Q, SalesData, make_sales_data


@pytest.fixture
def sales(ql: Any) -> SalesData:
    return make_sales_data(ql)


@pytest.fixture
def api(services: Any, sales: SalesData) -> Api:
    return Api(services, sales.team)


def test_kpi_endpoints_match_sql(api: Api, sales: SalesData):
    owners = sales.owners_visible("manager")
    won = ("SELECT coalesce(sum(amount), 0) FROM opportunity WHERE owner IN :owners AND "
           "stage = 'closed_won' AND close_date >= :s AND close_date < :e")
    [(now,)] = sales.sql(won, owners, s=THIS_Q[0], e=THIS_Q[1])
    [(before,)] = sales.sql(won, owners, s=LAST_Q[0], e=LAST_Q[1])
    revenue = api.get("/api/kpi/revenue", as_="manager").json()
    assert revenue["revenue"] == pytest.approx(now)
    assert revenue["previous"] == pytest.approx(before)
    assert revenue["growth"] == pytest.approx((now - before) / before * 100, abs=0.01)

    rep = sales.team.rep_a.user_id
    closed = dict(sales.sql("SELECT stage, count(*) FROM opportunity WHERE owner IN :owners "
                            "AND stage IN ('closed_won', 'closed_lost') AND close_date >= :s "
                            "AND close_date < :e GROUP BY stage", [rep],
                            s=LAST_Q[0], e=LAST_Q[1]))
    rate = api.get(f"/api/kpi/winrate?period=last_quarter&owner={rep}", as_="manager").json()
    won_n, lost_n = closed.get("closed_won", 0), closed.get("closed_lost", 0)
    assert (rate["won"], rate["lost"], rate["total"]) == (won_n, lost_n, won_n + lost_n)
    assert rate["rate"] == pytest.approx(won_n / (won_n + lost_n) * 100)

    [(open_amount, weighted, n)] = sales.sql(
        "SELECT sum(amount), sum(expected_revenue), count(*) FROM opportunity WHERE owner IN "
        ":owners AND stage NOT IN ('closed_won', 'closed_lost')", [rep])
    pipeline = api.get("/api/kpi/pipeline", as_="rep_a").json()
    assert pipeline == {"open": pytest.approx(open_amount), "weighted": pytest.approx(weighted),
                        "count": n}

    stages = api.get("/api/pipeline/stages?owner=me", as_="rep_a").json()["stages"]
    by_sql = {s: (c, a) for s, c, a in sales.sql(
        "SELECT stage, count(*), coalesce(sum(amount), 0) FROM opportunity WHERE owner IN "
        ":owners AND stage NOT IN ('closed_won', 'closed_lost') GROUP BY stage", [rep])}
    assert {s["stage"]: (s["count"], pytest.approx(s["amount"])) for s in stages} == by_sql
    assert stages[0]["label"] == "Prospecting"


def test_leads_kpi_matches_sql(api: Api, sales: SalesData):
    rep = sales.team.rep_b.user_id
    leads = dict(sales.sql("SELECT status, count(*) FROM lead WHERE owner IN :owners AND "
                           "created_at >= :s AND created_at < :e GROUP BY status", [rep],
                           s=THIS_Q[0], e=THIS_Q[1]))
    body = api.get("/api/kpi/leads?owner=me", as_="rep_b").json()
    qualified = leads.get("qualified", 0) + leads.get("converted", 0)
    assert (body["count"], body["qualified"], body["unqualified"]) == (
        sum(leads.values()), qualified, leads.get("unqualified", 0))
    assert body["rate"] == pytest.approx(qualified / sum(leads.values()) * 100)


def test_definition_and_data(api: Api, sales: SalesData):
    definition = api.get("/api/ui/dashboard/sales", as_="manager").json()
    assert definition["name"] == "sales" and len(definition["widgets"]) >= 15
    owner = next(f for f in definition["filters"] if f["type"] == "owner")
    assert {c["label"] for c in owner["choices"]} == {"Max Manager", "Rita Rep", "Rob Rep"}
    rep_choices = next(f for f in api.get("/api/ui/dashboard/sales", as_="rep_a").json()[
        "filters"] if f["type"] == "owner")["choices"]
    assert [c["label"] for c in rep_choices] == ["Rita Rep"]

    body = api.get("/api/dashboards/sales/data?period=this_year&industry=finance",
                   as_="manager").json()
    assert body["filters"] == {"period": "this_year", "industry": "finance"}
    assert body["period"]["start"] == "2025-01-01" and body["period"]["end"] == "2026-01-01"
    assert set(body["widgets"]) == {w["name"] for w in definition["widgets"]}
    some = api.get("/api/dashboards/sales/data?widgets=revenue,funnel", as_="viewer").json()
    assert set(some["widgets"]) == {"revenue", "funnel"}
    viewer = api.get("/api/dashboards/sales/data?widgets=contracts_booked", as_="viewer")
    assert viewer.json()["widgets"]["contracts_booked"]["error"] == "no_access"


@pytest.mark.parametrize(("url", "status", "field"), [
    ("/api/dashboards/sales/data?period=next_decade", 400, "period"),
    ("/api/dashboards/sales/data?period=custom&from=2025-02-30&to=2025-03-01", 400, "from"),
    ("/api/dashboards/sales/data?period=custom&from=2025-03-01&to=2025-02-01", 400, "to"),
    ("/api/dashboards/sales/data?industry=space", 400, "industry"),
    ("/api/dashboards/sales/data?widgets=nope", 400, "widgets"),
    ("/api/kpi/revenue?owner=someone-else", 400, "owner"),
    ("/api/dashboards/nope/data", 404, None),
    ("/api/ui/dashboard/nope", 404, None),
])
def test_bad_filters_are_clear_errors(api: Api, url: str, status: int, field: str | None):
    response = api.get(url, as_="rep_a")
    assert response.status_code == status
    error = assert_envelope(response)
    if field:
        assert [d["field"] for d in error["details"]] == [field]


def test_auth_and_openapi(api: Api):
    assert api.get("/api/kpi/revenue").status_code == 401
    assert api.get("/api/kpi/revenue?owner=", as_="viewer").status_code == 200
    spec = api.get("/api/openapi.json", as_="viewer").json()
    for path in ("/api/ui/dashboard/{name}", "/api/dashboards/{name}/data", "/api/kpi/revenue",
                 "/api/kpi/leads",
                 "/api/kpi/winrate", "/api/kpi/pipeline", "/api/pipeline/stages"):
        assert "get" in spec["paths"][path], path
    params = {p["name"] for p in spec["paths"]["/api/kpi/revenue"]["get"]["parameters"]}
    assert {"period", "owner"} <= params
