"""`make screenshots`: start a server with demo data in a temp dir, sign in as a sales rep
and save docs/screenshots/*.png at 1280x800. Pages that do not exist yet are skipped."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.devserver import CHROMIUM_ARGS, api_get, chromium_path, running_server, sign_in

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"


@contextmanager
def demo_server(database_url: str | None = None) -> Iterator[str]:
    """A `hotcrm run` subprocess on a free port; demo data in a temp dir unless a
    database URL is given."""
    with tempfile.TemporaryDirectory(prefix="hotcrm-ui-") as tmp, \
            running_server(Path(tmp), database_url=database_url) as (url, _proc):
        yield url


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
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS,
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
