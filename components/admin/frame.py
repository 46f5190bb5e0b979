"""The frame of every `/admin` page: the app shell, a heading and the section tabs; and
the 403 page everyone else gets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import app as nicegui_app
from nicegui import ui

from app.objectql.context import Context
from components.shell import frame

SECTIONS = (("objects", "Objects", "/admin", "category"),
            ("users", "Users", "/admin/users", "group"),
            ("permissions", "Permissions", "/admin/permissions", "lock"),
            ("dashboards", "Dashboards", "/admin/dashboards", "insights"),
            ("history", "History", "/admin/history", "history"))
MUTED = "text-slate-500 dark:text-slate-400"
CARD = "w-full shadow-none border border-slate-200 dark:border-slate-800 bg-[#fff] " \
       "dark:bg-slate-900"
TITLE = "text-2xl font-semibold text-slate-800 dark:text-slate-100"
SUBTITLE = "text-lg font-semibold text-slate-800 dark:text-slate-100"


@contextmanager
def admin_frame(ctx: Context, title: str, section: str) -> Iterator[ui.column]:
    with frame(ctx, f"{title} · Admin studio", active="admin") as content:
        with ui.row().classes("w-full items-center gap-2").props('data-testid="page-header"'):
            ui.icon("admin_panel_settings", size="1.6rem").classes("text-indigo-600 "
                                                                   "dark:text-indigo-300")
            ui.label("Admin studio").classes(TITLE).props('role=heading aria-level=1')
        with ui.element("nav").props('aria-label="Admin sections" data-testid="admin-tabs"'
                                     ).classes("w-full flex gap-1 border-b border-slate-200 "
                                               "dark:border-slate-800 overflow-x-auto"):
            for key, label, target, icon in SECTIONS:
                _tab(label, icon, target, key == section)
        _show_flash()
        yield content


def flash(message: str) -> None:
    """A message for the next admin page this user opens (a save reloads the page, which
    would swallow a toast shown before it)."""
    nicegui_app.storage.user["admin_flash"] = message


def _show_flash() -> None:
    message = nicegui_app.storage.user.pop("admin_flash", None)
    if message:
        from components.live import notify

        ui.timer(0.3, lambda: notify(str(message), type="positive"), once=True)


def _tab(label: str, icon: str, target: str, active: bool) -> None:
    classes = ("flex items-center gap-2 px-3 py-2 text-sm no-underline whitespace-nowrap "
               "border-b-2 -mb-px ")
    classes += ("border-indigo-600 text-indigo-700 dark:text-indigo-300 dark:border-indigo-300 "
                "font-medium" if active else
                "border-transparent text-slate-600 dark:text-slate-300 hover:text-slate-900 "
                "dark:hover:text-white")
    link = ui.link(target=target).classes(classes).props(f'data-admin-tab="{target}"')
    if active:
        link.props('aria-current="page"')
    with link:
        ui.icon(icon, size="1.1rem").props('aria-hidden="true"')
        ui.label(label)


def forbidden(ctx: Context) -> None:
    """The page a signed-in non-admin gets at `/admin...` (with HTTP status 403)."""
    with frame(ctx, "Forbidden"):
        with ui.card().classes(CARD + " p-8 items-center gap-3 max-w-xl self-center").props(
                'data-testid="admin-forbidden"'):
            ui.icon("lock", size="2.5rem").classes("text-slate-400")
            ui.label("403 · Admins only").classes(TITLE).props('role=heading aria-level=1')
            ui.label("The admin studio changes objects, fields, permissions and users for "
                     "everyone, so only admins can open it. Ask an admin if you need a "
                     "change.").classes(f"text-center {MUTED}")
            ui.link("Back to home", "/").classes("text-indigo-600 dark:text-indigo-300")


def section_heading(text: str, *, testid: str | None = None) -> ui.label:
    label = ui.label(text).classes(SUBTITLE).props('role=heading aria-level=2')
    if testid:
        label.props(f'data-testid="{testid}"')
    return label


def problem_box() -> ui.label:
    """A hidden alert box for an error message; `show_problem` fills and shows it."""
    box = ui.label().classes(
        "text-sm text-red-800 bg-red-50 dark:bg-red-950 dark:text-red-200 rounded px-3 py-2 "
        "w-full whitespace-pre-line").props('role=alert')
    box.set_visibility(False)
    return box


def show_problem(box: ui.label, message: str | None) -> None:
    box.set_text(message or "")
    box.set_visibility(bool(message))
