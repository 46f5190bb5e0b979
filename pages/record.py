"""`/o/{object}/{id}`: a record page; `/o/{object}/new`: the create form.

Only "new" is special: other fixed sub-paths (e.g. `/o/{object}/kanban`) are registered
by their own modules, imported before this one.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from app.objectql.errors import NotFound, PermissionDenied
from components.record_create import create_form
from components.record_view import not_found, open_record
from components.shell import frame
from pages.common import services, signed_in, to_login


@ui.page("/o/{object_name}/{record_id}")
def record_page(request: Request, object_name: str, record_id: str
                ) -> RedirectResponse | None:
    ctx = signed_in(request)
    if ctx is None:
        return to_login(request)
    ql = services().ql
    try:
        obj = ql.readable_object(ctx, object_name)
    except (NotFound, PermissionDenied):
        with frame(ctx, "Not found"):
            not_found(None)
        return None
    creating = record_id == "new"
    with frame(ctx, f"New {obj.label}" if creating else obj.label, active=obj.name):
        if creating:
            create_form(ql, ctx, obj, dict(request.query_params))
        else:
            open_record(ql, ctx, obj, record_id, edit=request.query_params.get("edit") == "1")
    return None
