"""The REST API in-process for integration tests: a TestClient that checks every response
for what must never happen (a 500, a password hash, an error outside the envelope)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import runtime
from app.api import install
from app.auth.tokens import issue_token
from app.core import Services
from app.objectql import Context
from tests.conftest import Team

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}


@cache
def api_app() -> FastAPI:
    """One FastAPI app for the session; the services it serves are whatever
    `runtime.install` installed last (each test installs its own)."""
    app = FastAPI()
    install(app)
    return app


def assert_envelope(response: httpx.Response) -> dict[str, Any]:
    """The ⚑ error envelope: {"error": {"code", "message", "details": [{field, message}]}}."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"], body
    assert isinstance(error.get("details"), list), body
    for detail in error["details"]:
        assert isinstance(detail, dict), body
        assert isinstance(detail.get("field"), str), body
        assert isinstance(detail.get("message"), str), body
    return error


def assert_secure_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers)
    assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", "")
    assert "access-control-allow-origin" not in response.headers


class Api:
    """`api.get("/api/me", as_="rep_a")`: requests as a team member with a real token."""

    def __init__(self, services: Services, team: Team):
        self.services = services
        self.team = team
        runtime.install(services)
        self.client = TestClient(api_app(), raise_server_exceptions=False)

    def token(self, who: str | Context) -> str:
        ctx = getattr(self.team, who) if isinstance(who, str) else who
        assert ctx.user_id
        return issue_token(self.services.secret_key, ctx.user_id, ctx.role)

    def auth(self, who: str | Context) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who)}"}

    def request(self, method: str, url: str, *, as_: str | Context | None = None,
                headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(headers or {})
        if as_ is not None:
            headers.update(self.auth(as_))
        response = self.client.request(method, url, headers=headers, **kwargs)
        check(response)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    # -- data through the API ------------------------------------------------------------
    def account(self, as_: str = "rep_a", **values: Any) -> dict[str, Any]:
        data = {"name": "Acme Corp", "phone": "+1 555 0100", **values}
        response = self.post("/api/objects/account", as_=as_, json=data)
        assert response.status_code == 201, response.text
        return response.json()

    def opportunity(self, account_id: str, as_: str = "rep_a", **values: Any
                    ) -> dict[str, Any]:
        data = {"name": "Acme expansion", "account": account_id, "stage": "prospecting",
                "close_date": (date.today() + timedelta(days=30)).isoformat(),
                "amount": 50_000, **values}
        response = self.post("/api/objects/opportunity", as_=as_, json=data)
        assert response.status_code == 201, response.text
        return response.json()


def check(response: httpx.Response) -> None:
    """What no response may ever do, whoever asks and whatever they send."""
    assert response.status_code < 500, (response.status_code, response.text[:2000])
    assert "argon2" not in response.text.lower(), "a password hash left the server"
    assert_secure_headers(response)
    if response.status_code >= 400 and response.request.url.path.startswith("/api/"):
        assert_envelope(response)
