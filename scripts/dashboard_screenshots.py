"""Screenshots of the dashboards: the manager's sales dashboard (light, dark, phone) and a
rep's "My day", saved to docs/screenshots/dashboard-*.png."""

from __future__ import annotations

import tempfile
from pathlib import Path

from app.devserver import CHROMIUM_ARGS, chromium_path, running_server, sign_in

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
READY = '[data-widget] >> nth=0'


def settle(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector('[data-widget][data-state="ready"]', timeout=30_000)
    page.wait_for_function("!document.querySelector('[data-widget][data-state=loading]')",
                           timeout=30_000)
    page.wait_for_timeout(800)


def main() -> int:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hotcrm-dash-") as tmp, \
            running_server(Path(tmp)) as (base, _proc), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS,
                                     headless=True)
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        sign_in(page, base, "manager", "/dashboard/sales")
        settle(page)
        page.screenshot(path=str(OUT / "dashboard-light.png"), full_page=True)
        page.click('[data-testid="user-menu"]')
        page.get_by_text("Dark mode").click()
        page.wait_for_timeout(600)
        page.screenshot(path=str(OUT / "dashboard-dark.png"), full_page=True)
        page.click('[data-testid="user-menu"]')
        page.get_by_text("Dark mode").click()
        phone = browser.new_context(viewport={"width": 390, "height": 844},
                                    device_scale_factor=2)
        mobile = phone.new_page()
        sign_in(mobile, base, "manager", "/dashboard/sales")
        settle(mobile)
        mobile.screenshot(path=str(OUT / "dashboard-phone.png"), full_page=True)
        rep = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        sign_in(rep, base, "alice", "/")
        settle(rep)
        rep.screenshot(path=str(OUT / "home-my-day.png"), full_page=True)
        browser.close()
    print("saved docs/screenshots/dashboard-{light,dark,phone}.png, home-my-day.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
