"""Cross-site request forgery: a change authenticated by the browser's session cookie must
come from this site (Origin, else Referer) with a JSON body; bearer calls are unaffected.

Every unsafe API route is found in the app's own route table, so a route added later is
covered without touching this file.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI

from app.api import install
from app.auth.sessions import SESSION_COOKIE, SESSION_TTL
from app.auth.tokens import issue_token
from app.core import Services
from tests.conftest import Team
from tests.integration.api_support import Api, assert_envelope

SITE = "http://testserver"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
NOT_COOKIE_ROUTES = {"/api/auth/token"}  # takes a password, never the session cookie


def unsafe_routes() -> list[tuple[str, str]]:
    app = FastAPI()
    install(app)
    return [(method.upper(), path) for path, operations in app.openapi()["paths"].items()
            for method in operations if method.upper() in UNSAFE
            and path not in NOT_COOKIE_ROUTES]


@pytest.fixture
def api(services: Services, team: Team) -> Api:
    return Api(services, team)


class Browser:
    """Requests as a signed-in browser: the session cookie, whatever else a page sends."""

    def __init__(self, api: Api) -> None:
        self.api = api
        ctx = api.team.rep_a
        assert ctx.user_id
        self.cookie = issue_token(api.services.secret_key, ctx.user_id, ctx.role, SESSION_TTL)

    def send(self, method: str, path: str, *, body: str = '{"name": "Forged"}',
             content_type: str | None = "application/json", **headers: str) -> Any:
        all_headers = {k.replace("_", "-"): v for k, v in headers.items()}
        if content_type:
            all_headers["Content-Type"] = content_type
        self.api.client.cookies.set(SESSION_COOKIE, self.cookie)
        try:
            return self.api.request(method, path, headers=all_headers,
                                    content=body.encode() if method != "DELETE" else None)
        finally:
            self.api.client.cookies.clear()


def _fill(path: str, record_id: str) -> str:
    return path.replace("{object_name}", "account").replace("{record_id}", record_id) \
        .replace("{name}", "account").replace("{n}", "1")


def _accounts(api: Api) -> int:
    return api.get("/api/objects/account", as_="rep_a").json()["total"]


def test_every_unsafe_route_is_listed() -> None:
    routes = unsafe_routes()
    assert ("POST", "/api/objects/{object_name}") in routes
    assert ("PATCH", "/api/objects/{object_name}/{record_id}") in routes
    assert ("DELETE", "/api/objects/{object_name}/{record_id}") in routes
    assert ("POST", "/api/query") in routes


@pytest.mark.parametrize("attack", [
    {"origin": "https://evil.example", "content_type": "text/plain"},
    {"origin": "https://evil.example"},
    {"origin": "null"},
    {"referer": "https://evil.example/page"},
    {"origin": "http://testserver.evil.example"},
    {},  # neither Origin nor Referer
])
def test_cross_site_cookie_requests_are_refused_on_every_unsafe_route(
        api: Api, attack: dict[str, str]) -> None:
    browser = Browser(api)
    acc = api.account()
    before = api.get(f"/api/objects/account/{acc['id']}", as_="rep_a").json()
    for method, path in unsafe_routes():
        response = browser.send(method, _fill(path, acc["id"]), **attack)
        assert response.status_code == 403, (method, path, attack, response.text)
        assert assert_envelope(response)["code"] == "csrf_refused"
    assert _accounts(api) == 1
    assert api.get(f"/api/objects/account/{acc['id']}", as_="rep_a").json() == before


def test_same_site_cookie_requests_need_a_json_body(api: Api) -> None:
    browser = Browser(api)
    for content_type in ("text/plain", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x", None):
        response = browser.send("POST", "/api/objects/account", origin=SITE,
                                content_type=content_type,
                                body='{"name": "Plain", "phone": "+1 555 0100"}')
        assert response.status_code == 415, (content_type, response.text)
    assert _accounts(api) == 0


def test_same_site_cookie_requests_work(api: Api) -> None:
    browser = Browser(api)
    created = browser.send("POST", "/api/objects/account", origin=SITE,
                           body='{"name": "Mine", "phone": "+1 555 0100"}')
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    by_referer = browser.send("PATCH", f"/api/objects/account/{record_id}",
                              referer=f"{SITE}/o/account/{record_id}",
                              body='{"industry": "technology"}')
    assert by_referer.status_code == 200, by_referer.text
    query = browser.send("POST", "/api/query", origin=SITE, body='{"object": "account"}')
    assert query.json()["total"] == 1
    opportunity = api.opportunity(record_id)
    deleted = browser.send("DELETE", f"/api/objects/opportunity/{opportunity['id']}",
                           origin=SITE, content_type=None)
    assert deleted.status_code == 204, deleted.text
    assert api.get("/api/objects/opportunity", as_="rep_a").json()["total"] == 0


def test_cookie_reads_are_not_checked(api: Api) -> None:
    """Reads change nothing, and without CORS headers no other site can read the answer."""
    browser = Browser(api)
    response = browser.send("GET", "/api/me", origin="https://evil.example",
                            content_type=None)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_bearer_calls_are_unaffected(api: Api) -> None:
    for content_type in ("application/x-www-form-urlencoded", "text/plain"):  # curl -d
        body = json.dumps({"name": f"Scripted {content_type}", "phone": "+1 555 0100"})
        response = api.post("/api/objects/account", as_="rep_a", content=body.encode(),
            headers={"Content-Type": content_type, "Origin": "https://elsewhere.example"})
        assert response.status_code == 201, response.text
    assert _accounts(api) == 2


def test_a_bearer_header_wins_over_a_cookie(api: Api) -> None:
    """An integration that happens to carry a cookie still authenticates by its token."""
    browser = Browser(api)
    api.client.cookies.set(SESSION_COOKIE, browser.cookie)
    try:
        response = api.post("/api/objects/account", as_="rep_b",
                            json={"name": "Rob's", "phone": "+1 555 0100"},
                            headers={"Origin": "https://elsewhere.example"})
    finally:
        api.client.cookies.clear()
    assert response.status_code == 201
    assert response.json()["owner"] == api.team.rep_b.user_id
