"""The two reads answered ahead of the middleware stack (app/api/fast_reads.py): what a
caller sees is what the full stack gives — headers, request id, ETag, totals — and
anything unusual (an error, HEAD, a body, a trailing slash) is the full stack's answer."""

from __future__ import annotations

from typing import Any

import pytest

from app.api.fast_reads import FastReadsMiddleware, _read_route
from app.api.middleware import HEADERS
from app.core import Services
from tests.conftest import Team
from tests.integration.api_support import Api, api_app, assert_envelope


@pytest.fixture
def api(services: Services, team: Team) -> Api:
    return Api(services, team)


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None
           ) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "headers": headers or [],
            "query_string": b""}


def test_only_the_two_plain_reads_take_the_short_way() -> None:
    assert _read_route(_scope("GET", "/api/objects/account"))[0] == "/api/objects/{object_name}"  # type: ignore[index]
    record = _read_route(_scope("GET", "/api/objects/account/01abc"))
    assert record is not None and record[0] == "/api/objects/{object_name}/{record_id}"
    assert record[2] == {"object_name": "account", "record_id": "01abc"}
    for scope in (_scope("HEAD", "/api/objects/account/01abc"),
                  _scope("POST", "/api/objects/account"),
                  _scope("GET", "/api/objects/account/"),
                  _scope("GET", "/api/objects/account/01abc/history"),
                  _scope("GET", "/api/objects//x"),
                  _scope("GET", "/api/query"),
                  _scope("GET", "/api/objects/account", [(b"content-length", b"12")]),
                  _scope("GET", "/api/objects/account", [(b"transfer-encoding", b"chunked")]),
                  {**_scope("GET", "/api/objects/account"), "root_path": "/crm"},
                  {"type": "websocket", "path": "/api/objects/account", "headers": []}):
        assert _read_route(scope) is None, scope


def test_it_is_the_outermost_of_our_middlewares() -> None:
    assert api_app().user_middleware[0].cls is FastReadsMiddleware


def test_a_record_read_carries_what_the_stack_would_add(api: Api) -> None:
    account = api.account()
    response = api.get(f"/api/objects/account/{account['id']}", as_="rep_a",
                       headers={"X-Request-ID": "trace-7"})
    assert response.status_code == 200 and response.json()["id"] == account["id"]
    assert response.headers["x-request-id"] == "trace-7"
    assert response.headers["etag"] == str(account["version"])
    assert response.headers["content-type"].startswith("application/json")
    for name, value in HEADERS:
        assert response.headers.get_list(name.decode()) == [value.decode()]  # once, not twice
    made = api.get(f"/api/objects/account/{account['id']}", as_="rep_a").headers
    assert len(made["x-request-id"]) == 32


def test_a_list_read_gives_records_and_total(api: Api) -> None:
    for name in ("Alpha", "Beta", "Gamma"):
        api.account(name=name)
    response = api.get("/api/objects/account?sort=name&limit=2&fields=name", as_="rep_a")
    body = response.json()
    assert [r["name"] for r in body["records"]] == ["Alpha", "Beta"]
    assert body["total"] == 3


@pytest.mark.parametrize(("path", "who", "status"), [
    ("/api/objects/account/does-not-exist", "rep_a", 404),
    ("/api/objects/account/anything", None, 401),
    ("/api/objects/no_such_object", "rep_a", 404),
    ("/api/objects/account?filters=not-json", "rep_a", 400),
    ("/api/objects/account?limit=0", "rep_a", 400),
])
def test_a_read_that_fails_gets_the_full_stacks_envelope_under_one_request_id(
        api: Api, path: str, who: str | None, status: int) -> None:
    response = api.get(path, as_=who, headers={"X-Request-ID": "trace-9"})
    assert response.status_code == status, response.text
    assert_envelope(response)
    assert response.headers.get_list("x-request-id") == ["trace-9"]
