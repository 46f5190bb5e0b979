"""`make screenshots`: start a server with demo data in a temp dir, sign in as a sales rep
and save docs/screenshots/*.png at 1280x800. Pages that do not exist yet are skipped."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage", "--no-first-run"]
PASSWORD = "hotcrm-demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chromium() -> str | None:
    configured = os.environ.get("HOTCRM_CHROMIUM")
    if configured and Path(configured).exists():
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None  # Playwright's own browser, if installed


@contextmanager
def demo_server(database_url: str | None = None) -> Iterator[str]:
    """A `hotcrm run` subprocess on a free port; demo data in a temp dir unless a
    database URL is given."""
    with tempfile.TemporaryDirectory(prefix="hotcrm-ui-") as tmp:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env.pop("HOTCRM_REDIS_URL", None)
        env.update(HOTCRM_DATABASE_URL=database_url or f"sqlite:///{tmp}/demo.db",
                   HOTCRM_DATA_DIR=tmp, HOTCRM_HOST="127.0.0.1", HOTCRM_PORT=str(port),
                   HOTCRM_DEMO="1", HOTCRM_METADATA_DIR=str(ROOT / "metadata"),
                   HOTCRM_AI_PROVIDER="offline")
        log_path = Path(tmp) / "server.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "app.cli", "run"], cwd=ROOT,
                                    env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def api_get(base: str, path: str, who: str) -> Any:
    form = urllib.parse.urlencode({"username": f"{who}@hotcrm.local",
                                   "password": PASSWORD}).encode()
    with urllib.request.urlopen(f"{base}/api/auth/token", data=form, timeout=10) as response:
        token = json.load(response)["access_token"]
    request = urllib.request.Request(f"{base}{path}",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def sign_in(page: Any, base: str, who: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", f"{who}@hotcrm.local")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def shoot(page: Any, base: str, path: str, name: str, ready: str | None = None) -> bool:
    response = page.goto(f"{base}{path}")
    if response is None or response.status == 404:
        print(f"  skipped {name}.png: {path} does not exist yet")
        return False
    try:
        page.wait_for_load_state("networkidle", timeout=10_000)
        if ready:
            page.locator(ready).first.wait_for(timeout=10_000)
    except Exception as exc:  # a page that renders but never gets ready: still worth a look
        print(f"  {name}: {ready or 'page'} not ready ({type(exc).__name__})")
    page.wait_for_timeout(400)  # fonts, icons and notifications settle
    page.screenshot(path=str(OUT / f"{name}.png"))
    print(f"  saved docs/screenshots/{name}.png")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--user", default="alice", help="demo user to sign in as")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with demo_server() as base, sync_playwright() as playwright:
        print(f"server with demo data on {base}")
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS,
                                             headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        shoot(page, base, "/login", "login", "input[name=email]")
        sign_in(page, base, args.user)
        shoot(page, base, "/", "home", "[data-object]")
        shoot(page, base, "/o/account", "accounts_list", "tbody tr, [role=row]")
        accounts = api_get(base, "/api/objects/account?limit=1&sort=name", args.user)
        if accounts["records"]:
            shoot(page, base, f"/o/account/{accounts['records'][0]['id']}", "account_record")
        shoot(page, base, "/o/opportunity/kanban", "opportunity_kanban", "[data-card-id]")
        shoot(page, base, "/o/opportunity/new", "opportunity_form", "form, .q-field")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
