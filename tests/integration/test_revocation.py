"""Ending sessions: logout and "sign out everywhere" hold on every process sharing a
Redis, and still hold locally while Redis is away; the login limiter keeps limiting when
its shared storage is unreachable and counts together across processes when it is not."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from limits import RateLimitItemPerMinute

from app.auth.limiter import ResilientLimiter
from app.auth.revocation import MemoryRevocations
from app.auth.revocation_redis import RedisRevocations
from app.auth.sessions import SESSION_TTL, end_all_sessions, end_session, verify
from app.auth.tokens import InvalidToken, issue_token
from app.config import Settings
from app.core import Services, build_services
from app.objectql import Context
from tests.conftest import METADATA
from tests.integration.test_sessions import PASSWORD, Browser, _login, browser  # noqa: F401

SYSTEM = Context.system()


def _dead_redis() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{probe.getsockname()[1]}/0"


@pytest.fixture
def two_processes(tmp_path: Path, redis_url: str) -> Iterator[tuple[Services, Services, str]]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a, b = (build_services(Settings(database_url=url, metadata_dir=METADATA,
                                    redis_url=redis_url)) for _ in range(2))
    user = a.ql.insert(SYSTEM, "user", {"email": "roamer@example.com", "name": "Ro Amer",
                                        "role": "sales_rep"})
    yield a, b, str(user["id"])
    a.close()
    b.close()


def test_sign_out_everywhere_ends_every_session_and_token(browser: Browser) -> None:  # noqa: F811
    first = _login(browser.client, "rep.a@test.local", PASSWORD).cookies["hotcrm_session"]
    rep = str(browser.team.rep_a.user_id)
    api_token = issue_token(browser.services.secret_key, rep, "sales_rep")
    assert browser.client.get("/api/me").status_code == 200
    # A cross-site form cannot sign anyone out everywhere.
    browser.client.post("/auth/logout-everywhere", headers={"Origin": "https://evil.test"})
    assert verify(browser.services, api_token).user_id == rep
    browser.client.cookies.set("hotcrm_session", first)
    done = browser.client.post("/auth/logout-everywhere",
                               headers={"Origin": "http://testserver"})
    assert done.status_code == 303 and done.headers["location"] == "/login"
    for old in (first, api_token):
        with pytest.raises(InvalidToken):
            verify(browser.services, old)
    other = str(browser.team.admin.user_id)  # someone else is not affected
    assert verify(browser.services, issue_token(browser.services.secret_key, other,
                                                "admin")).user_id == other
    time.sleep(1.1)  # tokens carry whole seconds; a later sign-in works again
    again = _login(browser.client, "rep.a@test.local", PASSWORD)
    assert again.status_code == 303 and browser.client.get("/api/me").status_code == 200


def test_a_logout_on_one_process_ends_the_session_on_the_other(two_processes) -> None:
    a, b, user = two_processes
    token = issue_token(a.secret_key, user, "sales_rep", SESSION_TTL)
    assert verify(b, token).user_id == user
    end_session(a, token)
    with pytest.raises(InvalidToken):
        verify(b, token)


def test_sign_out_everywhere_on_one_process_holds_on_the_other(two_processes) -> None:
    a, b, user = two_processes
    token = issue_token(b.secret_key, user, "sales_rep")
    end_all_sessions(a, user)
    with pytest.raises(InvalidToken):
        verify(b, token)


def test_revocations_hold_locally_while_redis_is_unreachable() -> None:
    store = RedisRevocations(_dead_redis(), "hotcrm:test")
    now = time.time()
    store.revoke("token-1", now + 60)
    assert store.refuses("token-1", "u1", now)
    assert not store.refuses("token-2", "u1", now)
    store.revoke_user("u2", now + 1, now + 60)
    assert store.refuses("token-3", "u2", now)
    assert not store.refuses("token-3", "u2", now + 2)


def test_memory_store_forgets_cutoffs_after_they_expire() -> None:
    clock = [1000.0]
    store = MemoryRevocations(clock=lambda: clock[0])
    store.revoke_user("u", 1000.0, 1100.0)
    assert store.refuses(None, "u", 999.0)
    clock[0] = 1200.0
    assert not store.refuses(None, "u", 999.0)


def test_login_limiter_keeps_limiting_without_redis() -> None:
    limiter, limit = ResilientLimiter(_dead_redis()), RateLimitItemPerMinute(5)
    results = [limiter.hit(limit, "login", "someone@example.com") for _ in range(7)]
    assert results == [True] * 5 + [False] * 2
    assert limiter.get_window_stats(limit, "login", "someone@example.com").remaining == 0


def test_login_limiter_counts_across_processes_on_redis(redis_url: str) -> None:
    key = f"shared-{time.time_ns()}@example.com"
    one, two = ResilientLimiter(redis_url), ResilientLimiter(redis_url)
    limit = RateLimitItemPerMinute(5)
    hits = [(one if i % 2 else two).hit(limit, "login", key) for i in range(7)]
    assert hits == [True] * 5 + [False] * 2
    one.clear(limit, "login", key)
    assert two.hit(limit, "login", key)
