"""The login limit holds under concurrency (in process and in Redis), a per-address limit
stands beside the per-email one, and logging out ends the session for every copy of its
cookie (single process; revocation store in app/auth/revocation.py)."""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import runtime
from app.api import install
from app.auth import passwords
from app.auth.login import (
    ATTEMPTS_PER_MINUTE_PER_ADDRESS,
    FAILURES_PER_MINUTE,
    Authenticator,
    LoginFailed,
    LoginThrottled,
)
from app.auth.passwords import set_password
from app.auth.revocation import MemoryRevocations
from app.auth.sessions import SESSION_COOKIE
from app.core import Services
from app.objectql import Context
from tests.conftest import Team

PASSWORD = "password123"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64,
                                                             parallelism=1))


@pytest.fixture(params=["memory", "redis"])
def limiter_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    url = os.environ.get("HOTCRM_TEST_REDIS_URL")
    if not url:
        if os.environ.get("HOTCRM_REQUIRE_SERVICES") == "1":
            pytest.fail("Redis is required (HOTCRM_TEST_REDIS_URL)")
        pytest.skip("Redis not configured")
    return url


def _parallel(n: int, attempt: object) -> Counter[str]:
    """Run `attempt(i)` in n threads released together; count the outcomes."""
    barrier = threading.Barrier(n)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            attempt(i)  # type: ignore[operator]
            result = "ok"
        except LoginThrottled:
            result = "throttled"
        except LoginFailed:
            result = "failed"
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def _email(team: Team, services: Services) -> str:
    set_password(services.ql, str(team.rep_a.user_id), PASSWORD)
    return str(services.ql.get(Context.system(), "user", str(team.rep_a.user_id))["email"])


def test_parallel_wrong_passwords_check_only_the_limit(services: Services, team: Team,
                                                       limiter_url: str) -> None:
    email = _email(team, services)
    # A fresh window per run: Redis outlives test runs, so the key must be new.
    auth = Authenticator(services.ql, limiter_url)
    auth._limit.namespace = f"t{uuid.uuid4().hex}"
    outcomes = _parallel(32, lambda i: auth.login(email, f"wrong-{i}"))
    assert outcomes == Counter(failed=FAILURES_PER_MINUTE,
                               throttled=32 - FAILURES_PER_MINUTE), outcomes
    with pytest.raises(LoginThrottled):  # the right password waits too
        auth.login(email, PASSWORD)


def test_per_address_limit_across_emails(services: Services, team: Team,
                                         limiter_url: str) -> None:
    auth = Authenticator(services.ql, limiter_url)
    auth._address_limit.namespace = auth._limit.namespace = f"t{uuid.uuid4().hex}"
    address = f"198.51.100.{uuid.uuid4().int % 250}"
    n = ATTEMPTS_PER_MINUTE_PER_ADDRESS + 10
    outcomes = _parallel(n, lambda i: auth.login(f"spray{i}@test.local", "guess", address))
    assert outcomes == Counter(failed=ATTEMPTS_PER_MINUTE_PER_ADDRESS, throttled=10), outcomes
    with pytest.raises(LoginFailed):  # another address is not affected
        auth.login("spray0@test.local", "guess", "203.0.113.7")


def test_a_correct_password_clears_the_emails_failures(services: Services,
                                                       team: Team) -> None:
    email = _email(team, services)
    auth = Authenticator(services.ql)
    for _ in range(FAILURES_PER_MINUTE - 1):
        with pytest.raises(LoginFailed):
            auth.login(email, "wrong")
    assert auth.login(email, PASSWORD).user_id == team.rep_a.user_id
    for _ in range(FAILURES_PER_MINUTE):
        with pytest.raises(LoginFailed):
            auth.login(email, "wrong")
    with pytest.raises(LoginThrottled):
        auth.login(email, PASSWORD)


def test_token_endpoint_answers_429_in_parallel(services: Services, team: Team) -> None:
    email = _email(team, services)
    runtime.install(services)
    saved = services.authenticator
    services.authenticator = Authenticator(services.ql)
    app = FastAPI()
    install(app)
    client = TestClient(app, raise_server_exceptions=False)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def attempt() -> None:
        barrier.wait()
        response = client.post("/api/auth/token", data={"username": email,
                                                        "password": "wrong-guess"})
        with lock:
            statuses[response.status_code] += 1

    try:
        threads = [threading.Thread(target=attempt) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        services.authenticator = saved
    assert statuses == Counter({401: FAILURES_PER_MINUTE, 429: 16 - FAILURES_PER_MINUTE})


# -- logout ends the session ------------------------------------------------------------
@pytest.fixture
def browser(services: Services, team: Team) -> Iterator[TestClient]:
    set_password(services.ql, str(team.rep_a.user_id), PASSWORD)
    previous = runtime._services
    runtime.install(services)
    saved = services.authenticator
    services.authenticator = Authenticator(services.ql)
    app = FastAPI()
    install(app)
    with TestClient(app, follow_redirects=False) as client:
        yield client
    services.authenticator = saved
    runtime._services = previous


def _sign_in(client: TestClient) -> str:
    response = client.post("/auth/login", data={"email": "rep.a@test.local",
                                                "password": PASSWORD, "next": "/"})
    assert response.status_code == 303 and SESSION_COOKIE in response.cookies
    client.cookies.clear()  # each test names the cookie it sends
    return str(response.cookies[SESSION_COOKIE])


def _with(cookie: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={cookie}"}


def test_logout_ends_the_session_for_every_copy_of_the_cookie(browser: TestClient) -> None:
    stolen = _sign_in(browser)
    other_device = _sign_in(browser)
    assert browser.get("/api/me", headers=_with(stolen)).status_code == 200
    assert browser.post("/auth/logout", headers=_with(stolen)).status_code == 303
    replay = browser.get("/api/me", headers=_with(stolen))
    assert replay.status_code == 401
    assert browser.get("/api/me", headers={"Authorization": f"Bearer {stolen}"}
                       ).status_code == 401
    # Only that session ended: the user's other sign-in still works.
    assert browser.get("/api/me", headers=_with(other_device)).status_code == 200


def test_deactivation_ends_every_session(browser: TestClient, services: Services,
                                         team: Team) -> None:
    cookie = _sign_in(browser)
    assert browser.get("/api/me", headers=_with(cookie)).status_code == 200
    services.ql.update(Context.system(), "user", str(team.rep_a.user_id), {"active": False})
    assert browser.get("/api/me", headers=_with(cookie)).status_code == 401


def test_revocations_expire_with_their_token() -> None:
    now = [1000.0]
    store = MemoryRevocations(clock=lambda: now[0])
    store.revoke("a", expires_at=1010.0)
    assert store.is_revoked("a") and not store.is_revoked("b")
    now[0] = 1011.0
    assert not store.is_revoked("a")
