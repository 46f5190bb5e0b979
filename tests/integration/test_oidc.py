"""OpenID Connect single sign-on against a real (loopback) provider: discovery, PKCE,
state, nonce, ID token signature and claims, email matching and auto-provisioning.

Every failure must end in a 303 to /login?error=sso_refused without a session cookie.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc.jwk import RSAKey
from sqlalchemy import select
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request

from app import runtime
from app.api import install
from app.audit import AUDIT
from app.auth.oidc import OIDC_COOKIE, oidc_enabled
from app.auth.sessions import SESSION_COOKIE
from app.core import Services
from app.objectql import Context
from tests.conftest import Team, make_team
from tests.integration.oidc_provider import Provider, make_key

KEYS: dict[str, RSAKey] = {}


def _keys() -> tuple[RSAKey, RSAKey]:
    if not KEYS:  # RSA generation is the slow part: once per run
        KEYS["good"], KEYS["other"] = make_key(), make_key()
    return KEYS["good"], KEYS["other"]


@pytest.fixture
def provider() -> Iterator[Provider]:
    good, other = _keys()
    # A fresh provider (new port, so a new issuer) per test: no discovery cache carries over.
    p = Provider(good, other).start()
    yield p
    p.stop()


@dataclasses.dataclass
class Sso:
    client: TestClient
    services: Services
    provider: Provider
    team: Team

    def configure(self, **changes: Any) -> None:
        settings = dataclasses.replace(self.services.settings, **changes)
        self.services = dataclasses.replace(self.services, settings=settings)
        runtime.install(self.services)

    def start(self, client: TestClient | None = None, next_url: str = "/accounts") -> str:
        """GET /auth/oidc/login; returns the provider's authorize URL."""
        r = (client or self.client).get("/auth/oidc/login", params={"next": next_url})
        assert r.status_code == 302, r.text
        return r.headers["location"]

    def authorize(self, authorize_url: str) -> str:
        """What the browser does at the provider: returns our callback URL with the code."""
        with httpx.Client(trust_env=False) as http:
            r = http.get(authorize_url)
        assert r.status_code == 302, r.text
        return r.headers["location"]

    def login(self, next_url: str = "/accounts") -> Any:  # the TestClient's response (httpx2)
        return self.client.get(self.authorize(self.start(next_url=next_url)))


@pytest.fixture
def sso(sqlite_services: Services, provider: Provider) -> Iterator[Sso]:
    previous = runtime._services
    settings = dataclasses.replace(
        sqlite_services.settings, oidc_issuer=provider.issuer,
        oidc_client_id=provider.client_id, oidc_client_secret=provider.client_secret,
        oidc_auto_provision_role="", public_url="http://testserver")
    services = dataclasses.replace(sqlite_services, settings=settings)
    runtime.install(services)
    team = make_team(services.ql)
    app = FastAPI()
    install(app)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        yield Sso(client, services, provider, team)
    runtime._services = previous


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _assert_refused(sso: Sso, r: Any) -> None:
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/login?error=sso_refused")
    assert SESSION_COOKIE not in r.cookies
    assert SESSION_COOKIE not in sso.client.cookies
    assert sso.client.get("/api/me").status_code == 401


def _audit(sso: Sso, action: str) -> list[dict]:
    with sso.services.engine.connect() as conn:
        rows = conn.execute(select(AUDIT).where(AUDIT.c.action == action)).mappings().all()
    return [dict(r) for r in rows if r["changes"].get("method") == [None, "oidc"]]


def test_happy_path_signs_in_the_matching_user(sso: Sso) -> None:
    sso.provider.behaviour["email"] = "Admin@Test.LOCAL"  # matched case-insensitively
    authorize_url = sso.start(next_url="/accounts?view=mine")
    assert authorize_url.startswith(f"{sso.provider.issuer}/authorize?")
    params = _query(authorize_url)
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"] and params["state"] and params["nonce"]
    assert params["scope"].split() == ["openid", "email", "profile"]
    assert params["redirect_uri"] == "http://testserver/auth/oidc/callback"
    assert OIDC_COOKIE in sso.client.cookies

    r = sso.client.get(sso.authorize(authorize_url))
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/accounts?view=mine"
    assert SESSION_COOKIE in r.cookies
    assert "httponly" in r.headers["set-cookie"].lower()
    assert sso.provider.token_requests[-1]["method"] == "client_secret_basic"
    me = sso.client.get("/api/me")
    assert me.status_code == 200
    assert me.json()["user"]["email"] == "admin@test.local"
    assert me.json()["role"] == "admin"
    [entry] = _audit(sso, "login")
    assert entry["user_id"] == sso.team.admin.user_id
    assert entry["changes"]["email"] == [None, "admin@test.local"]


def test_client_secret_post_when_discovery_says_so(sso: Sso) -> None:
    sso.provider.behaviour["auth_methods"] = ["client_secret_post"]
    r = sso.login()
    assert r.status_code == 303 and SESSION_COOKIE in r.cookies
    assert sso.provider.token_requests[-1]["method"] == "client_secret_post"


def test_wrong_issuer_in_id_token_is_refused(sso: Sso) -> None:
    sso.provider.behaviour["iss"] = "http://evil.example"
    _assert_refused(sso, sso.login())


def test_discovery_for_another_issuer_is_refused(sso: Sso) -> None:
    sso.provider.behaviour["discovery_issuer"] = "http://evil.example"
    r = sso.client.get("/auth/oidc/login")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?error=sso_unavailable")


def test_bad_signature_is_refused(sso: Sso) -> None:
    sso.provider.behaviour["forge_signature"] = True
    _assert_refused(sso, sso.login())


def test_nonce_mismatch_is_refused(sso: Sso) -> None:
    sso.provider.behaviour["nonce"] = "not-the-nonce-we-sent"
    _assert_refused(sso, sso.login())


def test_unverified_email_is_refused(sso: Sso) -> None:
    sso.provider.behaviour["email_verified"] = False
    _assert_refused(sso, sso.login())
    [entry] = _audit(sso, "login_failed")
    assert entry["changes"]["reason"] == [None, "email_not_verified"]


def test_inactive_user_is_refused(sso: Sso) -> None:
    sso.services.ql.update(Context.system(), "user", str(sso.team.admin.user_id),
                           {"active": False})
    _assert_refused(sso, sso.login())


def test_unknown_email_is_refused_without_auto_provisioning(sso: Sso) -> None:
    sso.provider.behaviour["email"] = "newcomer@corp.example"
    _assert_refused(sso, sso.login())
    users = sso.services.ql.find(Context.system(), "user", fields=["email"],
                                 filters=[["email", "=", "newcomer@corp.example"]]).records
    assert users == []
    [entry] = _audit(sso, "login_failed")
    assert entry["changes"]["reason"] == [None, "unknown_email"]


def test_unknown_email_is_provisioned_with_the_configured_role(sso: Sso) -> None:
    sso.configure(oidc_auto_provision_role="sales_rep")
    sso.provider.behaviour.update(email="Newcomer@Corp.example", name="Nia Newcomer")
    r = sso.login(next_url="/")
    assert r.status_code == 303 and r.headers["location"] == "/"
    me = sso.client.get("/api/me").json()
    assert me["role"] == "sales_rep"
    assert me["user"]["email"] == "newcomer@corp.example"
    assert me["user"]["name"] == "Nia Newcomer"
    assert len(_audit(sso, "login")) == 1


def test_tampered_state_is_refused(sso: Sso) -> None:
    callback = sso.authorize(sso.start())
    params = _query(callback)
    tampered = f"/auth/oidc/callback?code={params['code']}&state={params['state']}x"
    _assert_refused(sso, sso.client.get(tampered))


def test_callback_from_another_browser_is_refused(sso: Sso) -> None:
    callback = sso.authorize(sso.start())
    with TestClient(sso.client.app, base_url="http://testserver",
                    follow_redirects=False) as stranger:
        r = stranger.get(callback)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?error=sso_refused")
    assert SESSION_COOKIE not in r.cookies


def test_pkce_verifier_mismatch_is_refused(sso: Sso) -> None:
    """A code issued to another flow (an intercepted code) fails PKCE at the provider."""
    with TestClient(sso.client.app, base_url="http://testserver",
                    follow_redirects=False) as attacker:
        stolen = _query(sso.authorize(sso.start(client=attacker)))["code"]
    victim_state = _query(sso.authorize(sso.start()))["state"]
    r = sso.client.get(f"/auth/oidc/callback?code={stolen}&state={victim_state}")
    _assert_refused(sso, r)
    assert sso.provider.token_requests[-1]["method"] == "client_secret_basic"
    assert stolen not in sso.provider.codes  # consumed by the failed exchange


def test_provider_error_is_refused(sso: Sso) -> None:
    state = _query(sso.start())["state"]
    r = sso.client.get(f"/auth/oidc/callback?error=access_denied&state={state}")
    _assert_refused(sso, r)


def test_unreachable_provider_is_reported(sso: Sso) -> None:
    sso.provider.stop()
    r = sso.client.get("/auth/oidc/login", params={"next": "/x"})
    assert r.status_code == 303
    assert r.headers["location"] == "/login?error=sso_unavailable&next=%2Fx"


def test_sso_routes_are_absent_when_not_configured(sso: Sso) -> None:
    sso.configure(oidc_client_secret="")
    assert not oidc_enabled(sso.services.settings)
    assert sso.client.get("/auth/oidc/login").status_code == 404
    assert sso.client.get("/auth/oidc/callback?code=x&state=y").status_code == 404


def test_coexists_with_an_app_wide_session_middleware(sso: Sso) -> None:
    """NiceGUI adds Starlette's SessionMiddleware (storage_secret) after install(): ours must
    not be mistaken for it, and the OIDC state must never leak into NiceGUI's cookie."""
    app = FastAPI()
    install(app)
    assert not any(m.cls is SessionMiddleware for m in app.user_middleware)
    app.add_middleware(SessionMiddleware, secret_key="nicegui-storage-secret")

    @app.get("/visit")
    def visit(request: Request) -> dict[str, str]:
        request.session.setdefault("id", "browser-1")
        return {"id": request.session["id"]}

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        assert client.get("/visit").status_code == 200
        outer = client.cookies["session"]
        r = client.get("/auth/oidc/login")
        assert "session=" not in r.headers.get("set-cookie", "")
        r = client.get(sso.authorize(r.headers["location"]))
        assert r.status_code == 303 and SESSION_COOKIE in r.cookies
        assert client.cookies["session"] == outer
        assert client.get("/visit").json() == {"id": "browser-1"}
