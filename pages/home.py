"""Home: the sales dashboard for managers (and admins, viewers), "My day" for reps, then
the signed-in user's objects with live record counts."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import run, ui

from components.shell import frame, readable_objects
from pages.common import PAGE_BUILD_SECONDS, services, signed_in, to_login
from pages.dashboard import prepare, show_dashboard

REP_DASHBOARD, MANAGER_DASHBOARD = "my_day", "sales"


def home_dashboard(role: str) -> str:
    return REP_DASHBOARD if role == "sales_rep" else MANAGER_DASHBOARD


@ui.page("/", response_timeout=PAGE_BUILD_SECONDS)  # see pages/record.py
async def home(request: Request) -> RedirectResponse | None:
    ctx = signed_in(request)
    if ctx is None:
        return to_login(request)
    ql = services().ql
    objects = readable_objects(ctx)
    # Counting every object is real database work (capped scans): a worker thread does
    # it, so other users' pages and /health are not held up meanwhile.
    counts = await run.io_bound(lambda: [ql.count(ctx, obj.name) for obj in objects])
    name = home_dashboard(ctx.role)
    prepared = await run.io_bound(prepare, ctx, name, dict(request.query_params)) \
        if name in ql.registry.dashboards else None
    with frame(ctx, "Home", active="home"):
        ui.label(f"Welcome back, {ctx.name.split(' ')[0] or 'there'}").classes(
            "text-2xl font-semibold text-slate-800 dark:text-slate-100")
        if prepared is not None:
            show_dashboard(ctx, name, prepared, "/")
            ui.label("Your records").classes("text-lg font-semibold text-slate-700 "
                                             "dark:text-slate-200 pt-2")
        with ui.grid(columns="repeat(auto-fill, minmax(220px, 1fr))").classes("w-full gap-4"):
            for obj, (count, capped) in zip(objects, counts, strict=True):
                with ui.link(target=f"/o/{obj.name}").classes("no-underline"), ui.card().classes(
                        "shadow-none border border-slate-200 dark:border-slate-800 "
                        "hover:border-indigo-300 w-full").props(f'data-object="{obj.name}"'):
                    with ui.row().classes("items-center gap-2"):
                        ui.icon(obj.icon or "table_rows").classes("text-slate-500")
                        ui.label(obj.display_plural).classes(
                            "font-medium text-slate-700 dark:text-slate-200")
                    ui.label(f"{count:,}{'+' if capped else ''}").classes(
                        "text-3xl font-semibold text-slate-900 dark:text-white record-count")
    return None
