"""`/search?q=`: every object the user may read, its matches listed per object.

Each object's group loads on its own (in parallel), so fast objects show at once and a
slow substring scan on a large table only delays its own group.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import run, ui

from app.metadata.models import ObjectDef
from components.search import (
    MAX_TERM,
    Group,
    current_global_search,
    search_object,
    searchable_objects,
)
from components.shell import frame
from pages.common import signed_in, to_login

PER_OBJECT = 20


@ui.page("/search")
async def search_page(request: Request, q: str = "") -> RedirectResponse | None:
    ctx = signed_in(request)
    if ctx is None:
        return to_login(request)
    term = q.strip()[:MAX_TERM]
    with frame(ctx, f"Search: {term}" if term else "Search"):
        box = current_global_search()
        if box is not None:
            box.prefill(term)
        with ui.row().classes("w-full items-baseline gap-2").props('data-testid="page-header"'):
            ui.label("Search").classes("text-xl font-semibold text-slate-900 dark:text-white")
            if term:
                # A term with no spaces (up to 100 characters) breaks inside its own line
                # instead of widening the page: the flex item may shrink (min-w-0).
                ui.label(f"“{term}”").classes("text-xl text-slate-500 dark:text-slate-400 "
                                              "break-words min-w-0").props(
                    'data-testid="search-term"')
                ui.label("newest first").classes("text-sm text-slate-500 dark:text-slate-400")
        if not term:
            ui.label("Type in the search box above to find records.").classes(
                "text-slate-500 dark:text-slate-400")
            return None
        objects = searchable_objects(ctx)
        slots = {obj.name: ui.column().classes("w-full gap-0") for obj in objects}
        status = ui.label("Searching …").classes(
            "text-sm text-slate-500 dark:text-slate-400 max-w-full break-words").props(
            'data-testid="search-status"')
    await ui.context.client.connected()

    async def load(obj: ObjectDef) -> Group:
        group = await run.io_bound(search_object, ctx, obj, term, limit=PER_OBJECT,
                                   prefix=False)
        if group is not None:
            _render_group(slots[obj.name], group, term)
        return group or Group(obj)

    groups = await asyncio.gather(*(load(obj) for obj in objects))
    found = sum(len(g.hits) for g in groups)
    status.text = f"No records match “{term}”." if not found else ""
    status.visible = not found
    return None


def _render_group(slot: ui.column, group: Group, term: str) -> None:
    if not group.hits:
        slot.delete()
        return
    obj = group.obj
    with slot:
        with ui.row().classes("w-full items-center gap-2 pt-2 pb-1"):
            ui.icon(obj.icon or "table_rows", size="1.1rem").classes("text-slate-400")
            ui.label(obj.display_plural).classes("text-sm font-medium text-slate-700 "
                                                 "dark:text-slate-200")
            count = f"{len(group.hits)}{'+' if group.more else ''}"
            ui.label(count).classes("text-xs text-slate-500 dark:text-slate-400 tabular-nums")
            ui.space()
            ui.link("Open in list", f"/o/{obj.name}?{urlencode({'q': term})}").classes(
                "text-xs text-indigo-700 dark:text-indigo-300 no-underline hover:underline")
        with ui.column().classes("w-full gap-0 rounded-lg border border-slate-200 "
                                 "dark:border-slate-800 bg-[#fff] dark:bg-slate-900 "
                                 "divide-y divide-slate-100 dark:divide-slate-800").props(
                f'data-testid="search-group" data-object="{obj.name}"'):
            for hit in group.hits:
                with ui.link(target=hit.href).classes(
                        "flex w-full items-center gap-3 px-3 py-2 no-underline text-inherit "
                        "hover:bg-slate-50 dark:hover:bg-slate-800").props(
                        'data-testid="search-hit"'):
                    ui.label(hit.title).classes("text-sm text-slate-800 dark:text-slate-100 "
                                                "truncate")
                    if hit.subtitle:
                        ui.label(hit.subtitle).classes("text-sm text-slate-500 "
                                                       "dark:text-slate-400 truncate")
