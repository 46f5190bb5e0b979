"""Global search in the header (type-ahead is its own component task)."""

from __future__ import annotations

from urllib.parse import quote

from nicegui import ui

from app.objectql.context import Context


def global_search(ctx: Context) -> None:
    box = ui.input(placeholder="Search").props(
        'dense outlined clearable type=search aria-label="Search" data-testid="global-search"'
    ).classes("w-72 max-sm:w-40 ml-4")
    box.on("keydown.enter", lambda: ui.navigate.to(f"/search?q={quote(box.value or '')}"))
