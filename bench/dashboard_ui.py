"""The sales dashboard in a real browser: time from navigation to the first widget drawn
and to every widget drawn, cold (cache emptied by a change) and warm.

Usage: python bench/dashboard_ui.py [--database-url URL] [--runs N]
Without a URL the server seeds the demo data into a temp dir. Baseline in the same run:
the bare page without widgets (`/o/account` list page load) on the same server.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from app.devserver import CHROMIUM_ARGS, api, chromium_path, running_server, sign_in, token_for

FIRST = "document.querySelector('[data-widget][data-state=ready]')"
ALL = ("document.querySelectorAll('[data-widget]').length > 0 && "
       "!document.querySelector('[data-widget][data-state=loading]')")


# Where the time goes, from the browser's own navigation timing (ms after navigation).
PHASES = ("(() => { const n = performance.getEntriesByType('navigation')[0]; "
          "return [n.responseStart, n.responseEnd, n.domContentLoadedEventEnd]; })()")


def load(page: Any, url: str) -> tuple[float, ...]:
    """(first widget, all widgets, first byte, HTML done, DOM ready) in ms."""
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function(FIRST, timeout=60_000, polling=20)
    first = time.perf_counter() - start
    page.wait_for_function(ALL, timeout=60_000, polling=20)
    done = time.perf_counter() - start
    return (first * 1000, done * 1000, *page.evaluate(PHASES))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="hotcrm-dash-ui-") as tmp, \
            running_server(Path(tmp), database_url=args.database_url, timeout=600) as (
                base, _proc), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS,
                                     headless=True)
        page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        sign_in(page, base, "manager", "/dashboard/sales")
        page.wait_for_function(ALL, timeout=120_000)
        token = token_for(base, "manager")
        deal = api(base, "/api/objects/opportunity?limit=1&fields=id,next_step", token)[
            "records"][0]
        cold, warm, bare = [], [], []
        for i in range(args.runs):
            # any saved opportunity invalidates every widget reading opportunities
            api(base, f"/api/objects/opportunity/{deal['id']}", token, method="PATCH",
                body={"next_step": f"bench {i}"})
            cold.append(load(page, f"{base}/dashboard/sales"))
            warm.append(load(page, f"{base}/dashboard/sales"))
            start = time.perf_counter()
            page.goto(f"{base}/o/account", wait_until="commit")
            page.wait_for_selector("[data-testid=list-count]:has-text('account')",
                                   timeout=60_000)
            bare.append((time.perf_counter() - start) * 1000)
        browser.close()

    def med(values: list[tuple[float, ...]], i: int) -> float:
        return statistics.median(v[i] for v in values)

    base_ms = statistics.median(bare)
    print(f"baseline: account list page usable {base_ms:7.0f} ms (median of {args.runs})")
    for name, values in (("cold", cold), ("warm", warm)):
        print(f"{name}: first widget {med(values, 0):7.0f} ms ({med(values, 0) / base_ms:4.2f}x)"
              f" | all widgets {med(values, 1):7.0f} ms ({med(values, 1) / base_ms:4.2f}x)"
              f" | first byte {med(values, 2):5.0f} ms, HTML {med(values, 3):5.0f} ms, "
              f"DOM ready {med(values, 4):5.0f} ms")


if __name__ == "__main__":
    main()
