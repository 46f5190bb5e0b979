"""Interleaved A/B of two checkouts in one browser: which is faster, on a busy machine.

Usage: python bench/ui_ab.py A_TREE A_DATABASE_URL B_TREE B_DATABASE_URL [--runs 12]
                             [--user alice]

e.g. `git archive main | tar -x -C /tmp/before` and
`python bench/ui_ab.py /tmp/before sqlite:////tmp/a.db . sqlite:////tmp/b.db` (copies of
one database: signing in writes audit rows). Starts `hotcrm run` from each tree at once,
signs in on each, then alternates (ABBA…) board loads, list loads and page changes, so
both see the same minutes of load. Per case the median of:
  - wall: from the click/navigation until shown (checked in the page every frame),
  - in page: from the navigation start until shown, by the page's own clock.
`bench/ui.py` gives one tree's absolute figures; this gives their difference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from app.devserver import CHROMIUM_ARGS, chromium_path, free_port, sign_in

ROWS = '[data-testid="list-table"] tbody tr'
CARDS = "[data-card-id]"
SHOWN_JS = """(selector) => { const e = document.querySelector(selector);
  return !!e && e.getBoundingClientRect().height > 0
    && getComputedStyle(e).visibility !== 'hidden'; }"""
# The page's own clock: when the first card or row got a box (checked every frame).
PROBE_JS = """(() => { const seen = () => {
  const e = document.querySelector('[data-card-id], [data-testid="list-table"] tbody tr');
  if (e && e.getBoundingClientRect().height > 0) window.__shown = performance.now();
  else requestAnimationFrame(seen); };
  requestAnimationFrame(seen); })();"""


@contextmanager
def server(tree: Path, database_url: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="hotcrm-ab-") as tmp:
        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PYTEST_") and k != "HOTCRM_REDIS_URL"}
        env.update(HOTCRM_DATABASE_URL=database_url, HOTCRM_DATA_DIR=tmp,
                   HOTCRM_HOST="127.0.0.1", HOTCRM_PORT=str(port), HOTCRM_DEMO="0",
                   HOTCRM_METADATA_DIR=str(tree / "metadata"), HOTCRM_AI_PROVIDER="offline",
                   HOTCRM_LOGIN_ATTEMPTS_PER_ADDRESS="100000",
                   PYTHONPATH=str(tree))  # the tree's own app, not the installed one
        with open(Path(tmp) / "server.log", "w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "app.cli", "run"], cwd=tree,
                                    env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=2):
                        break
                except OSError:
                    if proc.poll() is not None:
                        raise SystemExit(f"{tree}: server did not start") from None
                    time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def shown(page: Any, selector: str) -> None:
    page.wait_for_function(SHOWN_JS, arg=selector, polling="raf", timeout=60_000)


def load(page: Any, url: str, selector: str) -> tuple[float, float]:
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    shown(page, selector)
    wall = (time.perf_counter() - start) * 1000
    return wall, float(page.evaluate("() => window.__shown || NaN"))


def page_change(page: Any, base: str) -> tuple[float, float]:
    page.goto(f"{base}/o/opportunity")
    shown(page, ROWS)
    page.wait_for_timeout(300)
    before = page.get_by_test_id("list-range").inner_text()
    start = time.perf_counter()
    page.get_by_test_id("page-next").click()
    page.wait_for_function(
        "(b) => { const e = document.querySelector('[data-testid=\"list-range\"]');"
        " return e && e.innerText !== b; }", arg=before, polling="raf", timeout=30_000)
    shown(page, ROWS)
    return (time.perf_counter() - start) * 1000, float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a_tree", type=Path)
    parser.add_argument("a_database_url")
    parser.add_argument("b_tree", type=Path)
    parser.add_argument("b_database_url")
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--user", default="alice")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    trees = {"A": (args.a_tree.resolve(), args.a_database_url),
             "B": (args.b_tree.resolve(), args.b_database_url)}
    with ExitStack() as stack, sync_playwright() as playwright:
        bases = {k: stack.enter_context(server(tree, url)) for k, (tree, url) in trees.items()}
        browser = playwright.chromium.launch(executable_path=chromium_path(),
                                             args=CHROMIUM_ARGS, headless=True)
        pages = {}
        for k, base in bases.items():
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            sign_in(page, base, args.user)
            page.add_init_script(PROBE_JS)
            pages[k] = page
        cases: dict[str, Callable[[str], tuple[float, float]]] = {
            "kanban open": lambda k: load(pages[k], f"{bases[k]}/o/opportunity/kanban", CARDS),
            "list usable": lambda k: load(pages[k], f"{bases[k]}/o/opportunity", ROWS),
            "page change": lambda k: page_change(pages[k], bases[k]),
        }
        for k in bases:  # warm-up: compiled queries, static files in the browser cache
            for case in cases.values():
                case(k)
        results: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        for i in range(args.runs):
            order = ["A", "B"] if i % 2 == 0 else ["B", "A"]
            for name, case in cases.items():
                for k in order:
                    results[(name, k)].append(case(k))
        browser.close()
    print(f"p50 of {args.runs} interleaved runs, ms (A = {trees['A'][0]}, "
          f"B = {trees['B'][0]}):")
    for name in cases:
        line = []
        for k in ("A", "B"):
            samples = results[(name, k)]
            wall = statistics.median(s[0] for s in samples)
            in_page = [s[1] for s in samples if s[1] == s[1]]
            line.append(f"{k} {wall:5.0f}" + (f" (in page {statistics.median(in_page):4.0f})"
                                              if in_page else ""))
        a = statistics.median(s[0] for s in results[(name, "A")])
        b = statistics.median(s[0] for s in results[(name, "B")])
        print(f"  {name:<12} " + "   ".join(line) + f"   B/A {b / a:4.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
