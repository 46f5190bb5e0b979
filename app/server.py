"""Start the one process that serves the REST API and the UI.

The API is a lean FastAPI application; NiceGUI is mounted into it with `ui.run_with`, so
API requests skip NiceGUI's per-request middleware (session tracking, gzip) and the
pages keep it. `app` never imports UI code statically: the page package is loaded by
name here, so the service layer (CLI, tests, benchmarks) works without NiceGUI pages.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import logging
import os
from pathlib import Path

from fastapi import FastAPI

from app import logs, metrics, runtime
from app.config import Settings, get_settings
from app.core import build_services

log = logging.getLogger(__name__)
UI_PACKAGE = "pages"
# The Tailwind utilities the pages use, compiled ahead of time (scripts/build_tailwind.sh).
TAILWIND_CSS = Path(__file__).parent / "static" / "hotcrm-tailwind.css"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build services, seed demo data if asked and empty, wire the API and mount the UI."""
    from nicegui import ui

    from app import nicegui_speedups
    from app.api import install as install_api

    nicegui_speedups.install()

    settings = settings or get_settings()
    _share_ui_storage(settings)
    services = build_services(settings)
    runtime.install(services)
    services.start_watching()  # metadata versions saved by other processes
    # The AI briefing service now, not on the first account page: building it imports the
    # provider's SDK (~1.3 s for anthropic), which on the event loop would freeze every page.
    from app.ai.service import briefing_service

    briefing_service(services)
    metrics.install(services)
    if settings.demo:
        from app.seed import database_is_empty, seed_demo

        if database_is_empty(services.ql):
            print("Empty database: seeding demo data ...", flush=True)
            counts = seed_demo(services)
            print("Seeded: " + ", ".join(f"{n} {k}" for k, n in counts.items()), flush=True)
    if settings.admin_email and settings.admin_password:
        from app.ops.bootstrap import ensure_admin

        result = ensure_admin(services.ql, settings.admin_email, settings.admin_password)
        log.warning("first admin: %s", result.reason)
    # FastAPI's native OpenTelemetry is off: we export Prometheus metrics (/metrics), and
    # with it on, every request asked three times whether a provider was configured —
    # three environment lookups, ~3 % of a REST list request's CPU.
    api = FastAPI(title="HotCRM", openapi_url=None, docs_url=None, redoc_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    install_api(api)
    importlib.import_module(UI_PACKAGE).register()
    _install_styles()
    # The UI text is English: `language` sets <html lang> (WCAG 3.1.1, read by screen
    # readers to pick a voice) and Quasar's own strings (date picker) to match.
    # tailwind=False: NiceGUI's in-browser Tailwind compiler cost ~180 ms of every page
    # load; the same utilities come precompiled from TAILWIND_CSS.
    _limit_worker_threads(settings.worker_threads)
    ui.run_with(api, title="HotCRM", favicon="🔥", storage_secret=services.secret_key,
                language="en-US", show_welcome_message=False, tailwind=False)
    return api


def _limit_worker_threads(threads: int) -> None:
    """At most HOTCRM_WORKER_THREADS (default 2) requests run their database work at once
    in the REST endpoints' pool (`off_loop`), and as many in AnyIO's (exports, dashboards,
    the other plain `def` routes), so a slow export never holds up a record read.

    FastAPI runs every plain `def` endpoint (and our `run_in_threadpool` calls) in
    AnyIO's pool of 40 threads; under 16 concurrent REST reads, 16 threads took turns at
    the one GIL with the event loop, and throughput halved: GET one account 689 req/s
    with 40 threads, 954 with 4, 1,163 with 2; the list 320 / 557 / 649
    (`hotcrm_side.sh`, 100k accounts, docs/decisions.md). Fewer threads queue a request
    behind slow ones, so not 1; `/health` has its own thread (app/api/health.py), and the
    pages' work goes through NiceGUI's own pool.
    """
    from nicegui import app as ui_app

    from app.api import offload

    offload.configure(threads)  # the REST endpoints' own pool (app/api/offload.py)

    def limit() -> None:
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = threads

    ui_app.on_startup(limit)


def _install_styles() -> None:
    """Serve TAILWIND_CSS under a name that changes with its content (cached for a year)
    and link it from every page."""
    from nicegui import app as ui_app
    from nicegui import ui

    digest = hashlib.sha256(TAILWIND_CSS.read_bytes()).hexdigest()[:12]
    url = ui_app.add_static_file(local_file=TAILWIND_CSS,
                                 url_path=f"/static/hotcrm-tailwind.{digest}.css",
                                 max_cache_age=365 * 24 * 3600)
    ui.add_head_html(f'<link rel="stylesheet" href="{url}">', shared=True)


def _share_ui_storage(settings: Settings) -> None:
    """Per-user UI state (dark mode, column choices, page size) in Redis when configured,
    so every replica behind the load balancer sees the same (NICEGUI_REDIS_URL wins)."""
    from nicegui.storage import Storage

    url = os.environ.get("NICEGUI_REDIS_URL") or settings.redis_url
    if url:
        Storage.redis_url = url
        Storage.redis_key_prefix = os.environ.get("NICEGUI_REDIS_KEY_PREFIX", "hotcrm:ui:")


def run(host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    settings = get_settings()
    logs.configure()
    host = host or settings.host
    port = port or settings.port
    api = create_app(settings)
    if settings.demo:
        from app.seed import DEMO_USERS

        print("Demo logins:", flush=True)
        for user in DEMO_USERS:
            print(f"  {user['email']:<24} {user['password']:<16} ({user['role']})", flush=True)
    print(f"HotCRM is running on http://{host}:{port}  (API docs: /api/docs)", flush=True)
    # Everything built so far (metadata, tables, compiled statements, NiceGUI) lives as
    # long as the process: frozen, the collector's full passes stop walking it. Those
    # passes were ~100 ms pauses of every request (p99 of GET one account 133 ms → 38 ms,
    # +25 % req/s; docs/decisions.md).
    gc.collect()
    gc.freeze()
    from app.http_protocol import CoalescingHttpToolsProtocol

    uvicorn.run(api, host=host, port=port, log_level="warning", access_log=False,
                http=CoalescingHttpToolsProtocol)
