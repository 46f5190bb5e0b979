"""Two HotCRM processes on one PostgreSQL database and one Redis, behind HAProxy.

What an operator running replicas relies on: a browser sticks to one replica, a change
made through one replica reaches the other's caches at once (a deactivated user is locked
out everywhere within 2 s, not after a cache lifetime), Redis going away never stops
service and live invalidation resumes when it is back, and killing a replica moves its
users to the other without losing an acknowledged write.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.devserver import (
    DEMO_PASSWORD,
    ROOT,
    api,
    free_port,
    running_server,
    sign_in,
    token_for,
)
from tests.conftest import _missing

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("scaleout")]
# Waits for live updates are longer than the 2 s the issue asks for, so a miss is
# reported with the time it did take (the assertion holds the 2 s).
LIVE_WAIT_MS = 10_000


@dataclass
class Cluster:
    proxy: str
    a: str
    b: str
    database_url: str
    redis_port: int
    redis_dir: Path
    processes: dict[str, subprocess.Popen[bytes]]
    redis: subprocess.Popen[bytes] | None = None

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.redis_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: _redis_ping(self.redis_port), 10, "redis-server did not start")

    def stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(10)
            self.redis = None


def _redis_ping(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _wait(check, seconds: float, message: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.1)


HAPROXY_CFG = """
global
    maxconn 1000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h
    option redispatch
    retries 2
frontend web
    bind 127.0.0.1:{port}
    default_backend hotcrm
backend hotcrm
    balance roundrobin
    cookie HOTCRM_NODE insert indirect nocache httponly
    option httpchk GET /health
    http-check expect status 200
    default-server inter 300ms fall 2 rise 1
    server a 127.0.0.1:{port_a} check cookie a
    server b 127.0.0.1:{port_b} check cookie b
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    admin_url = os.environ.get("HOTCRM_TEST_DATABASE_URL")
    if not admin_url:
        _missing("PostgreSQL (HOTCRM_TEST_DATABASE_URL)")
    for binary in ("haproxy", "redis-server"):
        if shutil.which(binary) is None:
            _missing(f"{binary} (Debian package)")
    name = f"hotcrm_scale_{uuid.uuid4().hex[:10]}"
    admin = create_engine(str(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = make_url(str(admin_url)).set(database=name).render_as_string(
        hide_password=False)
    root = tmp_path_factory.mktemp("scaleout")
    redis_port = free_port()
    cluster = Cluster("", "", "", database_url, redis_port, root, {})
    shared = {"HOTCRM_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
              "HOTCRM_SECRET_KEY": secrets.token_urlsafe(48)}
    try:
        with ExitStack() as stack:
            cluster.start_redis()
            stack.callback(cluster.stop_redis)
            # A seeds the demo org; B starts on the filled database and seeds nothing.
            for replica in ("a", "b"):
                data = root / replica
                data.mkdir()
                url, proc = stack.enter_context(running_server(
                    data, database_url=database_url, timeout=180,
                    extra_env={**shared, "HOTCRM_INSTANCE": replica}))
                setattr(cluster, replica, url)
                cluster.processes[replica] = proc
            port = free_port()
            config = root / "haproxy.cfg"
            config.write_text(HAPROXY_CFG.format(
                port=port, port_a=urllib.parse.urlsplit(cluster.a).port,
                port_b=urllib.parse.urlsplit(cluster.b).port))
            proxy = subprocess.Popen(["haproxy", "-db", "-f", str(config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stack.callback(proxy.wait, 10)
            stack.callback(proxy.terminate)
            cluster.proxy = f"http://127.0.0.1:{port}"
            _wait(lambda: _health(cluster.proxy) is not None, 15, "HAProxy did not start")
            yield cluster
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _health(base: str, opener: urllib.request.OpenerDirector | None = None) -> dict | None:
    try:
        with (opener or urllib.request.build_opener()).open(f"{base}/health",
                                                             timeout=3) as response:
            return dict(json.load(response))
    except (OSError, ValueError):
        return None


def _browser_like() -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar


def _create_user(cluster: Cluster, email: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(HOTCRM_DATABASE_URL=cluster.database_url,
               HOTCRM_METADATA_DIR=str(ROOT / "metadata"))
    env.pop("HOTCRM_REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "app.cli", "create-user", "--email", email,
                           "--name", "Temp Rep", "--role", "sales_rep", "--password",
                           DEMO_PASSWORD], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr


def _token(base: str, email: str) -> str:
    form = urllib.parse.urlencode({"username": email, "password": DEMO_PASSWORD}).encode()
    with urllib.request.urlopen(f"{base}/api/auth/token", data=form, timeout=10) as response:
        return str(json.load(response)["access_token"])


def _status(base: str, path: str, token: str | None = None,
            headers: dict[str, str] | None = None) -> int:
    """The HTTP status of a GET, with a bearer token and/or other headers (a cookie)."""
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{base}{path}", headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _deactivation_reaches_the_other_replica(cluster: Cluster) -> float:
    """Deactivate a fresh user through A; return how long B kept accepting their token."""
    email = f"temp.{uuid.uuid4().hex[:8]}@hotcrm.local"
    _create_user(cluster, email)
    token = _token(cluster.b, email)
    assert _status(cluster.b, "/api/me", token) == 200  # B now holds the identity in cache
    admin = token_for(cluster.a, "admin")
    user = api(cluster.a, "/api/objects/user?" + urllib.parse.urlencode(
        {"filters": json.dumps([["email", "=", email]])}), admin)["records"][0]
    api(cluster.a, f"/api/objects/user/{user['id']}", admin, method="PATCH",
        body={"active": False})
    started = time.monotonic()
    _wait(lambda: _status(cluster.b, "/api/me", token) == 401, 5,
          "B kept accepting a deactivated user's token")
    return time.monotonic() - started


def test_a_browser_sticks_to_one_replica_and_new_browsers_spread(cluster: Cluster) -> None:
    instances = {(_health(cluster.proxy) or {}).get("instance") for _ in range(6)}
    assert instances == {"a", "b"}, "round robin should reach both replicas"
    opener, jar = _browser_like()
    form = urllib.parse.urlencode({"email": "alice@hotcrm.local", "password": DEMO_PASSWORD,
                                   "next": "/"}).encode()
    opener.open(urllib.request.Request(f"{cluster.proxy}/auth/login", data=form,
                                       headers={"Origin": cluster.proxy}), timeout=30)
    assert any(c.name == "HOTCRM_NODE" for c in jar), "the proxy set no sticky cookie"
    seen = {(_health(cluster.proxy, opener) or {}).get("instance") for _ in range(6)}
    assert len(seen) == 1


def test_a_user_deactivated_on_one_replica_is_locked_out_on_the_other(
        cluster: Cluster) -> None:
    assert _deactivation_reaches_the_other_replica(cluster) < 2.0


def test_a_logout_on_one_replica_ends_the_session_on_the_other(cluster: Cluster) -> None:
    opener, jar = _browser_like()
    form = urllib.parse.urlencode({"email": "bob@hotcrm.local", "password": DEMO_PASSWORD,
                                   "next": "/"}).encode()
    opener.open(urllib.request.Request(f"{cluster.a}/auth/login", data=form,
                                       headers={"Origin": cluster.a}), timeout=30)
    cookie = next(c.value for c in jar if c.name == "hotcrm_session")

    def me_on_b() -> int:
        return _status(cluster.b, "/api/me", headers={"Cookie": f"hotcrm_session={cookie}"})

    assert me_on_b() == 200  # the same secret signs sessions on every replica
    opener.open(urllib.request.Request(f"{cluster.a}/auth/logout", data=b"",
                                       headers={"Origin": cluster.a}), timeout=30)
    assert me_on_b() == 401, "a copy of the cookie still works on the other replica"


def test_a_board_open_on_one_replica_follows_a_save_on_the_other(cluster: Cluster,
                                                                 browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    sign_in(page, cluster.b, "alice", "/o/opportunity/kanban")
    card = page.locator('[data-testid="kanban-column-prospecting"] [data-card-id]').first
    card.wait_for()
    card_id = card.get_attribute("data-card-id")
    token = _token(cluster.a, "alice@hotcrm.local")
    started = time.monotonic()
    api(cluster.a, f"/api/objects/opportunity/{card_id}", token, method="PATCH",
        body={"stage": "qualification"})
    page.locator(f'[data-testid="kanban-column-qualification"] '
                 f'[data-card-id="{card_id}"]').wait_for(timeout=2_000)
    assert time.monotonic() - started < 2.0
    context.close()


def _first_record(base: str, token: str, object_name: str, **params: str) -> dict[str, Any]:
    query = urllib.parse.urlencode({"limit": "1", **params})
    return dict(api(base, f"/api/objects/{object_name}?{query}", token)["records"][0])


def test_a_record_page_open_on_one_replica_follows_a_save_on_the_other(
        cluster: Cluster, browser: Any) -> None:
    token = _token(cluster.a, "alice@hotcrm.local")
    account = _first_record(cluster.a, token, "account", sort="name",
                           filters=json.dumps([["owner", "=", "$user"]]))
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    sign_in(page, cluster.b, "alice", f"/o/account/{account['id']}")
    website = page.locator('[data-testid="field-website"]')
    website.wait_for()
    new_site = f"https://{uuid.uuid4().hex[:8]}.example.com"
    started = time.monotonic()
    api(cluster.a, f"/api/objects/account/{account['id']}", token, method="PATCH",
        body={"website": new_site})
    page.locator(f'[data-testid="field-website"]:has-text("{new_site}")').wait_for(
        timeout=LIVE_WAIT_MS)
    print(f"record page followed in {time.monotonic() - started:.2f} s")
    assert time.monotonic() - started < 2.0
    context.close()


def test_a_record_being_edited_on_one_replica_warns_without_losing_typing(
        cluster: Cluster, browser: Any) -> None:
    token = _token(cluster.a, "alice@hotcrm.local")
    account = _first_record(cluster.a, token, "account", sort="-name",
                           filters=json.dumps([["owner", "=", "$user"]]))
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    sign_in(page, cluster.b, "alice", f"/o/account/{account['id']}?edit=1")
    phone = page.get_by_label("Phone", exact=True)
    phone.fill("+1 555 0142")  # typed on B, not saved
    admin = _token(cluster.a, "admin@hotcrm.local")
    api(cluster.a, f"/api/objects/account/{account['id']}", admin, method="PATCH",
        body={"website": "https://changed-on-a.example.com"})
    banner = page.locator('[data-testid="conflict-banner"]')
    banner.wait_for(timeout=2_000)
    assert "Dana Whitfield" in banner.inner_text(), "the banner should say who saved"
    assert phone.input_value() == "+1 555 0142", "the user's typing was lost"
    page.locator('[data-testid="conflict-reload"]').click()
    page.locator('[data-testid="conflict-banner"]').wait_for(state="hidden")
    assert phone.input_value() == "+1 555 0142"
    page.locator('[data-testid="record-save"]').click()
    page.locator('[data-testid="field-phone"]:has-text("555 0142")').wait_for()
    saved = api(cluster.a, f"/api/objects/account/{account['id']}", token)
    assert saved["phone"] == "+1 555 0142"
    assert saved["website"] == "https://changed-on-a.example.com"
    context.close()


def test_the_notification_count_follows_a_change_on_the_other_replica(
        cluster: Cluster, browser: Any) -> None:
    token = _token(cluster.a, "manager@hotcrm.local")
    unread = api(cluster.a, "/api/objects/notification?" + urllib.parse.urlencode(
        {"filters": json.dumps([["user", "=", "$user"], ["read", "=", False]]),
         "limit": "200"}), token)["records"]
    if not unread:  # the demo has notes for the manager; make sure there is one
        me = api(cluster.a, "/api/me", token)
        unread = [api(cluster.a, "/api/objects/notification", token, method="POST",
                      body={"user": me["id"], "title": "Check the pipeline"})]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    # A list page: the home page reloads itself now and then (a failed implicit
    # websocket handshake, also on main), which would hide whether the bell is live.
    sign_in(page, cluster.b, "manager", "/o/account")
    badge = page.locator('[data-testid="notifications-unread"]')
    badge.wait_for()
    assert badge.inner_text().strip() == str(min(len(unread), 99))
    started = time.monotonic()
    api(cluster.a, f"/api/objects/notification/{unread[0]['id']}", token, method="PATCH",
        body={"read": True})
    expected = len(unread) - 1
    if expected:
        page.locator(f'[data-testid="notifications-unread"]:text-is("{expected}")').wait_for(
            timeout=LIVE_WAIT_MS)
    else:
        badge.wait_for(state="hidden", timeout=LIVE_WAIT_MS)
    print(f"bell followed in {time.monotonic() - started:.2f} s")
    assert time.monotonic() - started < 2.0
    context.close()


def test_both_replicas_serve_while_redis_is_down_and_resync_when_it_is_back(
        cluster: Cluster) -> None:
    cluster.stop_redis()
    try:
        for base in (cluster.a, cluster.b, cluster.proxy):
            health = _health(base)
            assert health is not None and health["database"] == "ok"
        token = _token(cluster.proxy, "alice@hotcrm.local")
        created = api(cluster.a, "/api/objects/account", token, method="POST",
                      body={"name": "Written Without Redis", "phone": "+1 555 0199"})
        assert api(cluster.b, f"/api/objects/account/{created['id']}", token)["name"] == \
            "Written Without Redis"
    finally:
        cluster.start_redis()
    # The relays reconnect by themselves; cross-replica invalidation works again.
    assert _deactivation_reaches_the_other_replica(cluster) < 2.0


def test_killing_a_replica_moves_its_users_without_losing_writes(cluster: Cluster) -> None:
    opener, _jar = _browser_like()
    token = _token(cluster.proxy, "bob@hotcrm.local")
    home = (_health(cluster.proxy, opener) or {})["instance"]
    written = []
    for i in range(10):
        request = urllib.request.Request(
            f"{cluster.proxy}/api/objects/account", method="POST",
            data=json.dumps({"name": f"Durable {i} {uuid.uuid4().hex[:6]}",
                             "phone": "+1 555 0110"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with opener.open(request, timeout=10) as response:
            assert response.status == 201
            written.append(json.load(response)["id"])
    victim = cluster.processes[home]
    victim.kill()
    victim.wait(10)
    survivor = "b" if home == "a" else "a"
    _wait(lambda: (_health(cluster.proxy, opener) or {}).get("instance") == survivor, 10,
          "the proxy kept sending the browser to the dead replica")
    for record_id in written:
        request = urllib.request.Request(f"{cluster.proxy}/api/objects/account/{record_id}",
                                         headers={"Authorization": f"Bearer {token}"})
        with opener.open(request, timeout=10) as response:
            assert response.status == 200
