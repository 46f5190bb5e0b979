"""`/o/{object}/{id}`: a record page; `/o/{object}/new`: the create form.

Only "new" is special: other fixed sub-paths (e.g. `/o/{object}/kanban`) are registered
by their own modules, imported before this one.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from components.record_create import create_form
from components.record_view import not_found, open_record
from components.shell import frame
from pages.common import PAGE_BUILD_SECONDS, ObjectPage, object_page


# The builder awaits its reads in worker threads; on a saturated server that may take
# longer than NiceGUI's default 3 s, which would turn the page into an error.
@ui.page("/o/{object_name}/{record_id}", response_timeout=PAGE_BUILD_SECONDS)
async def record_page(request: Request, object_name: str, record_id: str
                      ) -> RedirectResponse | None:
    page = object_page(request, object_name, lambda: not_found(None))
    if not isinstance(page, ObjectPage):
        return page
    ctx, obj, ql = page.ctx, page.obj, page.ql
    creating = record_id == "new"
    with frame(ctx, f"New {obj.label}" if creating else obj.label, active=obj.name):
        if creating:
            create_form(ql, ctx, obj, dict(request.query_params))
        else:
            await open_record(ql, ctx, obj, record_id,
                              edit=request.query_params.get("edit") == "1")
    return None
