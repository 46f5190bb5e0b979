"""`/dashboard/{name}`: a dashboard from metadata, filtered by the URL's parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import run, ui

from app.dashboards.filters import FilterState, owner_choices
from app.dashboards.service import Dashboards, dashboards_for
from app.objectql.context import Context
from app.objectql.errors import NotFound, ObjectQLError
from components.dashboard_view import DashboardView
from components.shell import frame
from pages.common import services, signed_in, to_login


def dashboard_service() -> Dashboards:
    svc = services()
    return dashboards_for(svc.ql, svc.settings.redis_url)


@dataclass
class Prepared:
    state: FilterState
    owners: list[dict[str, str]]
    cached: dict[str, Any]  # cached widgets and the KPIs: drawn in the first HTML
    problem: str | None = None


def prepare(ctx: Context, name: str, params: dict[str, str]) -> Prepared:
    """Filter state, owner choices and the first paint's widgets (reads: call it off the
    event loop)."""
    service = dashboard_service()
    problem = None
    try:
        state = service.state(ctx, name, params)
    except ObjectQLError as exc:
        problem = f"Filters ignored: {exc.message}"
        state = service.state(ctx, name, {})
    return Prepared(state, owner_choices(service.ql, ctx),
                    service.first_paint(ctx, name, state), problem)


def show_dashboard(ctx: Context, name: str, prepared: Prepared, base_url: str) -> None:
    """The dashboard inside the current page; loads its widgets and goes live."""
    service = dashboard_service()
    dashboard = service.definition(name)
    if prepared.problem:
        ui.notify(prepared.problem, type="warning")
    view = DashboardView(service, ctx, dashboard, prepared.state, prepared.owners,
                         base_url=base_url)
    view.load_all(ready=prepared.cached)
    unsubscribe = view.go_live()
    ui.context.client.on_delete(unsubscribe)


@ui.page("/dashboard/{name}")
async def dashboard_page(request: Request, name: str) -> RedirectResponse | None:
    ctx = signed_in(request)
    if ctx is None:
        return to_login(request)
    service = dashboard_service()
    try:
        dashboard = service.definition(name)
    except NotFound:
        with frame(ctx, "Not found"):
            ui.label("This dashboard does not exist.").classes("text-slate-600").props(
                'data-testid="dashboard-missing"')
        return None
    prepared = await run.io_bound(prepare, ctx, name, dict(request.query_params))
    if prepared is None:  # shutting down
        return None
    with frame(ctx, dashboard.label, active=f"dashboard:{name}"):
        show_dashboard(ctx, name, prepared, f"/dashboard/{name}")
    return None
