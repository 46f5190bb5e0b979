"""The bell in the header: unread notifications of the signed-in user.

The count and the menu follow notification changes made anywhere — a trigger on this
process, a note read in another tab, a change on another replica through the Redis relay —
redrawn in a worker-thread read, so the badge never lags behind the truth for long.
"""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from app import runtime
from app.events import ChangeEvent
from app.objectql.context import Context
from app.objectql.service import ObjectQL
from components import first_paint
from components.lazy_menu import LazyMenu
from components.live_updates import LiveUpdates

MINE = [["user", "=", "$user"]]


def load_notifications(ql: ObjectQL, ctx: Context) -> tuple[int, list[dict[str, Any]]]:
    """(unread count capped at 99, the latest eight)."""
    unread, _ = ql.count(ctx, "notification", filters=[*MINE, ["read", "=", False]], cap=99)
    latest = ql.find(ctx, "notification", fields=["title", "body", "link", "read"],
                     filters=MINE, sort="-created_at", limit=8).records
    return unread, latest


class NotificationBell:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.ql = runtime.services().ql
        with ui.button(icon="notifications").props(
                'flat round dense aria-label="Notifications" data-testid="notifications"'):
            self.badge = ui.badge("", color="red").props(
                'floating rounded data-testid="notifications-unread"')
            # Built when opened (most visits never open it), from the latest read.
            self.menu = LazyMenu(self._items).classes("w-80")
        self.latest: list[dict[str, Any]] = []
        self.badge.set_visibility(False)
        # Read in a worker thread like every later refresh: the bell is on every page, so
        # building a page costs the event loop no database round trip for it. A page
        # that settles its first paint sends the count in its HTML.
        first_paint.start(self.refresh(), name="notifications")
        self.live = LiveUpdates(self._concerns, self.refresh, debounce=0.1)

    def _concerns(self, event: ChangeEvent) -> bool:  # any thread
        if event.object != "notification":
            return False
        owner = event.record.get("user")
        return owner is None or owner == self.ctx.user_id  # bulk events carry no record

    async def refresh(self) -> None:
        loaded = await run.io_bound(load_notifications, self.ql, self.ctx)
        if loaded is not None and not self.menu.is_deleted:  # None: shutting down
            self.show(*loaded)

    def show(self, unread: int, latest: list[dict[str, Any]]) -> None:
        self.badge.set_text(str(unread))
        self.badge.set_visibility(bool(unread))
        self.latest = latest
        self.menu.rebuild()

    def _items(self) -> None:
        if not self.latest:
            ui.label("No notifications").classes("px-4 py-3 text-slate-500 dark:text-slate-400")
        for note in self.latest:
            with ui.menu_item(on_click=lambda note=note: self.open(note)).classes(
                    "flex-col items-start"):
                ui.label(note["title"]).classes(
                    "text-sm" + ("" if note["read"] else " font-semibold"))
                if note["body"]:
                    ui.label(note["body"]).classes("text-xs text-slate-500 dark:text-slate-400")

    async def open(self, note: dict[str, Any]) -> None:
        if not note["read"]:
            await run.io_bound(self.ql.update, self.ctx, "notification", note["id"],
                               {"read": True})
        ui.navigate.to(note["link"] or "/")


def notification_bell(ctx: Context) -> NotificationBell:
    return NotificationBell(ctx)
