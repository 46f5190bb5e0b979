"""A real `hotcrm run` subprocess for end-to-end tests, screenshots and benchmarks.

Shared by tests/e2e, scripts/screenshots.py and bench/ui.py so they start, wait for and
stop the server the same way (own SQLite file, free port, no PYTEST_* variables).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEMO_PASSWORD = "hotcrm-demo"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", "--disable-extensions"]


class ServerDidNotStart(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chromium_path() -> str | None:
    """A system Chromium (or HOTCRM_CHROMIUM); None lets Playwright use its own."""
    configured = os.environ.get("HOTCRM_CHROMIUM")
    if configured and Path(configured).exists():
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


@contextmanager
def running_server(data_dir: Path, *, database_url: str | None = None, demo: bool = True,
                   timeout: float = 180, extra_env: dict[str, str] | None = None,
                   port: int | None = None
                   ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start the server, wait for /health, yield (url, process), stop it afterwards.

    `extra_env` adds settings (e.g. HOTCRM_REDIS_URL, a shared HOTCRM_SECRET_KEY for
    several processes behind one proxy)."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("HOTCRM_REDIS_URL", None)
    env.update(HOTCRM_DATABASE_URL=database_url or f"sqlite:///{data_dir / 'hotcrm.db'}",
               HOTCRM_DATA_DIR=str(data_dir), HOTCRM_HOST="127.0.0.1", HOTCRM_PORT=str(port),
               HOTCRM_DEMO="1" if demo else "0", HOTCRM_METADATA_DIR=str(ROOT / "metadata"),
               HOTCRM_AI_PROVIDER="offline",
               # A whole test session signs in from 127.0.0.1, far past an office's 30/min.
               HOTCRM_LOGIN_ATTEMPTS_PER_ADDRESS="100000")
    env.update(extra_env or {})
    log_path = data_dir / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "run"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ServerDidNotStart(f"server did not start:\n"
                                        f"{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def api_get(base: str, path: str, who: str, timeout: float = 30) -> Any:
    """GET an API path as a demo user (`who` is the part before @hotcrm.local)."""
    form = urllib.parse.urlencode({"username": f"{who}@hotcrm.local",
                                   "password": DEMO_PASSWORD}).encode()
    with urllib.request.urlopen(f"{base}/api/auth/token", data=form,
                                timeout=timeout) as response:
        token = json.load(response)["access_token"]
    request = urllib.request.Request(f"{base}{path}",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def sign_in(page: Any, base: str, who: str, target: str = "/",
            timeout: float = 60_000) -> None:
    """Sign a Playwright page in through the real login form, landing on `target`."""
    page.goto(f"{base}/login?next={urllib.parse.quote(target, safe='')}")
    page.fill("input[name=email]", f"{who}@hotcrm.local")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(base + target.split("?")[0]) + r"(\?.*)?$"),
                      timeout=timeout)


def token_for(base: str, who: str, timeout: float = 10) -> str:
    """A bearer token for a demo user (`who` is the part before @hotcrm.local)."""
    form = urllib.parse.urlencode({"username": f"{who}@hotcrm.local",
                                   "password": DEMO_PASSWORD}).encode()
    with urllib.request.urlopen(f"{base}/api/auth/token", data=form,
                                timeout=timeout) as response:
        return str(json.load(response)["access_token"])


def api(base: str, path: str, token: str | None = None, *, method: str = "GET",
        body: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
        timeout: float = 10) -> Any:
    """Call the REST API and decode its JSON answer (HTTP errors raise)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response) if response.status != 204 else None


def find(base: str, token: str, obj: str, filters: list[Any] | None = None,
         **params: str) -> dict[str, Any]:
    """`GET /api/objects/{obj}` with JSON filters and other query parameters."""
    query = dict(params)
    if filters is not None:
        query["filters"] = json.dumps(filters)
    return dict(api(base, f"/api/objects/{obj}?{urllib.parse.urlencode(query)}", token))
