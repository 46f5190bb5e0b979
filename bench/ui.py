"""Browser timings of the UI on a real server, and server memory per idle tab.

Usage: python bench/ui.py [--database-url sqlite:///data/large.db] [--runs 5] [--tabs 50]
                          [--user admin]

Starts `hotcrm run` on the database (never modifies its data; when the default large
database is missing it seeds a temporary one with `hotcrm seed --scale 10000`), then in
headless Chromium measures, p50 over `--runs`:
  - list usable: navigation to /o/opportunity until table rows are visible
  - page change: "next page" click until the next page's rows are shown
  - record open: navigation to /o/opportunity/<id> until the record title is visible
  - kanban open: navigation to /o/opportunity/kanban until cards are visible
and the server's resident memory (VmRSS from /proc) before and after opening `--tabs`
idle tabs on the list page. Targets: list usable ≤ 500 ms, ≤ 2 MB per idle tab.

"Shown" is checked in the page on every frame (`shown()`), not with a locator's
`wait_for`: Playwright polls those from its own process 0, 20, 70, 170, 270, 770, 1270 …
ms after the call, so a page shown 280 ms after the navigation committed was measured
at ~770 ms (`--playwright-waits` measures the old way, for comparison with earlier runs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.devserver import CHROMIUM_ARGS, api_get, chromium_path, running_server, sign_in

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = "sqlite:///data/large.db"
LIST_USABLE_MS = 500.0
MB_PER_TAB = 2.0


def sqlite_file(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_absolute() else ROOT / path


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@contextmanager
def server(database_url: str, data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with running_server(data_dir, database_url=database_url, demo=False,
                        timeout=300) as running:
        yield running


def seeded_temp_db(tmp: Path) -> str:
    url = f"sqlite:///{tmp / 'ui-bench.db'}"
    env = {**os.environ, "HOTCRM_DATABASE_URL": url, "HOTCRM_DATA_DIR": str(tmp)}
    print(f"seeding a temporary database ({url}) with --scale 10000 ...", flush=True)
    subprocess.run([sys.executable, "-m", "app.cli", "seed", "--scale", "10000"], cwd=ROOT,
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return url


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


ROWS = '[data-testid="list-table"] tbody tr'
PLAYWRIGHT_WAITS = False  # --playwright-waits: locator.wait_for, as before 2026-12-07 20:00

# In the page, each frame: the first element matching the selector has a box.
SHOWN_JS = """(selector) => { const e = document.querySelector(selector);
  return !!e && e.getBoundingClientRect().height > 0
    && getComputedStyle(e).visibility !== 'hidden'; }"""


def shown(page: Any, selector: str, timeout: float = 30_000) -> None:
    """Wait until `selector` is visible, checked on every animation frame in the page."""
    if PLAYWRIGHT_WAITS:
        page.locator(selector).first.wait_for(timeout=timeout)
    else:
        page.wait_for_function(SHOWN_JS, arg=selector, polling="raf", timeout=timeout)


def measure_baseline(browser: Any, base: str, runs: int) -> list[float]:
    """The framework's floor: the login page (signed out, no data work at all)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()

    def go() -> None:
        page.goto(f"{base}/login", wait_until="commit")
        shown(page, "input[name=email]")

    go()
    samples = [timed(go) for _ in range(runs)]
    context.close()
    return samples


def measure_list(page: Any, base: str, runs: int) -> list[float]:
    def go() -> None:
        page.goto(f"{base}/o/opportunity", wait_until="commit")
        shown(page, ROWS)

    go()  # warm-up: first compile of queries, static files in the browser cache
    return [timed(go) for _ in range(runs)]


def measure_page_change(page: Any, base: str, runs: int) -> list[float]:
    page.goto(f"{base}/o/opportunity")
    page.locator(ROWS).first.wait_for(timeout=30_000)
    samples = []
    for _ in range(runs + 1):
        before = page.get_by_test_id("list-range").inner_text()

        def click(before: str = before) -> None:
            page.get_by_test_id("page-next").click()
            page.wait_for_function(
                "(b) => { const e = document.querySelector('[data-testid=\"list-range\"]');"
                " return e && e.innerText !== b; }", arg=before, timeout=30_000)
            shown(page, ROWS)

        samples.append(timed(click))
    return samples[1:]  # first click warms up


def measure_record(page: Any, base: str, ids: list[str], runs: int) -> list[float]:
    def go(record_id: str) -> None:
        page.goto(f"{base}/o/opportunity/{record_id}", wait_until="commit")
        shown(page, '[data-testid="record-title"]')

    go(ids[0])
    return [timed(lambda i=i: go(ids[(i + 1) % len(ids)])) for i in range(runs)]


def measure_kanban(page: Any, base: str, runs: int) -> list[float]:
    def go() -> None:
        page.goto(f"{base}/o/opportunity/kanban", wait_until="commit")
        shown(page, "[data-card-id]", timeout=60_000)

    go()
    return [timed(go) for _ in range(runs)]


def measure_tabs(context: Any, base: str, pid: int, tabs: int) -> tuple[float, float]:
    time.sleep(2)
    before = rss_mb(pid)
    pages = []
    for _ in range(tabs):
        tab = context.new_page()
        tab.goto(f"{base}/o/opportunity")
        tab.locator(ROWS).first.wait_for(timeout=60_000)
        pages.append(tab)
    time.sleep(5)  # idle: nothing but the websocket keep-alives
    after = rss_mb(pid)
    for tab in pages:
        tab.close()
    return before, after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tabs", type=int, default=50)
    parser.add_argument("--user", default="admin", help="demo user (admin sees every row)")
    parser.add_argument("--playwright-waits", action="store_true",
                        help="wait with locator.wait_for (polled 0/20/70/170/270/770 ms …)")
    args = parser.parse_args()
    global PLAYWRIGHT_WAITS
    PLAYWRIGHT_WAITS = args.playwright_waits
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="hotcrm-uibench-") as tmp_name:
        tmp = Path(tmp_name)
        url = args.database_url
        file = sqlite_file(url)
        if file is not None and not file.exists():
            if url != DEFAULT_DB:
                raise SystemExit(f"no database at {file}")
            print(f"{file} is not there (yet): using a temporary 10,000-row database")
            url = seeded_temp_db(tmp)
        with server(url, tmp) as (base, proc), sync_playwright() as playwright:
            opps = api_get(base, "/api/objects/opportunity?limit=5&fields=name", args.user)
            ids = [r["id"] for r in opps["records"]]
            browser = playwright.chromium.launch(executable_path=chromium_path(),
                                                 args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            sign_in(page, base, args.user)
            # Memory first, on a fresh process: later runs leave freed memory behind that
            # new tabs would reuse, hiding their cost.
            page.goto(f"{base}/o/opportunity")
            page.locator(ROWS).first.wait_for(timeout=60_000)
            before, after = measure_tabs(context, base, proc.pid, args.tabs)
            per_tab = (after - before) / args.tabs
            print(f"database {url}, signed in as {args.user}")
            print(f"  server RSS {before:.0f} MB → {after:.0f} MB with {args.tabs} idle tabs "
                  f"on the list page: {per_tab:.2f} MB per tab  (target ≤ {MB_PER_TAB:.0f} MB: "
                  + ("ok)" if per_tab <= MB_PER_TAB else "MISSED)"))
            print(f"  p50 of {args.runs} runs:")
            results = [
                ("baseline", measure_baseline(browser, base, args.runs), None),
                ("list usable", measure_list(page, base, args.runs), LIST_USABLE_MS),
                ("page change", measure_page_change(page, base, args.runs), None),
                ("record open", measure_record(page, base, ids, args.runs), None),
                ("kanban open", measure_kanban(page, base, args.runs), None),
            ]
            floor = p50(results[0][1])
            for name, samples, target in results:
                verdict = f"  {p50(samples) / floor:4.1f}x baseline" if name != "baseline" \
                    else "  (/login: page load floor, no data)"
                if target is not None:
                    verdict += f"  (target ≤ {target:.0f} ms: " + \
                        ("ok)" if p50(samples) <= target else "MISSED)")
                print(f"  {name:<12} p50 {p50(samples):7.0f} ms   "
                      f"(min {min(samples):.0f}, max {max(samples):.0f}){verdict}")
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
