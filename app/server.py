"""Start the one process that serves the UI and the API.

`app` never imports UI code statically: the page package is loaded by name here, so
the service layer stays usable (CLI, tests, benchmarks) without NiceGUI pages.
"""

from __future__ import annotations

import importlib
import logging

from app import runtime
from app.config import Settings, get_settings
from app.core import build_services

log = logging.getLogger(__name__)
UI_PACKAGE = "pages"


def prepare(settings: Settings | None = None) -> Settings:
    """Build services, seed demo data if asked and empty, register routes and pages."""
    from nicegui import app as nicegui_app

    from app.api import install as install_api

    settings = settings or get_settings()
    services = build_services(settings)
    runtime.install(services)
    if settings.demo:
        from app.seed import database_is_empty, seed_demo

        if database_is_empty(services.ql):
            print("Empty database: seeding demo data ...", flush=True)
            counts = seed_demo(services)
            print("Seeded: " + ", ".join(f"{n} {k}" for k, n in counts.items()), flush=True)
    install_api(nicegui_app)
    importlib.import_module(UI_PACKAGE).register()
    return settings


def run(host: str | None = None, port: int | None = None) -> None:
    from nicegui import ui

    settings = prepare()
    host = host or settings.host
    port = port or settings.port
    if settings.demo:
        from app.seed import DEMO_USERS

        print(f"\nHotCRM is starting on http://{host}:{port}\nDemo logins:", flush=True)
        for user in DEMO_USERS:
            print(f"  {user['email']:<24} {user['password']:<16} ({user['role']})", flush=True)
    ui.run(host=host, port=port, title="HotCRM", reload=False, show=False,
           storage_secret=settings.secret_key, favicon="🔥", uvicorn_logging_level="warning")
