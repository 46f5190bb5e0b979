"""`/o/{object}/kanban`: the board of a list view with `kanban` settings (`?view=` picks
which; default the first). Registered before the record page so `/kanban` is not taken
for a record id."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from components import first_paint
from components.kanban_board import KanbanBoard, board_toolbar, board_unavailable
from components.kanban_logic import NoBoard, board_spec, path_readable
from components.shell import frame
from pages.common import ObjectPage, object_page


@ui.page("/o/{object_name}/kanban")
async def kanban_page(request: Request, object_name: str,
                      view: str | None = None) -> RedirectResponse | None:
    page = object_page(request, object_name, lambda: board_unavailable(
        "Not found", "This page does not exist or you may not see it."), allow_system=False)
    if not isinstance(page, ObjectPage):
        return page
    ctx, obj, ql = page.ctx, page.obj, page.ql
    with frame(ctx, f"{obj.display_plural} board", active=obj.name):
        try:
            spec = board_spec(obj, view, lambda path: path_readable(ql, ctx, obj, path))
        except NoBoard as exc:
            board_unavailable("No board", f"{exc}.")
            ui.link("Back to the list", f"/o/{obj.name}").classes("self-center text-sm")
            await first_paint.settle()
            return None
        board_toolbar(obj, spec)
        await KanbanBoard.load(ctx, spec)
    # The bell's count (read in a worker thread since the frame was built) goes in the
    # HTML too, so nothing has to follow over the websocket once it connects.
    await first_paint.settle()
    return None
