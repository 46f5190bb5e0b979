"""A record page that follows saves made elsewhere (another tab, the API, a trigger, or
another replica through the Redis relay).

Reading, the page re-renders its header and the open tab with the new values and says who
changed it. Editing, nothing the user typed is touched: the editor's "changed by someone
else" banner appears, naming who, and its Reload rebases the form on the new version
keeping the user's own values (the same path as a stale save). The page's own saves come
back as events too; they are recognised by their version, which the page already shows.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from nicegui import background_tasks, run, ui

from app.events import ChangeEvent
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from app.objectql.service import ObjectQL
from components.live_updates import LiveUpdates

if TYPE_CHECKING:
    from components.record_view import RecordView


def _version(record: dict[str, Any]) -> int:
    try:
        return int(record.get("version") or 0)
    except (TypeError, ValueError):
        return 0


def who_changed(ql: ObjectQL, ctx: Context, user_id: str | None) -> str:
    """The name of the user behind a change, as this user may see it."""
    if not user_id:
        return "someone else"
    if user_id == ctx.user_id:
        return "you (in another tab)"
    try:
        return str(ql.get(ctx, "user", user_id, fields=["name"]).get("name") or "someone else")
    except ObjectQLError:
        return "someone else"


class RecordFollower:
    """Keeps one open RecordView in step with the record in the database."""

    def __init__(self, view: RecordView) -> None:
        self.view = view
        # A short debounce: one record sees few bursts, and the user is looking at it.
        self.live = LiveUpdates(self._concerns, self._catch_up, debounce=0.1)
        self._changed_by: str | None = None
        self._client = ui.context.client

    def _concerns(self, event: ChangeEvent) -> bool:  # any thread
        view = self.view
        if event.object != view.obj.name or event.record_id != view.record_id:
            return False
        if event.action == "delete":
            return True
        if _version(event.record) > _version(view.record):
            self._changed_by = event.user_id
            return True
        return False  # the echo of this page's own save, or an older event

    async def _catch_up(self) -> None:
        if any(isinstance(element, ui.dialog) and element.value
               for element in list(self._client.elements.values())):
            # A dialog is in use (a lead's conversion, a loss reason ...): redrawing the
            # page under it would close it. Look again once it may be closed.
            asyncio.get_running_loop().call_later(
                1.0, lambda: background_tasks.create(self._catch_up(), name="live-update"))
            return
        view, ql, ctx = self.view, self.view.ql, self.view.ctx
        from components.record_view import load_record

        def load() -> tuple[dict[str, Any] | None, str]:
            who = who_changed(ql, ctx, self._changed_by)
            try:
                return load_record(ql, ctx, view.obj, view.record_id), who
            except ObjectQLError:  # deleted, or no longer visible to this user
                return None, who

        fresh, who = await run.io_bound(load)
        if fresh is not None and _version(fresh) <= _version(view.record):
            return
        view.changed_elsewhere(fresh, who)


def follow(view: RecordView) -> RecordFollower:
    return RecordFollower(view)


__all__ = ["RecordFollower", "follow", "who_changed"]
