"""Where the time goes for one list page load, step by step, in headless Chromium.

Usage: python bench/ui_breakdown.py [--database-url sqlite:///data/large.db] [--runs 7]
                                    [--user admin] [--path /o/opportunity] [--profile-js]
                                    [--ready SELECTOR] [--trace]

`--path /o/opportunity/kanban` traces the board (the ready selector follows the path:
the first card instead of the first table row, unless `--ready` says otherwise).

Starts `hotcrm run` (never modifies data), signs in, warms the page up, then loads it
`--runs` times and prints medians, from the navigation start, of:
  - request → first byte (the server building the page) and the HTML's size,
  - the HTML parsed (domInteractive) and the deferred scripts run (DOMContentLoaded),
  - the first table row (or card) in the DOM (Vue mounted the page), the websocket
    opened, and how many messages (and bytes) it carried once connected,
plus every static file the page loads: size, whether the browser cache served it, and
its Cache-Control and Content-Encoding. `--profile-js` adds the browser's JavaScript
self time by script for one load (Chrome DevTools Profiler).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from app.devserver import CHROMIUM_ARGS, chromium_path, running_server, sign_in

ROWS = '[data-testid="list-table"] tbody tr'
CARDS = "[data-card-id]"

# Marks, in ms since the navigation started: when the first row appears in the DOM and
# when the websocket is created, opens and gets its first message.
PROBE_TEMPLATE = """
(() => {
  const t = window.__probe = {};
  const mark = (k) => { if (!(k in t)) t[k] = performance.now(); };
  const Native = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new Native(...args);
    mark('ws_created');
    ws.addEventListener('open', () => mark('ws_open'));
    t.ws_messages = 0; t.ws_bytes = 0;
    ws.addEventListener('message', (m) => {
      mark('ws_first_message'); t.ws_messages += 1;
      t.ws_bytes += typeof m.data === 'string' ? m.data.length : (m.data.byteLength || 0);
    });
    return ws;
  };
  Object.assign(window.WebSocket, Native);
  window.WebSocket.prototype = Native.prototype;
  new MutationObserver(() => {
    if (document.querySelector('#app *')) mark('app_first_element');
    if (document.querySelector('ROWS')) {
      mark('rows');
      if (!document.querySelector('[aria-busy="true"]')) mark('complete');
    }
  }).observe(document, {childList: true, subtree: true});
  const seen = () => {  // what Playwright calls visible: a box, and not visibility:hidden
    const e = document.querySelector('ROWS');
    if (e && e.getBoundingClientRect().height > 0
        && e.checkVisibility({visibilityProperty: true})) {
      mark('visible');
    } else requestAnimationFrame(seen);
  };
  requestAnimationFrame(seen);
})();
"""


def probe_js(ready: str) -> str:
    return PROBE_TEMPLATE.replace("ROWS", ready.replace('"', '\\"'))

COLLECT_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    probe: window.__probe,
    nav: {request: nav.requestStart, first_byte: nav.responseStart, html_end: nav.responseEnd,
          dom_interactive: nav.domInteractive, dcl: nav.domContentLoadedEventEnd,
          load: nav.loadEventEnd, html_transfer: nav.transferSize,
          html_encoded: nav.encodedBodySize, html_decoded: nav.decodedBodySize},
    resources: performance.getEntriesByType('resource').map(r => ({
      name: r.name, type: r.initiatorType, start: r.startTime, end: r.responseEnd,
      transfer: r.transferSize, encoded: r.encodedBodySize, decoded: r.decodedBodySize})),
  };
}"""


READY = ROWS


def load_once(page: Any, url: str) -> dict[str, Any]:
    page.goto(url, wait_until="commit")
    page.locator(READY).first.wait_for(timeout=30_000)
    page.wait_for_function("() => window.__probe && window.__probe.ws_first_message",
                           timeout=30_000)
    page.wait_for_timeout(300)  # what the server sends after connect has arrived
    return dict(page.evaluate(COLLECT_JS))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def profile_js(context: Any, page: Any, url: str) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 100})
    cdp.send("Profiler.start")
    load_once(page, url)
    profile = cdp.send("Profiler.stop")["profile"]
    by_id = {n["id"]: n for n in profile["nodes"]}
    self_us: dict[str, float] = defaultdict(float)
    by_function: dict[str, float] = defaultdict(float)
    deltas = profile["timeDeltas"]
    for sample, delta in zip(profile["samples"], [*deltas[1:], 0], strict=True):
        frame = by_id[sample]["callFrame"]
        script = frame["url"].rsplit("/", 1)[-1] or f"({frame['functionName'] or 'native'})"
        self_us[script] += delta
        by_function[f"{frame['functionName'] or '(anonymous)'} @ {script}"] += delta
    total = sum(self_us.values())
    print(f"\nJavaScript self time by script, one load (sampled; {total / 1000:.0f} ms "
          "incl. idle):")
    for script, us in sorted(self_us.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {us / 1000:7.1f} ms  {script}")
    print("top functions:")
    for name, us in sorted(by_function.items(), key=lambda kv: -kv[1])[:20]:
        print(f"  {us / 1000:7.1f} ms  {name}")


def _what(event: dict[str, Any]) -> str:
    data = event.get("args", {}).get("data", {}) or {}
    what = data.get("url") or data.get("styleSheetUrl") or data.get("type") or \
        data.get("functionName") or ""
    return str(what)[-48:]


def trace_main_thread(browser: Any, page: Any, url: str) -> None:
    """The renderer's main thread during one load, by Chrome trace event (top-level
    events only: parse HTML, evaluate script, style, layout, paint ...)."""
    browser.start_tracing(page=page, categories=[
        "devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "blink",
        "loading"])
    load_once(page, url)
    raw = browser.stop_tracing()
    events = json.loads(raw)["traceEvents"]
    main = next((e["pid"], e["tid"]) for e in events
                if e.get("name") == "thread_name" and e["args"]["name"] == "CrRendererMain"
                and any(x.get("pid") == e["pid"] and x.get("name") == "ParseHTML"
                        for x in events))
    nav = next((e["ts"] for e in events if e.get("name") == "navigationStart"
                and e.get("pid") == main[0]), None) or min(
        e["ts"] for e in events if (e.get("pid"), e.get("tid")) == main and e.get("ts"))
    slices = sorted((e for e in events if (e.get("pid"), e.get("tid")) == main
                     and e.get("ph") == "X" and e.get("dur")), key=lambda e: e["ts"])
    totals: dict[str, float] = defaultdict(float)
    end = 0
    timeline = []
    for e in slices:  # top level: not inside the previous top-level slice
        if e["ts"] >= end:
            end = e["ts"] + e["dur"]
            name = e["name"]
            if name in ("RunTask", "ThreadControllerImpl::RunTask"):
                continue
            totals[name] += e["dur"]
    nested: dict[str, float] = defaultdict(float)
    for e in slices:
        if e["name"] in ("ParseHTML", "EvaluateScript", "v8.compile", "v8.compileModule",
                         "UpdateLayoutTree", "Layout", "Paint", "ParseAuthorStyleSheet",
                         "FunctionCall", "v8.evaluateModule", "TimerFire",
                         "EventDispatch", "PrePaint", "Layerize", "RunMicrotasks",
                         "ScheduledAction", "FireAnimationFrame", "ResourceReceivedData",
                         "ParseAuthorStyleSheet", "XHRReadyStateChange"):
            nested[e["name"]] += e["dur"]
            if e["dur"] > 3000:
                timeline.append((e["ts"] - nav, e["dur"], e["name"],
                                 _what(e)))
    print("\nrenderer main thread, one load, by trace event (ms; nested events counted in "
          "their own line too):")
    for name, us in sorted(nested.items(), key=lambda kv: -kv[1]):
        print(f"  {us / 1000:7.1f}  {name}")
    print("events over 5 ms, ms from navigation start:")
    for start, dur, name, what in sorted(timeline):
        print(f"  at {start / 1000:6.1f}  {dur / 1000:6.1f}  {name} {what}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="sqlite:///data/large.db")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--path", default="/o/opportunity")
    parser.add_argument("--profile-js", action="store_true")
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--ready", help="CSS selector of the page being usable")
    args = parser.parse_args()
    global READY
    READY = args.ready or (CARDS if args.path.rstrip("/").endswith("/kanban") else ROWS)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="hotcrm-uibreak-") as tmp, \
            running_server(Path(tmp), database_url=args.database_url, demo=False,
                           timeout=300) as (base, _proc), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(),
                                             args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        sign_in(page, base, args.user)
        headers: dict[str, dict[str, str]] = {}
        page.on("response", lambda r: headers.__setitem__(r.url, r.headers))
        page.add_init_script(probe_js(READY))
        url = base + args.path
        load_once(page, url)  # warm-up: static files into the browser cache
        first_resources = load_once(page, url)["resources"]
        runs = [load_once(page, url) for _ in range(args.runs)]

        def med(key: str, section: str = "probe") -> float:
            return median([r[section][key] for r in runs if r[section].get(key) is not None])

        print(f"{url}: median of {args.runs} warm loads, ms since navigation start")
        steps = [("request sent", med("request", "nav")),
                 ("first byte (server built the page)", med("first_byte", "nav")),
                 ("HTML received", med("html_end", "nav")),
                 ("HTML parsed (domInteractive)", med("dom_interactive", "nav")),
                 ("first element mounted in #app", med("app_first_element")),
                 (f"first {READY} in the DOM", med("rows")),
                 (f"first {READY} visible (checked each frame)", med("visible")),
                 ("... and nothing aria-busy (e.g. the board's later cards)",
                  med("complete")),
                 ("DOMContentLoaded done", med("dcl", "nav")),
                 ("websocket created", med("ws_created")),
                 ("websocket open", med("ws_open")),
                 ("first websocket message", med("ws_first_message")),
                 ("load event done", med("load", "nav")),
                 ("websocket messages received (count)", med("ws_messages")),
                 ("websocket bytes received", med("ws_bytes"))]
        for name, value in steps:
            print(f"  {value:7.1f}  {name}")
        html = runs[-1]["nav"]
        shown = {k: v for k, v in headers.get(url, {}).items()
                 if k in ("content-encoding", "cache-control")}
        print(f"  initial HTML: {html['html_decoded'] / 1024:.1f} KiB, "
              f"{html['html_encoded'] / 1024:.1f} KiB on the wire; headers {shown}")
        print(f"\nstatic files of a warm load ({len(first_resources)}):")
        for r in first_resources:
            h = headers.get(r["name"], {})
            cached = "browser cache" if r["transfer"] == 0 else f"{r['transfer']} B fetched"
            print(f"  {r['decoded'] / 1024:7.1f} KiB  {cached:<18} "
                  f"{h.get('cache-control', '-')!s:<28} {h.get('content-encoding', '-'):<5} "
                  f"{r['name'].removeprefix(base)}")
        if args.trace:
            trace_main_thread(browser, page, url)
        if args.profile_js:
            profile_js(context, page, url)
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
