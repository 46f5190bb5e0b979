"""Home: every object with its record count (the full sales UI is its own issue)."""

from __future__ import annotations

from nicegui import ui

from app import runtime
from app.objectql import Context


@ui.page("/")
def home() -> None:
    ql = runtime.services().ql
    ctx = Context.system()
    ui.query("body").classes("bg-slate-50")
    with ui.column().classes("w-full max-w-5xl mx-auto p-8 gap-6"):
        with ui.row().classes("items-center gap-3"):
            ui.icon("local_fire_department", size="2rem").classes("text-orange-500")
            ui.label("HotCRM").classes("text-2xl font-semibold text-slate-800")
        ui.label("Objects declared in metadata, counted live from the database.").classes(
            "text-slate-500")
        with ui.grid(columns="repeat(auto-fill, minmax(220px, 1fr))").classes("w-full gap-4"):
            for obj in ql.registry.business_objects:
                count, capped = ql.count(ctx, obj.name)
                with ui.card().classes("shadow-none border border-slate-200").props(
                        f'data-object="{obj.name}"'):
                    with ui.row().classes("items-center gap-2"):
                        ui.icon(obj.icon or "table_rows").classes("text-slate-500")
                        ui.label(obj.display_plural).classes("font-medium text-slate-700")
                    ui.label(f"{count:,}{'+' if capped else ''}").classes(
                        "text-3xl font-semibold text-slate-900 record-count")
                    if obj.description:
                        ui.label(obj.description).classes("text-xs text-slate-400")
