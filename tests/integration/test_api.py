"""The ⚑ REST API as its users meet it: login and tokens, CRUD, row and field security,
queries, metadata and OpenAPI — in-process through FastAPI's TestClient, on every backend.

Every response goes through `api_support.check`: never a 500, never a password hash,
always the security headers, every API error in the envelope.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from app.audit import AUDIT
from app.auth.login import Authenticator
from app.auth.passwords import set_password
from app.core import Services
from app.objectql import Context
from tests.conftest import Team
from tests.integration.api_support import Api, assert_envelope, assert_secure_headers

PASSWORD = "password123"


@pytest.fixture
def api(services: Services, team: Team) -> Api:
    return Api(services, team)


@pytest.fixture
def fresh_throttle(services: Services) -> Iterator[None]:
    """Login throttling lives in the (session-wide) authenticator: start from zero."""
    saved = services.authenticator
    services.authenticator = Authenticator(services.ql)
    yield
    services.authenticator = saved


def login(api: Api, email: str, password: str = PASSWORD) -> Any:
    return api.post("/api/auth/token", data={"username": email, "password": password})


def with_password(api: Api, who: str) -> str:
    """Give a team member the password; returns their email."""
    ctx = getattr(api.team, who)
    set_password(api.services.ql, ctx.user_id, PASSWORD)
    return api.services.ql.get(Context.system(), "user", ctx.user_id)["email"]


# -- login -----------------------------------------------------------------------------------
def test_login_issues_a_bearer_token_for_any_case_of_the_email(api: Api, fresh_throttle: None
                                                               ) -> None:
    email = with_password(api, "rep_a")
    response = login(api, email.upper())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    me = api.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["id"] == api.team.rep_a.user_id


def test_wrong_password_and_unknown_email_are_indistinguishable(api: Api,
                                                                fresh_throttle: None) -> None:
    email = with_password(api, "rep_a")
    wrong = login(api, email, "not-the-password")
    unknown = login(api, "nobody@test.local")
    no_at = login(api, "nobody")
    assert wrong.status_code == unknown.status_code == no_at.status_code == 401
    assert wrong.json() == unknown.json() == no_at.json()
    assert "access_token" not in wrong.text


def test_login_form_needs_both_fields(api: Api) -> None:
    response = api.post("/api/auth/token", data={"username": "rep.a@test.local"})
    assert response.status_code == 422
    assert any(d["field"] == "password" for d in assert_envelope(response)["details"])


def test_deactivated_user_cannot_log_in_and_their_token_stops_working(
        api: Api, fresh_throttle: None) -> None:
    email = with_password(api, "rep_a")
    token = login(api, email).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/me", headers=bearer).status_code == 200

    api.services.ql.update(Context.system(), "user", api.team.rep_a.user_id, {"active": False})

    refused = api.get("/api/objects/account", headers=bearer)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    again = login(api, email)
    assert again.status_code == 401
    assert again.json() == login(api, "nobody@test.local").json()


def test_five_failures_in_a_minute_throttle_even_the_right_password(
        api: Api, fresh_throttle: None) -> None:
    email = with_password(api, "rep_a")
    other = with_password(api, "rep_b")
    for _ in range(5):
        assert login(api, email, "wrong-password").status_code == 401
    throttled = login(api, email.upper())  # same account, whatever the case
    assert throttled.status_code == 429
    assert assert_envelope(throttled)["code"] == "rate_limited"
    assert 1 <= int(throttled.headers["retry-after"]) <= 61
    assert "access_token" not in throttled.text
    assert login(api, other).status_code == 200  # throttling is per account


def test_every_login_attempt_is_audited(api: Api, fresh_throttle: None) -> None:
    email = with_password(api, "rep_a")
    assert login(api, email).status_code == 200
    assert login(api, email, "wrong-password").status_code == 401
    assert login(api, "ghost@test.local", "whatever-it-is").status_code == 401
    with api.services.engine.connect() as conn:
        rows = conn.execute(select(AUDIT.c.action, AUDIT.c.user_id, AUDIT.c.changes)
                            .where(AUDIT.c.action.in_(["login", "login_failed"]))
                            .order_by(AUDIT.c.id)).all()
    rep = api.team.rep_a.user_id
    assert [(r.action, r.user_id, r.changes["email"][1]) for r in rows] == [
        ("login", rep, email), ("login_failed", rep, email),
        ("login_failed", None, "ghost@test.local")]
    assert "argon2" not in json.dumps([r.changes for r in rows])


def test_the_printed_demo_logins_work(api: Api, fresh_throttle: None) -> None:
    from app.seed import DEMO_USERS
    from app.seed.demo import ensure_demo_users

    contexts = ensure_demo_users(api.services)
    for spec in DEMO_USERS:
        response = login(api, spec["email"], spec["password"])
        assert response.status_code == 200, (spec["email"], response.text)
        me = api.get("/api/me", headers={
            "Authorization": f"Bearer {response.json()['access_token']}"}).json()
        assert me["role"] == spec["role"]
        assert set(me["team"]) == set(contexts[spec["email"]].subordinate_ids)
    manager_team = contexts["manager@hotcrm.local"].subordinate_ids
    assert manager_team == {contexts["alice@hotcrm.local"].user_id,
                            contexts["bob@hotcrm.local"].user_id}


# -- who am I, health, headers -----------------------------------------------------------------
def test_me_describes_the_user_role_and_team(api: Api) -> None:
    body = api.get("/api/me", as_="manager").json()
    assert body["role"] == "sales_manager"
    assert body["user"]["email"] == "manager@test.local"
    assert body["user"]["id"] == api.team.manager.user_id
    assert sorted(body["team"]) == sorted([api.team.rep_a.user_id, api.team.rep_b.user_id])
    assert body["permissions"]["opportunity"]["create"] is True
    assert not any("password" in key for key in body["user"])
    rep = api.get("/api/me", as_="rep_a").json()
    assert rep["team"] == [] and rep["permissions"]["contract"]["create"] is False


def test_health_answers_without_auth(api: Api) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["database"] == "ok"


def test_security_headers_everywhere_and_no_cors(api: Api) -> None:
    origin = {"Origin": "https://evil.example"}
    responses = [
        api.get("/health", headers=origin),
        api.get("/api/objects/account", as_="rep_a", headers=origin),
        api.get("/api/objects/account", headers=origin),  # 401
        api.get("/api/objects/nope", as_="rep_a", headers=origin),  # 404
        api.post("/api/objects/account", as_="rep_a", content=b"{", headers=origin),  # 400
        api.get("/api/docs", headers=origin),
        api.request("OPTIONS", "/api/objects/account", headers={
            **origin, "Access-Control-Request-Method": "DELETE"}),
    ]
    for response in responses:
        assert_secure_headers(response)
        assert not any(h.startswith("access-control-") for h in response.headers)


# -- CRUD ------------------------------------------------------------------------------------
def test_create_read_update_delete(api: Api) -> None:
    created = api.post("/api/objects/account", as_="rep_a", json={
        "name": "Acme Corp", "phone": "+1 555 0100", "industry": "technology"})
    assert created.status_code == 201
    record = created.json()
    assert record["name"] == "Acme Corp" and record["version"] == 1
    assert record["owner"] == api.team.rep_a.user_id
    assert created.headers["location"] == f"/api/objects/account/{record['id']}"

    fetched = api.get(created.headers["location"], as_="rep_a")
    assert fetched.status_code == 200 and fetched.json() == record

    patched = api.patch(created.headers["location"], as_="rep_a", json={"rating": "hot"},
                        headers={"If-Match": "1"})
    assert patched.status_code == 200
    assert patched.json()["rating"] == "hot" and patched.json()["version"] == 2
    assert patched.headers["etag"] == "2"
    assert api.get(created.headers["location"], as_="rep_a").json()["rating"] == "hot"

    # the manager deletes (reps may not delete accounts)
    assert api.delete(created.headers["location"], as_="manager",
                      headers={"If-Match": "2"}).status_code == 204
    gone = api.get(created.headers["location"], as_="rep_a")
    assert gone.status_code == 404 and assert_envelope(gone)["code"] == "not_found"
    assert api.delete(created.headers["location"], as_="manager").status_code == 404


def test_stale_if_match_is_a_conflict_with_the_current_version(api: Api) -> None:
    acc = api.account()
    url = f"/api/objects/account/{acc['id']}"
    assert api.patch(url, as_="rep_a", json={"rating": "warm"}).status_code == 200
    stale = api.patch(url, as_="rep_a", json={"rating": "cold"}, headers={"If-Match": "1"})
    assert stale.status_code == 409
    error = assert_envelope(stale)
    assert error["code"] == "conflict" and error["current_version"] == 2
    assert api.get(url, as_="rep_a").json()["rating"] == "warm"
    quoted = api.patch(url, as_="rep_a", json={"rating": "cold"}, headers={"If-Match": '"2"'})
    assert quoted.status_code == 200 and quoted.json()["version"] == 3
    bad = api.patch(url, as_="rep_a", json={"rating": "hot"}, headers={"If-Match": "yesterday"})
    assert bad.status_code == 400
    stale_delete = api.delete(url, as_="admin", headers={"If-Match": "1"})
    assert stale_delete.status_code == 409
    assert assert_envelope(stale_delete)["current_version"] == 3


def test_unique_account_name_ignores_case(api: Api) -> None:
    api.account(name="Acme Corp")
    clash = api.post("/api/objects/account", as_="rep_b",
                     json={"name": "ACME corp", "email": "x@acme.example"})
    assert clash.status_code == 409
    error = assert_envelope(clash)
    assert [d["field"] for d in error["details"]] == ["name"]
    other = api.account(name="Globex")
    rename = api.patch(f"/api/objects/account/{other['id']}", as_="rep_a",
                       json={"name": "acme CORP"})
    assert rename.status_code == 409 and assert_envelope(rename)["details"][0]["field"] == "name"


def test_history_lists_who_changed_what(api: Api) -> None:
    acc = api.account()
    opp = api.opportunity(acc["id"], amount=1000)
    api.patch(f"/api/objects/opportunity/{opp['id']}", as_="rep_a",
              json={"amount": 2500, "stage": "proposal"})
    history = api.get(f"/api/objects/opportunity/{opp['id']}/history", as_="rep_a").json()
    assert history["total"] == 2
    latest, first = history["records"]
    assert (latest["action"], first["action"]) == ("update", "insert")
    assert latest["user_id"] == api.team.rep_a.user_id
    assert latest["changes"]["amount"] == [1000, 2500]
    assert latest["changes"]["stage"] == ["prospecting", "proposal"]
    assert first["changes"]["name"] == [None, "Acme expansion"]
    hidden = api.get(f"/api/objects/opportunity/{opp['id']}/history", as_="rep_b")
    assert hidden.status_code == 404


def test_list_views_search_expand_and_dotted_fields(api: Api) -> None:
    acme = api.account(name="Acme Corp", industry="technology")
    globex = api.account(name="Globex", email="hi@globex.example")
    mine = api.opportunity(acme["id"], name="Acme renewal")
    api.opportunity(globex["id"], name="Globex pilot")
    api.opportunity(globex["id"], name="Globex by B", as_="rep_b")

    view = api.get("/api/objects/opportunity", as_="rep_a",
                   params={"view": "my_opportunities"}).json()
    assert sorted(r["name"] for r in view["records"]) == ["Acme renewal", "Globex pilot"]
    assert view["total"] == 2
    assert {"name", "account.name", "stage"} <= set(view["records"][0])

    found = api.get("/api/objects/account", as_="rep_b", params={"search": "acme"}).json()
    assert [r["name"] for r in found["records"]] == ["Acme Corp"]

    one = api.get(f"/api/objects/opportunity/{mine['id']}", as_="rep_a",
                  params={"expand": "account", "fields": "name,account.name"}).json()
    assert one["name"] == "Acme renewal" and one["account.name"] == "Acme Corp"
    assert one["account"] == {"id": acme["id"], "name": "Acme Corp"}
    assert "amount" not in one

    listed = api.get("/api/objects/opportunity", as_="manager", params={
        "fields": "name,account.name", "sort": "-name", "limit": 2, "expand": "account"}).json()
    assert [r["name"] for r in listed["records"]] == ["Globex pilot", "Globex by B"]
    assert listed["total"] == 3
    assert listed["records"][0]["account"]["name"] == "Globex"
    page2 = api.get("/api/objects/opportunity", as_="manager",
                    params={"sort": "-name", "limit": 2, "skip": 2}).json()
    assert [r["name"] for r in page2["records"]] == ["Acme renewal"]

    unknown_view = api.get("/api/objects/opportunity", as_="rep_a", params={"view": "nope"})
    assert unknown_view.status_code == 400


# -- permissions through REST ------------------------------------------------------------------
def test_rep_cannot_create_contracts_but_winning_a_deal_books_one(api: Api) -> None:
    acc = api.account()
    denied = api.post("/api/objects/contract", as_="rep_a", json={
        "account": acc["id"], "start_date": "2025-01-01", "contract_value": 5})
    assert denied.status_code == 403 and assert_envelope(denied)["code"] == "forbidden"
    assert api.get("/api/objects/contract", as_="rep_a").json()["total"] == 0

    opp = api.opportunity(acc["id"], amount=75_000)
    won = api.patch(f"/api/objects/opportunity/{opp['id']}", as_="rep_a",
                    json={"stage": "closed_won"})
    assert won.status_code == 200, won.text
    assert won.json()["probability"] == 100

    contracts = api.get("/api/objects/contract", as_="rep_a").json()["records"]
    assert len(contracts) == 1
    contract = contracts[0]
    assert contract["opportunity"] == opp["id"] and contract["contract_value"] == 75_000
    assert contract["owner"] == api.team.rep_a.user_id
    assert api.get(f"/api/objects/contract/{contract['id']}", as_="rep_a").status_code == 200
    assert api.get(f"/api/objects/contract/{contract['id']}", as_="rep_b").status_code == 404
    assert api.patch(f"/api/objects/contract/{contract['id']}", as_="rep_a",
                     json={"status": "in_approval"}).status_code == 403


def _same_shape(hidden: Any, missing: Any, hidden_id: str, missing_id: str) -> None:
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace(hidden_id, "X") == missing.text.replace(missing_id, "X")


def test_reps_cannot_see_each_others_opportunities(api: Api) -> None:
    acc = api.account()
    theirs = api.opportunity(acc["id"], as_="rep_b", name="B's deal")
    hid, missing = theirs["id"], "01nosuchrecord0000000000zz"
    for method, kwargs in [("GET", {}), ("PATCH", {"json": {"amount": 1}}), ("DELETE", {})]:
        hidden = api.request(method, f"/api/objects/opportunity/{hid}", as_="rep_a", **kwargs)
        absent = api.request(method, f"/api/objects/opportunity/{missing}", as_="rep_a",
                             **kwargs)
        _same_shape(hidden, absent, hid, missing)
    hidden_history = api.get(f"/api/objects/opportunity/{hid}/history", as_="rep_a")
    assert hidden_history.status_code == 404
    listed = api.get("/api/objects/opportunity", as_="rep_a").json()
    assert listed == {"records": [], "total": 0}
    counted = api.post("/api/query", as_="rep_a", json={
        "object": "opportunity", "group_by": [], "aggregate": {"n": ["count", "id"]}})
    assert counted.json()["records"] == [{"n": 0}]
    # still there, unchanged
    still = api.get(f"/api/objects/opportunity/{hid}", as_="rep_b").json()
    assert still["amount"] == 50_000 and still["version"] == 1


def test_manager_reads_the_whole_team(api: Api) -> None:
    acc = api.account()
    a = api.opportunity(acc["id"], name="A's deal")
    b = api.opportunity(acc["id"], as_="rep_b", name="B's deal")
    names = {r["name"] for r in api.get("/api/objects/opportunity", as_="manager")
             .json()["records"]}
    assert names == {"A's deal", "B's deal"}
    for opp in (a, b):
        assert api.get(f"/api/objects/opportunity/{opp['id']}", as_="manager").status_code == 200
    assert api.patch(f"/api/objects/opportunity/{b['id']}", as_="manager",
                     json={"next_step": "call"}).status_code == 200


REVENUE = 98_765_432


@pytest.fixture
def revenue_account(api: Api) -> dict[str, Any]:
    acc = api.account(annual_revenue=REVENUE, industry="technology")
    api.patch(f"/api/objects/account/{acc['id']}", as_="rep_a",
              json={"annual_revenue": REVENUE + 1})
    api.opportunity(acc["id"])
    return acc


def _no_revenue(response: Any) -> None:
    assert "annual_revenue" not in response.text or response.status_code == 400
    assert str(REVENUE) not in response.text and str(REVENUE + 1) not in response.text


def test_viewer_never_receives_annual_revenue(api: Api, revenue_account: dict[str, Any]
                                              ) -> None:
    acc_id = revenue_account["id"]
    reads = [
        api.get("/api/objects/account", as_="viewer"),
        api.get(f"/api/objects/account/{acc_id}", as_="viewer"),
        api.get(f"/api/objects/account/{acc_id}/history", as_="viewer"),
        api.get("/api/objects/opportunity", as_="viewer", params={"expand": "account"}),
        api.post("/api/query", as_="viewer", json={"object": "account"}),
    ]
    for response in reads:
        assert response.status_code == 200, response.text
        assert "annual_revenue" not in response.text
        _no_revenue(response)
    assert reads[0].json()["records"][0]["name"] == "Acme Corp"
    described = api.get("/api/metadata/objects/account", as_="viewer").json()
    assert "annual_revenue" not in described["fields"]  # (views may still name the column)
    history = reads[2].json()["records"]
    assert [e["action"] for e in history] == ["update", "insert"]
    assert history[0]["changes"] == {}  # the only change was to revenue
    # the rep (same record) does see it: the test data really holds the value
    assert api.get(f"/api/objects/account/{acc_id}", as_="rep_a").json()[
        "annual_revenue"] == REVENUE + 1


REVENUE_PROBES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/objects/account", {"params": {"fields": "name,annual_revenue"}}),
    ("GET", "/api/objects/account", {"params": {"sort": "-annual_revenue"}}),
    ("GET", "/api/objects/account", {"params": {
        "filters": json.dumps([["annual_revenue", ">", REVENUE - 1]])}}),
    ("GET", "/api/objects/account", {"params": {
        "filters": json.dumps([["name", "=", "x"], "or", [["annual_revenue", "=", REVENUE]]])}}),
    ("GET", "/api/objects/account", {"params": {"view": "high_value"}}),
    ("GET", "/api/objects/opportunity", {"params": {"sort": "account.annual_revenue"}}),
    ("GET", "/api/objects/opportunity", {"params": {
        "filters": json.dumps([["account.annual_revenue", "between", [REVENUE, REVENUE + 1]]])}}),
    ("GET", "/api/objects/opportunity", {"params": {"fields": "name,account.annual_revenue"}}),
    ("POST", "/api/query", {"json": {"object": "opportunity",
                                     "expand": {"account": ["name", "annual_revenue"]}}}),
    ("POST", "/api/query", {"json": {"object": "account", "group_by": [],
                                     "aggregate": {"s": ["sum", "annual_revenue"]}}}),
    ("POST", "/api/query", {"json": {"object": "account", "group_by": ["annual_revenue"]}}),
]


def test_viewer_cannot_filter_sort_or_group_on_revenue(
        api: Api, revenue_account: dict[str, Any]) -> None:
    for method, url, kwargs in REVENUE_PROBES:
        response = api.request(method, url, as_="viewer", **kwargs)
        assert response.status_code == 400, (url, kwargs, response.text)
        _no_revenue(response)
        # the same request is fine for a rep: the refusal is about the field, not the syntax
        assert api.request(method, url, as_="rep_a", **kwargs).status_code == 200, (url, kwargs)


def test_viewer_changes_nothing(api: Api) -> None:
    acc = api.account()
    assert api.post("/api/objects/account", as_="viewer", json={
        "name": "Viewer Inc", "phone": "+1 555 0100"}).status_code == 403
    assert api.patch(f"/api/objects/account/{acc['id']}", as_="viewer",
                     json={"rating": "hot"}).status_code in (403, 404)
    assert api.delete(f"/api/objects/account/{acc['id']}", as_="viewer").status_code in (
        403, 404)
    assert api.get(f"/api/objects/account/{acc['id']}", as_="rep_a").json()["version"] == 1


def test_rep_cannot_set_probability(api: Api) -> None:
    acc = api.account()
    opp = api.opportunity(acc["id"])
    response = api.patch(f"/api/objects/opportunity/{opp['id']}", as_="rep_a",
                         json={"probability": 90, "next_step": "demo"})
    assert response.status_code == 403
    error = assert_envelope(response)
    assert "probability" in error["message"]
    assert [d["field"] for d in error["details"]] == ["probability"]
    assert api.get(f"/api/objects/opportunity/{opp['id']}", as_="rep_a").json()[
        "next_step"] is None
    # the manager may
    assert api.patch(f"/api/objects/opportunity/{opp['id']}", as_="manager",
                     json={"probability": 90}).json()["probability"] == 90


# -- POST /api/query ---------------------------------------------------------------------------
DESIGN_QUERY = {
    "object": "opportunity",
    "fields": ["name", "amount", "stage", "account.name"],
    "filters": [["amount", ">", 100000], ["stage", "not in", ["closed_won", "closed_lost"]],
                "or", [["owner", "=", "$user"]]],
    "sort": [["amount", "desc"], ["name", "asc"]],
    "limit": 20, "skip": 0,
    "expand": {"account": ["name", "industry"]},
    "search": "acme",
}


@pytest.fixture
def pipeline(api: Api) -> dict[str, str]:
    acme = api.account(name="Acme Corp", industry="technology")
    globex = api.account(name="Globex", industry="finance")
    api.opportunity(acme["id"], name="Acme big", amount=200_000)
    api.opportunity(acme["id"], name="Acme won", amount=300_000, stage="closed_won")
    api.opportunity(acme["id"], name="Acme small B", amount=500, as_="rep_b")
    api.opportunity(acme["id"], name="Acme mine", amount=10, as_="admin")
    api.opportunity(globex["id"], name="Globex big", amount=900_000)
    return {"acme": acme["id"], "globex": globex["id"]}


def test_query_in_the_design_shape(api: Api, pipeline: dict[str, str]) -> None:
    response = api.post("/api/query", as_="admin", json=DESIGN_QUERY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["name"] for r in body["records"]] == ["Acme big", "Acme mine"]
    assert body["total"] == 2
    first = body["records"][0]
    assert set(first) == {"id", "name", "amount", "stage", "account.name", "account"}
    assert first["account.name"] == "Acme Corp"
    assert first["account"] == {"id": pipeline["acme"], "name": "Acme Corp",
                                "industry": "technology"}
    # `$user` is the caller, and row security applies on top of the filters
    as_rep = api.post("/api/query", as_="rep_a", json=DESIGN_QUERY).json()
    assert [r["name"] for r in as_rep["records"]] == ["Acme won", "Acme big"]


def test_query_aggregation(api: Api, pipeline: dict[str, str]) -> None:
    query = {"object": "opportunity", "group_by": ["stage"],
             "aggregate": {"total": ["sum", "amount"], "n": ["count", "id"]}}
    records = api.post("/api/query", as_="admin", json=query).json()["records"]
    assert {r["stage"]: (r["total"], r["n"]) for r in records} == {
        "prospecting": (1_100_510, 4), "closed_won": (300_000, 1)}
    mine = api.post("/api/query", as_="rep_b", json=query).json()["records"]
    assert mine == [{"stage": "prospecting", "total": 500, "n": 1}]

    # a dotted path used only in the filter still joins (was a cartesian product)
    by_industry = {**query, "filters": [["account.industry", "=", "finance"]]}
    assert api.post("/api/query", as_="admin", json=by_industry).json()["records"] == [
        {"stage": "prospecting", "total": 900_000, "n": 1}]
    # a repeated group is one group (was a 500)
    twice = {"object": "opportunity", "group_by": ["account.name", "account.name"]}
    assert api.post("/api/query", as_="admin", json=twice).json()["records"] == [
        {"account.name": "Acme Corp", "count": 4}, {"account.name": "Globex", "count": 1}]
    # booleans have no min/max (was a 500 on PostgreSQL)
    unordered = {"object": "opportunity", "group_by": [], "aggregate": {"w": ["max", "is_won"]}}
    assert api.post("/api/query", as_="admin", json=unordered).status_code == 400


# -- metadata and OpenAPI ----------------------------------------------------------------------
def test_metadata_registry_as_each_role_sees_it(api: Api) -> None:
    listing = api.get("/api/metadata/objects", as_="viewer").json()["objects"]
    perms = api.services.ql.registry.permissions.get("viewer")
    readable = {o.name for o in api.services.ql.registry.values()
                if perms.object(o.name).read}
    assert {o["name"] for o in listing} == readable
    account = next(o for o in listing if o["name"] == "account")
    assert account["permissions"]["read"] is True and account["permissions"]["create"] is False

    as_viewer = api.get("/api/metadata/objects/account", as_="viewer").json()
    as_rep = api.get("/api/metadata/objects/account", as_="rep_a").json()
    assert "annual_revenue" in as_rep["fields"]
    assert set(as_rep["fields"]) - set(as_viewer["fields"]) == {"annual_revenue"}
    assert as_rep["fields"]["industry"]["type"] == "select"
    assert "all" in as_viewer["list_views"]
    assert api.get("/api/metadata/objects/nope", as_="viewer").status_code == 404
    assert api.get("/api/metadata/objects").status_code == 401


def test_openapi_document_is_generated_from_metadata(api: Api) -> None:
    response = api.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    industry = schemas["Account"]["properties"]["industry"]
    options = next(s for s in industry["anyOf"] if s.get("type") == "string")["enum"]
    assert options == ["technology", "finance", "manufacturing", "retail", "healthcare",
                       "education", "real_estate", "energy", "consulting", "other"]
    assert "name" in schemas["AccountCreate"]["required"]
    assert {"name", "account", "close_date", "stage"} <= set(
        schemas["OpportunityCreate"]["required"])
    assert "probability" not in schemas["OpportunityCreate"]["required"]
    assert "expected_revenue" not in schemas["OpportunityCreate"]["properties"]
    for obj in api.services.ql.registry.values():
        base = f"/api/objects/{obj.name}"
        assert {"get", "post"} <= set(doc["paths"][base])
        assert {"get", "patch", "delete"} <= set(doc["paths"][f"{base}/{{record_id}}"])
        assert f"{base}/{{record_id}}/history" in doc["paths"]
    for path in ("/api/auth/token", "/api/me", "/api/query", "/health"):
        assert path in doc["paths"]
    assert "argon2" not in response.text and "password_hash" not in response.text


def test_openapi_document_is_valid_openapi_3_1(api: Api) -> None:
    pytest.importorskip("schemathesis")
    import schemathesis

    doc = api.get("/api/openapi.json").json()
    schema = schemathesis.openapi.from_dict(doc)
    schema.validate()  # against the OpenAPI 3.1 meta-schema
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 5 * len(list(api.services.ql.registry.values()))


def test_swagger_docs_page(api: Api) -> None:
    response = api.get("/api/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/api/openapi.json" in response.text
