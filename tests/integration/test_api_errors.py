"""Bad input to the REST API: forged tokens, malformed bodies and queries each get the ⚑
error envelope with the right status, and no input at all — however random — is a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import RSAKey

from app.auth.tokens import issue_token
from app.core import Services
from app.objectql import Context
from tests.conftest import Team, make_team
from tests.integration.api_support import Api, assert_envelope


@pytest.fixture
def api(services: Services, team: Team) -> Api:
    return Api(services, team)


# -- token attacks ---------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _claims(api: Api, who: str = "rep_a") -> dict[str, Any]:
    now = int(time.time())
    return {"sub": getattr(api.team, who).user_id, "role": "admin", "iat": now,
            "exp": now + 3600}


@cache
def _rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048)


def _tampered(api: Api, change: Callable[[dict[str, Any]], None]) -> str:
    header, payload, signature = api.token("rep_a").split(".")
    claims = json.loads(_unb64(payload))
    change(claims)
    return ".".join([header, _b64(json.dumps(claims).encode()), signature])


def _header(alg: str) -> str:
    return _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())


def _hs256(secret: bytes, claims: dict[str, Any]) -> str:
    signing = f"{_header('HS256')}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64(mac)}"


def _deleted_user_token(api: Api) -> str:
    system = Context.system()
    user = api.services.ql.insert(system, "user", {"email": "gone@test.local",
                                                   "name": "Gone", "role": "admin"})
    token = issue_token(api.services.secret_key, user["id"], "admin")
    assert api.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    api.services.ql.delete(system, "user", user["id"])
    return token


ATTACKS: dict[str, Callable[[Api], str | None]] = {
    "missing": lambda api: None,
    "garbage": lambda api: "garbage",
    "three garbage parts": lambda api: "not.a.token",
    "oversized": lambda api: api.token("rep_a") + "A" * 5000,
    "role changed to admin, signature kept": lambda api: _tampered(
        api, lambda c: c.update(role="admin")),
    "subject changed to the admin, signature kept": lambda api: _tampered(
        api, lambda c: c.update(sub=api.team.admin.user_id)),
    "signature stripped": lambda api: api.token("rep_a").rsplit(".", 1)[0] + ".",
    "wrong secret": lambda api: issue_token("not-the-server-secret-" * 3,
                                            api.team.admin.user_id, "admin"),
    "expired": lambda api: issue_token(api.services.secret_key, api.team.rep_a.user_id,
                                       "sales_rep", ttl=-3600),
    "alg none": lambda api: f"{_header('none')}.{_b64(json.dumps(_claims(api)).encode())}.",
    "RS256 signed by an attacker key": lambda api: jwt.encode(
        {"alg": "RS256", "typ": "JWT"}, _claims(api), _rsa_key(), algorithms=["RS256"]),
    "HS256 keyed with an RSA public key": lambda api: _hs256(
        _rsa_key().as_pem(private=False), _claims(api)),
    "nonexistent user": lambda api: issue_token(api.services.secret_key,
                                                "01nosuchuser000000000000zz", "admin"),
    "deleted user": _deleted_user_token,
}


def test_forged_or_stale_tokens_get_401(api: Api) -> None:
    for attack, forge in ATTACKS.items():
        token = forge(api)
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        for method, url in [("GET", "/api/me"), ("GET", "/api/objects/account"),
                            ("POST", "/api/query")]:
            response = api.request(method, url, headers=headers, json={"object": "account"})
            assert response.status_code == 401, (attack, url, response.text)
            assert response.headers["www-authenticate"] == "Bearer", attack
            assert assert_envelope(response)["code"] == "unauthorized", attack


def test_basic_auth_scheme_is_not_a_bearer_token(api: Api) -> None:
    token = api.token("admin")
    response = api.get("/api/me", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 401


BAD_QUERIES: list[Any] = [
    {"object": "nope"},
    {"object": "account", "limit": 201},
    {"object": "account", "limit": 0},
    {"object": "account", "fields": ["nope"]},
    {"object": "account", "filters": [["name", "like", "x"]]},
    {"object": "account", "sort": [["name", "sideways"]]},
    {"object": "account", "surprise": 1},
    {"fields": ["name"]},
    {"object": "opportunity", "expand": {"stage": None}},
    {"object": "opportunity", "aggregate": {"x": ["median", "amount"]}},
    {"object": "opportunity", "aggregate": {"x": ["sum", "name"]}},
    {"object": "opportunity", "group_by": ["nope"]},
    {"object": "opportunity", "filters": "stage = won"},
    {"object": "opportunity", "filters": [["close_date", "=", "last_n_days:abc"]]},
    {"object": "opportunity", "filters": [["amount", "between", [1]]]},
    {"object": "opportunity", "filters": [["amount", ">", "lots"]]},
    {"object": "opportunity", "search": "x" * 201},
]


def test_bad_queries_are_400(api: Api) -> None:
    for body in BAD_QUERIES:
        response = api.post("/api/query", as_="admin", json=body)
        assert response.status_code == 400, (body, response.text)
        assert assert_envelope(response)["code"] == "bad_query", body


def test_validation_errors_name_each_field(api: Api) -> None:
    response = api.post("/api/objects/account", as_="rep_a", json={
        "name": "", "industry": "astrology", "annual_revenue": "lots", "website": "not a url",
        "number_of_employees": -3})
    assert response.status_code == 422
    error = assert_envelope(response)
    assert error["code"] == "validation_failed"
    fields = {d["field"] for d in error["details"]}
    assert {"industry", "annual_revenue", "website", "number_of_employees"} <= fields
    assert all(d["message"] for d in error["details"])
    unnamed = api.post("/api/objects/account", as_="rep_a", json={"name": " ",
                                                                  "phone": "+1 555 0100"})
    assert unnamed.status_code == 422
    assert [d["field"] for d in assert_envelope(unnamed)["details"]] == ["name"]
    assert api.get("/api/objects/account", as_="rep_a").json()["total"] == 0


def test_validation_rules_report_their_field(api: Api) -> None:
    response = api.post("/api/objects/account", as_="rep_a", json={"name": "Silent Ltd"})
    assert response.status_code == 422
    assert [d["field"] for d in assert_envelope(response)["details"]] == ["phone"]
    acc = api.account()
    lost = api.post("/api/objects/opportunity", as_="rep_a", json={
        "name": "Lost", "account": acc["id"], "stage": "closed_lost", "close_date": "2024-01-01"})
    assert lost.status_code == 422
    assert "loss_reason" in {d["field"] for d in assert_envelope(lost)["details"]}
    dangling = api.post("/api/objects/opportunity", as_="rep_a", json={
        "name": "Ghost", "account": "01nosuchaccount000000000zz", "stage": "prospecting",
        "close_date": "2099-01-01"})
    assert dangling.status_code == 422
    assert "account" in {d["field"] for d in assert_envelope(dangling)["details"]}


@pytest.mark.parametrize("body", [{"bogus": 1}, {"id": "mine"}, {"version": "7x"},
                                  {"expected_revenue": 5}, {"created_by": "x"}])
def test_unknown_or_readonly_fields_are_rejected(api: Api, body: dict[str, Any]) -> None:
    acc = api.account()
    opp = api.opportunity(acc["id"])
    created = api.post("/api/objects/opportunity", as_="rep_a", json={
        "name": "x", "account": acc["id"], "stage": "prospecting", "close_date": "2099-01-01",
        **body})
    assert created.status_code in (409, 422), created.text
    patched = api.patch(f"/api/objects/opportunity/{opp['id']}", as_="rep_a", json=body)
    assert patched.status_code in (409, 422), patched.text
    if "bogus" in body:
        assert assert_envelope(created)["details"][0]["field"] == "bogus"
    assert api.get(f"/api/objects/opportunity/{opp['id']}", as_="rep_a").json()[
        "version"] == 1


@pytest.mark.parametrize(("content", "message"), [
    (b"{bad json", "malformed JSON"),
    (b"[1, 2]", "expected a JSON object"),
    (b'"text"', "expected a JSON object"),
    (b"null", "expected a JSON object"),
    (b"", "empty"),
    (b"\xff\xfe{}", "malformed JSON"),
    (b'{"name": NaN}', ""),
])
def test_body_that_is_not_a_json_object_is_400(api: Api, content: bytes, message: str) -> None:
    acc = api.account()
    for method, url in [("POST", "/api/objects/account"),
                        ("PATCH", f"/api/objects/account/{acc['id']}"),
                        ("POST", "/api/query")]:
        response = api.request(method, url, as_="rep_a", content=content,
                               headers={"Content-Type": "application/json"})
        assert response.status_code in (400, 422), (url, response.text)
        error = assert_envelope(response)
        assert message in error["message"], error


def test_bodies_over_one_megabyte_are_413(api: Api) -> None:
    big = json.dumps({"name": "x", "description": "a" * 1_100_000}).encode()
    declared = api.post("/api/objects/account", as_="rep_a", content=big,
                        headers={"Content-Type": "application/json"})
    assert declared.status_code == 413
    assert assert_envelope(declared)["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap still holds
        for i in range(0, len(big), 65_536):
            yield big[i:i + 65_536]

    streamed = api.post("/api/query", as_="rep_a", content=chunks(),
                        headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert api.get("/api/objects/account", as_="rep_a").json()["total"] == 0


def test_unknown_object_is_404(api: Api) -> None:
    for method, url in [("GET", "/api/objects/nope"), ("POST", "/api/objects/nope"),
                        ("GET", "/api/objects/nope/123"), ("PATCH", "/api/objects/nope/123"),
                        ("DELETE", "/api/objects/nope/123"),
                        ("GET", "/api/objects/nope/123/history")]:
        response = api.request(method, url, as_="admin", json={"name": "x"})
        assert response.status_code == 404, (method, url, response.text)
        assert assert_envelope(response)["code"] == "not_found"
    assert api.get("/api/no/such/route", as_="admin").status_code == 404
    wrong_method = api.request("PUT", "/api/objects/account", as_="admin", json={})
    assert wrong_method.status_code == 405


LIST_ERRORS: list[dict[str, str]] = [
    {"filters": json.dumps([["nope", "=", 1]])},
    {"filters": json.dumps([["name", "like", "a%"]])},
    {"filters": json.dumps([["owner.password", "=", "x"]])},
    {"filters": json.dumps([["account.nope", "=", 1]])},
    {"filters": json.dumps([["name", "=", "a"], "xor", [["name", "=", "b"]]])},
    {"filters": json.dumps([["name"]])},
    {"filters": json.dumps({"name": "Acme"})},
    {"filters": "[[\"name\", \"=\""},
    {"filters": "name = Acme"},
    {"limit": "201"},
    {"limit": "0"},
    {"limit": "-1"},
    {"limit": "ten"},
    {"skip": "-5"},
    {"sort": "-nope"},
    {"sort": "account.nope"},
    {"sort": "a,b,c,d,e,f"},
    {"fields": "name,nope"},
    {"expand": "name"},
    {"expand": "nope"},
    {"view": "nope"},
    {"search": "x" * 201},
]


def test_bad_list_parameters_are_400(api: Api) -> None:
    api.opportunity(api.account()["id"])
    for params in LIST_ERRORS:
        response = api.get("/api/objects/opportunity", as_="rep_a", params=params)
        assert response.status_code == 400, (params, response.text)
        assert assert_envelope(response)["code"] == "bad_query", params
    one = api.get("/api/objects/opportunity/abc", as_="rep_a", params={"fields": "nope"})
    assert one.status_code in (400, 404)


def test_largest_allowed_page_is_fine(api: Api) -> None:
    response = api.get("/api/objects/account", as_="rep_a", params={"limit": "200"})
    assert response.status_code == 200
    assert api.get("/api/objects/account", as_="rep_a", params={
        "filters": json.dumps([["name", "contains", "%_'\";--"]])}).json()["total"] == 0


# -- nothing random breaks it (SQLite: the subject is the HTTP layer) -------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12)
FIELD_NAMES = st.sampled_from(["name", "phone", "email", "industry", "annual_revenue",
                               "number_of_employees", "parent", "owner", "version", "id",
                               "website", "customer_status", "object", "fields", "filters",
                               "sort", "limit", "skip", "expand", "search", "group_by",
                               "aggregate", "view"])
OBJECTS = st.dictionaries(FIELD_NAMES | st.text(max_size=8), JSON, max_size=6)
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture
def fuzz_api(sqlite_services: Services) -> tuple[Api, str]:
    api = Api(sqlite_services, make_team(sqlite_services.ql))
    acc = api.account()
    api.opportunity(acc["id"])
    api.opportunity(acc["id"], name="No amount", amount=None)
    return api, acc["id"]


@SETTINGS
@given(body=JSON | OBJECTS)
def test_random_bodies_never_break_writes(fuzz_api: tuple[Api, str], body: Any) -> None:
    api, acc_id = fuzz_api
    payload = json.dumps(body).encode()
    for method, url in [("POST", "/api/objects/account"),
                        ("PATCH", f"/api/objects/account/{acc_id}"),
                        ("POST", "/api/objects/opportunity")]:
        response = api.request(method, url, as_="rep_a", content=payload,
                               headers={"Content-Type": "application/json"})
        assert response.status_code in (200, 201, 400, 403, 404, 409, 422), response.text


@SETTINGS
@given(body=JSON | OBJECTS | st.fixed_dictionaries(
    {"object": st.sampled_from(["account", "opportunity", "nope"])}, optional={
        "fields": JSON, "filters": JSON, "sort": JSON, "limit": JSON, "skip": JSON,
        "expand": JSON, "search": JSON, "group_by": JSON, "aggregate": JSON}))
def test_random_queries_never_break(fuzz_api: tuple[Api, str], body: Any) -> None:
    api, _ = fuzz_api
    response = api.post("/api/query", as_="rep_a", content=json.dumps(body).encode(),
                        headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 400, 403, 404), response.text


PARAM_TEXT = st.text(max_size=40) | JSON.map(json.dumps)


@SETTINGS
@given(params=st.dictionaries(
    st.sampled_from(["filters", "fields", "sort", "limit", "skip", "search", "view",
                     "expand"]), PARAM_TEXT, max_size=4),
       obj=st.sampled_from(["account", "opportunity"]))
def test_random_list_parameters_never_break(fuzz_api: tuple[Api, str],
                                            params: dict[str, str], obj: str) -> None:
    api, acc_id = fuzz_api
    response = api.get(f"/api/objects/{obj}", as_="rep_a", params=params)
    assert response.status_code in (200, 400), response.text
    one = api.get(f"/api/objects/account/{acc_id}", as_="rep_a",
                  params={k: v for k, v in params.items() if k in ("fields", "expand")})
    assert one.status_code in (200, 400), one.text


FIELD_PATHS = st.sampled_from(["name", "amount", "stage", "close_date", "account.name",
                               "account.industry", "account.annual_revenue", "owner", "id",
                               "probability", "is_won", "created_at", "account.parent.name",
                               "expected_revenue", "contact.email", "owner.manager", "nope"])
OPERATORS = st.sampled_from(["=", "!=", ">", ">=", "<", "<=", "in", "not in", "contains",
                             "startswith", "endswith", "between", "like"])
VALUES = JSON | st.sampled_from(["$user", "$today", "this_week", "last_n_days:3",
                                 "next_n_days:-1", "last_n_days:99999999999", "2025-01-01",
                                 "2025-13-45", ["a", "b"], [1, 2], [None, 1]])
CONDITIONS = st.recursive(
    st.tuples(FIELD_PATHS, OPERATORS, VALUES).map(list),
    lambda children: st.lists(children | st.sampled_from(["and", "or"]), max_size=4),
    max_leaves=6)


@SETTINGS
@given(filters=st.lists(CONDITIONS | st.sampled_from(["and", "or"]), max_size=4),
       sort=st.lists(st.tuples(FIELD_PATHS, st.sampled_from(["asc", "desc"])).map(list),
                     max_size=2),
       group_by=st.lists(FIELD_PATHS, max_size=2),
       function=st.sampled_from(["count", "sum", "avg", "min", "max"]), target=FIELD_PATHS,
       who=st.sampled_from(["rep_a", "viewer"]))
def test_structured_random_queries_never_break(
        fuzz_api: tuple[Api, str], filters: list[Any], sort: list[Any], group_by: list[str],
        function: str, target: str, who: str) -> None:
    """Well-formed queries with random paths, operators and values: 200 or 400, never 500."""
    api, _ = fuzz_api
    for body in ({"object": "opportunity", "filters": filters, "sort": sort},
                 {"object": "opportunity", "filters": filters, "group_by": group_by,
                  "aggregate": {"v": [function, target]}}):
        response = api.post("/api/query", as_=who, content=json.dumps(body).encode(),
                            headers={"Content-Type": "application/json"})
        assert response.status_code in (200, 400), (body, response.text)
