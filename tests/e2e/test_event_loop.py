"""The server stays responsive while heavy requests run: request handlers never run
database work on the event loop, so `/health` (and every other request) is answered
while slow searches and exports are in progress."""

from __future__ import annotations

import secrets
import statistics
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.auth.tokens import issue_token
from app.config import Settings
from app.core import build_services
from app.devserver import ROOT, running_server
from app.objectql import Context
from app.seed import seed_scale

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("event_loop")]
SECRET = secrets.token_urlsafe(48)


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data = tmp_path_factory.mktemp("busy")
    url = f"sqlite:///{data / 'hotcrm.db'}"
    services = build_services(Settings(database_url=url, metadata_dir=ROOT / "metadata"))
    seed_scale(services, "1500", 7)  # 15,000 activities: a text search scans them all
    admin = services.ql.find(Context.system(), "user", fields=["id", "role"],
                             filters=[["role", "=", "admin"]], limit=1).records[0]
    token = issue_token(SECRET, admin["id"], admin["role"], ttl=3600)
    services.close()
    with running_server(data, database_url=url, demo=False,
                        extra_env={"HOTCRM_SECRET_KEY": SECRET}) as (base, _proc):
        yield base, token


def _get(url: str, token: str | None = None) -> float:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}
                                     if token else {})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return time.perf_counter() - started


def test_health_answers_quickly_while_heavy_requests_run(busy_server) -> None:
    base, token = busy_server
    heavy = [f"{base}/api/objects/activity?search=zq&limit=200",
             f"{base}/api/objects/activity?search=ent&limit=200&sort=-subject",
             f"{base}/export/activity.csv"]
    heavy_alone = statistics.median(_get(heavy[0], token) for _ in range(3))
    quiet = [_get(f"{base}/health") for _ in range(10)]
    stop = threading.Event()

    def hammer(url: str) -> int:
        done = 0
        while not stop.is_set():
            _get(url, token)
            done += 1
        return done

    with ThreadPoolExecutor(len(heavy)) as pool:
        running = [pool.submit(hammer, url) for url in heavy]
        time.sleep(0.3)
        busy = []
        for _ in range(30):
            busy.append(_get(f"{base}/health"))
            time.sleep(0.03)
        stop.set()
        completed = sum(f.result() for f in running)
    busy.sort()
    p95 = busy[int(len(busy) * 0.95) - 1]
    assert completed >= len(heavy), "the heavy requests did not run"
    # On the event loop, /health would queue behind whole searches (heavy_alone each).
    assert p95 < max(0.15, heavy_alone / 2), (
        f"/health p95 {p95 * 1000:.0f} ms under load (quiet median "
        f"{statistics.median(quiet) * 1000:.1f} ms; one heavy search "
        f"{heavy_alone * 1000:.0f} ms)")

