"""Browser sessions: the login form's POST target, logout, the session cookie on the REST
API and in `context_from_request`, and the open-redirect guard."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from app import runtime
from app.api import install
from app.auth import passwords
from app.auth.login import Authenticator
from app.auth.passwords import set_password
from app.auth.sessions import SESSION_COOKIE, SESSION_TTL, context_from_request, safe_next
from app.core import Services
from app.objectql import Context
from tests.conftest import Team, make_team

PASSWORD = "password123"


@dataclasses.dataclass
class Browser:
    client: TestClient
    services: Services
    team: Team


def _app_for(services: Services, base_url: str = "http://testserver") -> TestClient:
    app = FastAPI()
    install(app)
    return TestClient(app, base_url=base_url, follow_redirects=False)


@pytest.fixture
def browser(sqlite_services: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    # Cheap Argon2 parameters: these tests are about sessions, not hashing cost.
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64,
                                                             parallelism=1))
    # A fresh Authenticator: the login throttle must not carry over between tests.
    services = dataclasses.replace(sqlite_services,
                                   authenticator=Authenticator(sqlite_services.ql))
    previous = runtime._services
    runtime.install(services)
    team = make_team(services.ql)
    for ctx in (team.admin, team.rep_a):
        set_password(services.ql, str(ctx.user_id), PASSWORD)
    with _app_for(services) as client:
        yield Browser(client, services, team)
    runtime._services = previous


def _login(client: TestClient, email: str, password: str, next_url: str = "/",
           **headers: str):
    return client.post("/auth/login", headers=headers,
                       data={"email": email, "password": password, "next": next_url})


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _request_with(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{SESSION_COOKIE}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers,
                    "query_string": b""})


def test_login_sets_the_session_cookie_and_redirects_to_next(browser: Browser) -> None:
    r = _login(browser.client, "Admin@Test.local", PASSWORD, "/accounts?view=mine")
    assert r.status_code == 303
    assert r.headers["location"] == "/accounts?view=mine"
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for flag in ("httponly", "samesite=lax", "path=/", f"max-age={SESSION_TTL}"):
        assert flag in cookie
    assert "secure" not in cookie  # plain http here; see the https test
    me = browser.client.get("/api/me")
    assert me.status_code == 200
    assert me.json()["user"]["email"] == "admin@test.local"
    assert context_from_request(_request_with(r.cookies[SESSION_COOKIE])) is not None


def test_bad_password_redirects_back_with_an_error_and_no_cookie(browser: Browser) -> None:
    r = _login(browser.client, "admin@test.local", "wrong-password", "/accounts")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?")
    assert _query(r.headers["location"]) == {"error": "invalid", "next": "/accounts"}
    assert "set-cookie" not in r.headers
    assert browser.client.get("/api/me").status_code == 401


def test_missing_fields_are_a_failed_login_not_a_422(browser: Browser) -> None:
    r = browser.client.post("/auth/login", data={})
    assert r.status_code == 303
    assert _query(r.headers["location"]) == {"error": "invalid", "next": "/"}


def test_repeated_failures_are_throttled(browser: Browser) -> None:
    for _ in range(5):
        _login(browser.client, "rep.a@test.local", "wrong-password")
    r = _login(browser.client, "rep.a@test.local", PASSWORD, "/kanban")
    query = _query(r.headers["location"])
    assert query["error"] == "throttled"
    assert int(query["retry_after"]) > 0
    assert query["next"] == "/kanban"
    assert "set-cookie" not in r.headers


@pytest.mark.parametrize("target", ["//evil.example", "//evil.example/x", "https://evil.example",
                                    "/\\evil.example", "/\t/evil.example", "javascript:alert(1)",
                                    "evil.example", ""])
def test_open_redirects_are_refused(browser: Browser, target: str) -> None:
    r = _login(browser.client, "admin@test.local", PASSWORD, target)
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    assert safe_next(target) == "/"


def test_safe_next_keeps_local_paths() -> None:
    for path in ("/", "/accounts", "/accounts/a1?tab=history#top", "/search?q=//x"):
        assert safe_next(path) == path


def test_cross_site_login_post_is_refused(browser: Browser) -> None:
    r = _login(browser.client, "admin@test.local", PASSWORD, "/",
               origin="https://evil.example")
    assert _query(r.headers["location"])["error"] == "invalid"
    assert "set-cookie" not in r.headers
    same = _login(browser.client, "admin@test.local", PASSWORD, "/",
                  origin="http://testserver")
    assert SESSION_COOKIE in same.cookies


def test_cookie_is_secure_over_https(browser: Browser) -> None:
    with _app_for(browser.services, "https://testserver") as client:
        r = _login(client, "admin@test.local", PASSWORD)
    assert "secure" in r.headers["set-cookie"].lower()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_logout_clears_the_cookie(browser: Browser, method: str) -> None:
    _login(browser.client, "admin@test.local", PASSWORD)
    assert browser.client.get("/api/me").status_code == 200
    r = browser.client.request(method, "/auth/logout")
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith(f'{SESSION_COOKIE}=""') and "max-age=0" in cookie
    assert SESSION_COOKIE not in browser.client.cookies
    assert browser.client.get("/api/me").status_code == 401


def test_deactivated_users_session_is_rejected(browser: Browser) -> None:
    r = _login(browser.client, "rep.a@test.local", PASSWORD)
    token = r.cookies[SESSION_COOKIE]
    ctx = context_from_request(_request_with(token))
    assert ctx is not None and ctx.user_id == browser.team.rep_a.user_id
    assert browser.client.get("/api/me").status_code == 200
    browser.services.ql.update(Context.system(), "user", str(browser.team.rep_a.user_id),
                               {"active": False})
    me = browser.client.get("/api/me")
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "unauthorized"
    assert context_from_request(_request_with(token)) is None


def test_context_from_request_refuses_missing_and_forged_cookies(browser: Browser) -> None:
    assert context_from_request(_request_with(None)) is None
    assert context_from_request(_request_with("not-a-jwt")) is None
    r = _login(browser.client, "admin@test.local", PASSWORD)
    token = r.cookies[SESSION_COOKIE]
    head, body, sig = token.split(".")
    forged = f"{head}.{body}.{sig[:-4]}AAAA"
    assert context_from_request(_request_with(forged)) is None
