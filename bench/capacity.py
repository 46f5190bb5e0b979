"""Memory and CPU per connected browser session, the inputs of the capacity model in
docs/deploy.md.

Usage: python bench/capacity.py [--database-url URL] [--tabs 40] [--idle-seconds 20]
                                [--active-seconds 20]

One server process (demo data unless --database-url names a filled database). Headless
Chromium opens `--tabs` signed-in tabs on an account's record page (the header with the
live notification bell and search, the record following saves) and the script reads the
server's resident memory (VmRSS) and CPU time (utime + stime from /proc) around:

1. idle — the tabs sit open; what they cost is the websocket keep-alives and memory;
2. active — the tabs take turns opening pages (record, list, home) as fast as the server
   answers; CPU per page view = CPU seconds / views;
3. fan-out — saves through the REST API to the record every tab shows: CPU per save with
   N live pages re-rendering it, against the same saves with no tab open (the baseline).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.devserver import CHROMIUM_ARGS, api, chromium_path, running_server, sign_in, token_for

TICK = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def saves(base: str, token: str, record_id: str, n: int) -> float:
    """CPU-free wall time aside, n PATCHes of the record's description."""
    started = time.perf_counter()
    for i in range(n):
        api(base, f"/api/objects/account/{record_id}", token, method="PATCH",
            body={"description": f"capacity run {time.time():.3f} #{i}"})
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--tabs", type=int, default=40)
    parser.add_argument("--idle-seconds", type=float, default=20)
    parser.add_argument("--active-seconds", type=float, default=20)
    parser.add_argument("--saves", type=int, default=20)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, running_server(
            Path(tmp), database_url=args.database_url, demo=args.database_url is None,
            timeout=300) as (base, proc), sync_playwright() as playwright:
        pid = proc.pid
        token = token_for(base, "alice")
        account = api(base, "/api/objects/account?limit=1&filters="
                      "%5B%5B%22owner%22%2C%22%3D%22%2C%22%24user%22%5D%5D", token)["records"][0]
        record = f"/o/account/{account['id']}"
        # Baseline: the same saves with no browser connected.
        saves(base, token, account["id"], 3)
        cpu0 = cpu_seconds(pid)
        saves(base, token, account["id"], args.saves)
        save_alone = (cpu_seconds(pid) - cpu0) / args.saves

        browser = playwright.chromium.launch(executable_path=chromium_path(),
                                             args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(180_000)  # a loaded machine: slow, not broken
        first = context.new_page()
        sign_in(first, base, "alice", record)
        first.locator('[data-testid="record-title"]').wait_for()
        time.sleep(2)
        rss0, cpu0, t0 = rss_mb(pid), cpu_seconds(pid), time.monotonic()
        tabs: list[Any] = [first]
        for _ in range(args.tabs - 1):
            tab = context.new_page()
            tab.goto(f"{base}{record}")
            tab.locator('[data-testid="record-title"]').wait_for()
            tabs.append(tab)
        open_cpu = cpu_seconds(pid) - cpu0
        time.sleep(3)
        rss1 = rss_mb(pid)
        cpu1, t1 = cpu_seconds(pid), time.monotonic()
        time.sleep(args.idle_seconds)
        idle_cpu = (cpu_seconds(pid) - cpu1) / (time.monotonic() - t1)
        print(f"server RSS {rss0:.0f} MB → {rss1:.0f} MB with {args.tabs} tabs on {record}: "
              f"{(rss1 - rss0) / (args.tabs - 1) * 1024:.0f} KB per session "
              f"(first page view {open_cpu / (args.tabs - 1) * 1000:.1f} ms CPU each, "
              f"{time.monotonic() - t0:.0f} s)")
        print(f"idle: {idle_cpu * 1000:.2f} ms CPU per second for {args.tabs} sessions = "
              f"{idle_cpu * 1000 / args.tabs * 1000:.1f} µs/s per session")

        # Fan-out: each save re-renders the record on every open tab.
        cpu2 = cpu_seconds(pid)
        saves(base, token, account["id"], args.saves)
        tabs[-1].wait_for_timeout(1500)  # debounce + re-render on every tab
        fan = (cpu_seconds(pid) - cpu2) / args.saves
        print(f"save with {args.tabs} live record pages: {fan * 1000:.1f} ms CPU; alone "
              f"(same run, no tab open) {save_alone * 1000:.1f} ms → "
              f"{(fan - save_alone) / args.tabs * 1000:.2f} ms per listening page")

        # Active: page views in turn on every tab.
        targets = [record, "/o/account", "/"]
        views, cpu3, t3 = 0, cpu_seconds(pid), time.monotonic()
        while time.monotonic() - t3 < args.active_seconds:
            tab = tabs[views % len(tabs)]
            tab.goto(f"{base}{targets[views % len(targets)]}")
            tab.locator("header").first.wait_for()
            views += 1
        active_cpu = cpu_seconds(pid) - cpu3
        span = time.monotonic() - t3
        print(f"active: {views} page views in {span:.0f} s ({views / span:.1f}/s), "
              f"{active_cpu / views * 1000:.1f} ms CPU per page view "
              f"(record/list/home in turn), CPU busy {active_cpu / span * 100:.0f} %")
        rss2 = rss_mb(pid)
        print(f"server RSS after the active phase {rss2:.0f} MB")
        context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
