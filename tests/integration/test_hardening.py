"""Issue 7, "no input can make a 500": each attack from the report, on every backend, gets
a 4xx with the ⚑ envelope, and the limits of docs/limits.md hold where they are promised.

Every response passes `api_support.check` (never a 500, the envelope on every API error).
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.responses import HTMLResponse

from app.api import install
from app.auth.login import Authenticator
from app.core import Services
from app.objectql import Context
from app.objectql.errors import QueryError, ValidationError
from app.objectql.limits import MAX_IN_VALUES_PER_QUERY, MAX_JOINS
from tests.conftest import Team
from tests.integration.api_support import Api, assert_envelope, check

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def api(services: Services, team: Team) -> Api:
    return Api(services, team)


def _deep(depth: int) -> str:
    return "[" * depth + '["name", "=", "x"]' + "]" * depth


def _post_raw(api: Api, url: str, text: str, method: str = "POST") -> Any:
    return api.request(method, url, as_="rep_a", content=text.encode(), headers=JSON)


# -- nesting -------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [9, 40, 1000, 5000])
def test_deeply_nested_input_is_400_everywhere(api: Api, depth: int) -> None:
    acc = api.account()
    deep = _deep(depth)
    answers = [
        _post_raw(api, "/api/query", '{"object": "account", "filters": ' + deep + "}"),
        api.get("/api/objects/account", as_="rep_a", params={"filters": deep}),
        api.get("/export/account.csv", as_="rep_a", params={"filters": deep}),
        _post_raw(api, "/api/objects/account", '{"name": "A", "phone": "+1 555 0100", '
                  '"description": ' + deep + "}"),
        _post_raw(api, f"/api/objects/account/{acc['id']}", '{"description": ' + deep + "}",
                  "PATCH"),
    ]
    for response in answers:
        assert response.status_code in (400, 422), (depth, response.text[:300])
        assert_envelope(response)
    assert api.get("/api/objects/account", as_="rep_a").json()["total"] == 1


def test_json_bodies_nested_past_the_parser_limit_are_400(api: Api) -> None:
    for url in ("/api/query", "/api/objects/account"):
        response = _post_raw(api, url, '{"object": "account", "filters": ' + _deep(100_000)
                             + "}")
        assert response.status_code == 400, response.text
        assert assert_envelope(response)["code"] == "bad_json"


def test_service_refuses_deep_filters_without_recursing(services: Services,
                                                        team: Team) -> None:
    nested: Any = ["name", "=", "x"]
    for _ in range(5000):
        nested = [nested]
    with pytest.raises(QueryError, match="nest deeper"):
        services.ql.find(team.rep_a, "account", filters=nested)
    with pytest.raises(QueryError, match="nest deeper"):
        services.ql.count(team.rep_a, "account", filters=nested)
    with pytest.raises(QueryError, match="nest deeper"):
        services.ql.aggregate(team.rep_a, "account", filters=nested)


# -- text that cannot be encoded -----------------------------------------------------------
SURROGATE = "\\ud800"  # as it arrives in JSON


@pytest.mark.parametrize(("url", "body"), [
    ("/api/query", '{"object": "account", "filters": [["name", "=", "X\\ud800"]]}'),
    ("/api/query", '{"object": "account", "search": "\\ud800"}'),
    ("/api/query", '{"object": "account", "fields": ["\\ud800"]}'),
    ("/api/objects/account", '{"name": "A\\ud800", "phone": "+1 555 0100"}'),
    ("/api/objects/account", '{"\\ud800": "x", "name": "A", "phone": "+1 555 0100"}'),
])
def test_lone_surrogates_are_400(api: Api, url: str, body: str) -> None:
    response = _post_raw(api, url, body)
    assert response.status_code == 400, response.text
    assert "surrogate" in assert_envelope(response)["message"]


def test_lone_surrogates_in_url_filters_and_python_calls(api: Api, team: Team) -> None:
    response = api.get("/api/objects/account", as_="rep_a",
                       params={"filters": '[["name", "=", "\\ud800"]]'})
    assert response.status_code == 400
    ql = api.services.ql
    with pytest.raises(QueryError, match="surrogate"):
        ql.find(team.rep_a, "account", filters=[["name", "=", "\ud800"]])
    with pytest.raises(QueryError, match="surrogate"):
        ql.find(team.rep_a, "account", search="ab\udfff")
    with pytest.raises(ValidationError) as raised:
        ql.insert(team.rep_a, "account", {"name": "A\ud800", "phone": "+1 555 0100"})
    assert raised.value.field_errors.keys() == {"name"}


# -- shapes and values ---------------------------------------------------------------------
@pytest.mark.parametrize("view", [["all"], {"all": 1}, 3, True])
def test_view_of_the_wrong_type_is_400(api: Api, view: Any) -> None:
    response = api.post("/api/query", as_="rep_a", json={"object": "account", "view": view})
    assert response.status_code == 400, response.text
    with pytest.raises(QueryError):
        api.services.ql.find(api.team.rep_a, "account", view=view)


@pytest.mark.parametrize("token", ["today\n", "this_week\n", "last_n_days:3\n", " today",
                                   "$today\n"])
def test_relative_date_tokens_must_match_whole(api: Api, token: str) -> None:
    response = api.post("/api/query", as_="rep_a", json={
        "object": "opportunity", "filters": [["close_date", "=", token]]})
    assert response.status_code == 400, (token, response.text)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
                                   "0001-01-01T00:00:00+23:59"])
def test_datetimes_at_the_edges_are_refused_clearly(api: Api, value: str) -> None:
    for op in ("=", "<", ">", "between"):
        filter_value: Any = [value, value] if op == "between" else value
        response = api.post("/api/query", as_="rep_a", json={
            "object": "activity", "filters": [["activity_date", op, filter_value]]})
        assert response.status_code == 400, (value, op, response.text)
        assert "years 1 to 9999" in assert_envelope(response)["message"]
    created = api.post("/api/objects/activity", as_="rep_a", json={
        "subject": "Edge", "type": "call", "activity_date": value})
    assert created.status_code == 422, created.text
    assert {d["field"] for d in assert_envelope(created)["details"]} == {"activity_date"}


def test_datetimes_just_inside_the_edges_work(api: Api) -> None:
    for value in ("0001-01-01T05:00:00+05:00", "9999-12-31T18:59:59-05:00"):
        response = api.post("/api/query", as_="rep_a", json={
            "object": "activity", "filters": [["activity_date", "<", value]]})
        assert response.status_code == 200, response.text


# -- join paths and IN values per query ----------------------------------------------------
def _many_paths(n: int) -> list[str]:
    hops = ["owner", "created_by", "modified_by", "manager"]
    paths = [f"{a}.{b}.{c}.name" for a in hops[:3] for b in hops for c in hops]
    paths += [f"account.{a}.{b}.name" for a in hops[:3] for b in hops]
    assert len(paths) >= n
    return paths[:n]


def test_too_many_lookup_paths_are_refused_early(api: Api) -> None:
    started = time.perf_counter()
    response = api.post("/api/query", as_="rep_a",
                        json={"object": "opportunity", "fields": _many_paths(60)})
    assert response.status_code == 400, response.text
    assert f"at most {MAX_JOINS}" in assert_envelope(response)["message"]
    assert time.perf_counter() - started < 2
    listed = api.get("/api/objects/opportunity", as_="rep_a",
                     params={"fields": ",".join(_many_paths(60))})
    assert listed.status_code == 400
    filters = [[p, "=", "x"] for p in _many_paths(30)]
    filtered = api.post("/api/query", as_="rep_a",
                        json={"object": "opportunity", "filters": filters})
    assert filtered.status_code == 400


def test_lookup_paths_up_to_the_limit_work(api: Api) -> None:
    api.opportunity(api.account()["id"])
    # owner, owner.manager, created_by, ... : count distinct join prefixes, not fields
    fields = ["name", "account.name", "account.industry", "owner.name", "owner.manager.name",
              "account.owner.name", "account.parent.name", "created_by.name"]
    response = api.post("/api/query", as_="rep_a",
                        json={"object": "opportunity", "fields": fields})
    assert response.status_code == 200, response.text
    assert response.json()["records"][0]["account.name"] == "Acme Corp"


def test_in_values_per_query_are_capped_before_the_driver_limit(api: Api) -> None:
    values = [f"v{i}" for i in range(1000)]
    filters: list[Any] = [["name", "in", values]]
    for _ in range(69):  # 70,000 values: above PostgreSQL's 65,535 parameters
        filters += ["or", ["name", "in", values]]
    started = time.perf_counter()
    response = api.post("/api/query", as_="rep_a", json={"object": "account",
                                                         "filters": filters})
    assert response.status_code == 400, response.text
    assert f"at most {MAX_IN_VALUES_PER_QUERY}" in assert_envelope(response)["message"]
    assert time.perf_counter() - started < 2
    within = [["name", "in", values]] + [x for _ in range(4) for x in
                                         ("or", ["name", "in", values])]
    ok = api.post("/api/query", as_="rep_a", json={"object": "account", "filters": within})
    assert ok.status_code == 200, ok.text


# -- routes ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "url", "status"), [
    ("GET", "/api/nope", 404), ("POST", "/api/nope/deeper", 404),
    ("PUT", "/api/objects/account", 405), ("POST", "/api/me", 405),
    ("DELETE", "/api/objects/account", 405), ("GET", "/api/objects/..%2Faccount", 404),
    ("GET", "/api/objects/%2e%2e%2Fhealth", 404), ("PATCH", "/api/query", 405),
])
def test_unknown_api_routes_answer_in_the_envelope(api: Api, method: str, url: str,
                                                   status: int) -> None:
    response = api.request(method, url, as_="rep_a", json={})
    assert response.status_code == status, response.text
    error = assert_envelope(response)
    if status == 405:
        assert error["code"] == "method_not_allowed"
        assert response.headers["allow"]


def test_api_fallback_wins_over_a_ui_mounted_at_the_root(api: Api) -> None:
    """As in production: NiceGUI is mounted at "/" behind the API routes."""
    app = FastAPI()
    install(app)

    async def html_404(scope: Any, receive: Any, send: Any) -> None:
        await HTMLResponse("<h1>NiceGUI 404</h1>", status_code=404)(scope, receive, send)

    app.mount("/", html_404)
    client = TestClient(app, raise_server_exceptions=False)
    for method, url, status in [("GET", "/api/nope", 404), ("PUT", "/api/objects/account", 405)]:
        response = client.request(method, url, headers=api.auth("rep_a"))
        check(response)
        assert response.status_code == status
        assert assert_envelope(response)
    assert client.get("/some/page").text == "<h1>NiceGUI 404</h1>"


# -- bodies -----------------------------------------------------------------------------------
def test_oversized_login_form_goes_back_to_the_login_page(api: Api,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    # Its own login limiter: other tests' sign-ins from the same test client address
    # must not throttle this one.
    monkeypatch.setattr(api.services, "authenticator", Authenticator(api.services.ql))
    client = TestClient(api.client.app, follow_redirects=False)
    response = client.post("/auth/login", data={"email": "a" * 1_100_000, "password": "x"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?error=too_large"
    long_field = client.post("/auth/login", data={"email": "a" * 5000, "password": "x"})
    assert long_field.status_code == 303
    assert "error=too_large" in long_field.headers["location"]
    broken = client.post("/auth/login", content=b"--x\r\nbroken",
                         headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert broken.status_code == 303 and "error=invalid" in broken.headers["location"]


def test_json_in_deep_json_field_values_is_refused_by_the_service(services: Services,
                                                                   team: Team) -> None:
    value: Any = 1
    for _ in range(2000):
        value = [value]
    account = services.ql.insert(team.rep_a, "account", {"name": "A", "phone": "+1 555 0100"})
    with pytest.raises(QueryError):
        services.ql.find(team.rep_a, "account", filters=[["name", "in", value]])
    assert services.ql.get(team.rep_a, "account", account["id"])["name"] == "A"


def test_query_body_text_is_escaped_when_echoed(api: Api) -> None:
    response = api.post("/api/query", as_="rep_a", json={"object": "account",
                                                         "fields": ["naïve"]})
    assert response.status_code == 400
    assert "na\\u00efve" in response.text or "naïve" in response.json()["error"]["message"]


def test_system_context_is_unaffected(services: Services) -> None:
    """The bounds are about clients' structures, not a trusted caller's normal queries."""
    system = Context.system()
    filters: list[Any] = [["name", "=", "a"]]
    for _ in range(50):
        filters += ["or", ["name", "=", "b"]]
    assert services.ql.find(system, "account", filters=filters).records == []
    assert json.dumps(filters)


# -- a chunked body is refused at the limit, not read whole ------------------------------
@pytest.fixture
def live_api(sqlite_services: Services) -> Iterator[tuple[str, int, str]]:
    """The API under a real uvicorn on a free port (TestClient reads bodies whole)."""
    import uvicorn

    from app import runtime
    from app.auth.tokens import issue_token
    from app.devserver import free_port
    from tests.conftest import make_team

    team = make_team(sqlite_services.ql)
    runtime.install(sqlite_services)
    app = FastAPI()
    install(app)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert team.rep_a.user_id
    token = issue_token(sqlite_services.secret_key, team.rep_a.user_id, team.rep_a.role)
    yield "127.0.0.1", port, token
    server.should_exit = True
    thread.join(timeout=10)


def test_chunked_upload_is_cut_off_at_the_limit(live_api: tuple[str, int, str]) -> None:
    host, port, token = live_api
    chunk = b"a" * 65_536
    sent = 0
    answer = b""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall((f"POST /api/query HTTP/1.1\r\nHost: {host}\r\n"
                      f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n").encode())
        try:
            while sent < 200 * 1_048_576:  # 200 MB if nobody stops it
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                if select.select([sock], [], [], 0)[0]:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65_536)
                if not data:
                    break
                answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 8 * 1_048_576, f"the server read {sent / 1_048_576:.0f} MB before refusing"
