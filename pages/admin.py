"""`/admin`: the admin studio. Admins only; everyone else gets a 403 page (and the shell
shows them no link). Thin: each route checks the user and composes components/admin."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from app.auth.user_admin import is_admin
from app.objectql.context import Context
from components.admin.dashboard_editor import DashboardEditor, DashboardsPanel
from components.admin.frame import admin_frame, forbidden
from components.admin.history import HistoryPanel
from components.admin.object_editor import ObjectEditor
from components.admin.objects import ObjectsPanel
from components.admin.permissions import PermissionsPanel
from components.admin.users import UsersPanel
from pages.common import services, signed_in, to_login


def admin_context(request: Request) -> Context | RedirectResponse | None:
    """The admin's Context; a login redirect when signed out; None (after rendering the
    403 page) for anyone else."""
    ctx = signed_in(request)
    if ctx is None:
        return to_login(request)
    if not is_admin(ctx):
        ui.context.client.status_code = 403
        forbidden(ctx)
        return None
    return ctx


@ui.page("/admin")
def admin_objects(request: Request) -> RedirectResponse | None:
    ctx = admin_context(request)
    if not isinstance(ctx, Context):
        return ctx
    with admin_frame(ctx, "Objects", "objects"):
        ObjectsPanel(services(), ctx)
    return None


@ui.page("/admin/objects/{object_name}")
def admin_object(request: Request, object_name: str) -> RedirectResponse | None:
    ctx = admin_context(request)
    if not isinstance(ctx, Context):
        return ctx
    with admin_frame(ctx, object_name, "objects"):
        ObjectEditor(services(), ctx, object_name, tab=request.query_params.get("tab"))
    return None


@ui.page("/admin/users")
def admin_users(request: Request) -> RedirectResponse | None:
    ctx = admin_context(request)
    if not isinstance(ctx, Context):
        return ctx
    with admin_frame(ctx, "Users", "users"):
        UsersPanel(services().ql, ctx)
    return None


@ui.page("/admin/permissions")
def admin_permissions(request: Request) -> RedirectResponse | None:
    ctx = admin_context(request)
    if not isinstance(ctx, Context):
        return ctx
    with admin_frame(ctx, "Permissions", "permissions"):
        PermissionsPanel(services(), ctx, role=request.query_params.get("role"))
    return None


@ui.page("/admin/dashboards")
def admin_dashboards(request: Request) -> RedirectResponse | None:
    ctx = admin_context(request)
    if not isinstance(ctx, Context):
        return ctx
    with admin_frame(ctx, "Dashboards", "dashboards"):
        DashboardsPanel(services(), ctx)
    return None


@ui.page("/admin/dashboards/{name}")
def admin_dashboard(request: Request, name: str) -> RedirectResponse | None:
    ctx = admin_context(request)
    if not isinstance(ctx, Context):
        return ctx
    with admin_frame(ctx, name, "dashboards"):
        DashboardEditor(services(), ctx, name, tab=request.query_params.get("tab"))
    return None


@ui.page("/admin/history")
def admin_history(request: Request) -> RedirectResponse | None:
    ctx = admin_context(request)
    if not isinstance(ctx, Context):
        return ctx
    with admin_frame(ctx, "History", "history"):
        HistoryPanel(services(), ctx)
    return None
