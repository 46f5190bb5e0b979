"""The bell in the header: unread notifications of the signed-in user."""

from __future__ import annotations

from nicegui import ui

from app import runtime
from app.objectql.context import Context


def notification_bell(ctx: Context) -> None:
    ql = runtime.services().ql
    mine = [["user", "=", "$user"]]
    unread, _ = ql.count(ctx, "notification", filters=[*mine, ["read", "=", False]], cap=99)
    latest = ql.find(ctx, "notification", fields=["title", "body", "link", "read"],
                     filters=mine, sort="-created_at", limit=8).records
    with ui.button(icon="notifications").props(
            'flat round dense aria-label="Notifications" data-testid="notifications"'):
        if unread:
            ui.badge(str(unread), color="red").props("floating rounded")
        with ui.menu().classes("w-80"):
            if not latest:
                ui.label("No notifications").classes("px-4 py-3 text-slate-500 dark:text-slate-400")
            for note in latest:
                def open_note(note: dict = note) -> None:
                    if not note["read"]:
                        ql.update(ctx, "notification", note["id"], {"read": True})
                    ui.navigate.to(note["link"] or "/")

                with ui.menu_item(on_click=open_note).classes("flex-col items-start"):
                    ui.label(note["title"]).classes(
                        "text-sm" + ("" if note["read"] else " font-semibold"))
                    if note["body"]:
                        ui.label(note["body"]).classes("text-xs text-slate-500 dark:text-slate-400")
