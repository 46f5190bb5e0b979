"""Change events cross processes over Redis: a save in one service reaches the listeners
of another on the same database within 2 s, Redis going away never fails a save, and a
relay that lost its connection resumes and tells its listeners to resync."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from app.auth.identity import InactiveUser
from app.config import Settings
from app.core import Services, build_services
from app.events import ChangeEvent
from app.events_redis import channel_for, wait_connected
from app.objectql import Context
from tests.conftest import METADATA

SYSTEM = Context.system()


def _process(database_url: str, redis_url: str | None) -> Services:
    """What one HotCRM process builds at startup."""
    return build_services(Settings(database_url=database_url, metadata_dir=METADATA,
                                   redis_url=redis_url))


@pytest.fixture
def two_processes(tmp_path: Path, redis_url: str) -> Iterator[tuple[Services, Services]]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a, b = _process(url, redis_url), _process(url, redis_url)
    assert a.relay and b.relay
    assert wait_connected(a.relay) and wait_connected(b.relay)
    yield a, b
    a.close()
    b.close()


class Recorder:
    def __init__(self) -> None:
        self.events: list[ChangeEvent] = []
        self.arrived = threading.Condition()

    def __call__(self, event: ChangeEvent) -> None:
        with self.arrived:
            self.events.append(event)
            self.arrived.notify_all()

    def wait_for(self, predicate: Callable[[ChangeEvent], bool],
                 seconds: float = 2.0) -> ChangeEvent | None:
        deadline = time.monotonic() + seconds
        with self.arrived:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.arrived.wait(left)


def test_a_save_in_one_process_reaches_the_other_within_two_seconds(two_processes) -> None:
    a, b = two_processes
    seen_by_a, seen_by_b = Recorder(), Recorder()
    a.ql.events.subscribe(seen_by_a)
    b.ql.events.subscribe(seen_by_b)
    started = time.monotonic()
    account = a.ql.insert(SYSTEM, "account", {"name": "Relay Corp", "phone": "+1 555 0100"})
    event = seen_by_b.wait_for(lambda e: e.record_id == account["id"])
    assert event is not None, "the other process never heard of the new account"
    assert time.monotonic() - started < 2.0
    assert event.remote and event.object == "account" and event.action == "insert"
    assert event.record["name"] == "Relay Corp"
    # The process that saved hears its own change once, locally, not again via Redis.
    time.sleep(0.3)
    own = [e for e in seen_by_a.events if e.record_id == account["id"]]
    assert len(own) == 1 and not own[0].remote


def test_deactivating_a_user_in_one_process_ends_their_access_in_the_other(
        two_processes) -> None:
    a, b = two_processes
    user = a.ql.insert(SYSTEM, "user", {"email": "leaver@example.com", "name": "Lee Leaver",
                                        "role": "sales_rep"})
    assert b.identities.context_for(user["id"]).user_id == user["id"]  # now cached in b
    seen_by_b = Recorder()
    b.ql.events.subscribe(seen_by_b)
    a.ql.update(SYSTEM, "user", user["id"], {"active": False})
    assert seen_by_b.wait_for(lambda e: e.object == "user") is not None
    with pytest.raises(InactiveUser):
        b.identities.context_for(user["id"])


def test_another_database_on_the_same_redis_hears_nothing(tmp_path: Path,
                                                          redis_url: str) -> None:
    one = _process(f"sqlite:///{tmp_path / 'one.db'}", redis_url)
    other = _process(f"sqlite:///{tmp_path / 'other.db'}", redis_url)
    try:
        assert channel_for(f"sqlite:///{tmp_path / 'one.db'}") != channel_for(
            f"sqlite:///{tmp_path / 'other.db'}")
        assert one.relay and other.relay and wait_connected(other.relay)
        heard = Recorder()
        other.ql.events.subscribe(heard)
        one.ql.insert(SYSTEM, "account", {"name": "Private Co", "phone": "+1 555 0101"})
        assert heard.wait_for(lambda e: not e.is_resync, seconds=0.5) is None
    finally:
        one.close()
        other.close()


def test_saves_succeed_while_redis_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    services = _process(f"sqlite:///{tmp_path / 'alone.db'}", dead)
    try:
        heard = Recorder()
        services.ql.events.subscribe(heard)
        account = services.ql.insert(SYSTEM, "account", {"name": "Offline Ltd",
                                                         "phone": "+1 555 0102"})
        assert services.ql.get(SYSTEM, "account", account["id"])["name"] == "Offline Ltd"
        assert heard.wait_for(lambda e: e.record_id == account["id"], 0.1) is not None
    finally:
        services.close()


def _cut_listeners(redis_url: str, *processes: Any) -> None:
    """Close these processes' pub/sub connections from the server side, as a restart of
    Redis would — only theirs: another test on the shared Redis keeps its own."""
    server = redis.Redis.from_url(redis_url)
    names = {p.relay.listener_name for p in processes}
    for client in server.client_list(_type="pubsub"):
        if client.get("name") in names:
            server.client_kill_filter(_id=client["id"])


def test_a_relay_that_lost_redis_resyncs_and_resumes(two_processes, redis_url: str) -> None:
    a, b = two_processes
    assert b.relay is not None
    seen_by_b = Recorder()
    b.ql.events.subscribe(seen_by_b)
    _cut_listeners(redis_url, a, b)  # as a Redis restart would
    assert seen_by_b.wait_for(lambda e: e.is_resync, seconds=5) is not None, \
        "listeners were not told to resync after the reconnect"
    assert wait_connected(b.relay)
    account = a.ql.insert(SYSTEM, "account", {"name": "After Restart", "phone": "+1 555 0103"})
    assert seen_by_b.wait_for(lambda e: e.record_id == account["id"]) is not None


def test_a_bulk_load_is_one_change_event_for_every_process(two_processes) -> None:
    a, b = two_processes
    seen_by_b = Recorder()
    b.ql.events.subscribe(seen_by_b)
    a.ql.bulk_insert(SYSTEM, "account", [{"name": f"Bulk {i}", "phone": "+1 555 0104"}
                                         for i in range(5)])
    event = seen_by_b.wait_for(lambda e: e.action == "bulk_insert")
    assert event is not None and event.object == "account" and event.remote


def test_dashboards_refresh_everything_after_a_resync(two_processes, redis_url: str) -> None:
    from app.dashboards.service import Dashboards

    a, b = two_processes
    dashboards = Dashboards(b.ql)
    refreshed: list[str] = []
    dashboards.subscribe(refreshed.append)
    before = dashboards.cache.generations(["opportunity"])["opportunity"]
    _cut_listeners(redis_url, a, b)
    deadline = time.monotonic() + 5
    while "opportunity" not in refreshed and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "opportunity" in refreshed, "open dashboards were not refreshed after a resync"
    assert dashboards.cache.generations(["opportunity"])["opportunity"] > before
    dashboards.close()
