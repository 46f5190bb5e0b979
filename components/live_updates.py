"""Live pages: refresh a page part shortly after a committed change it shows.

Change events come from the ObjectQL service of this process, and — through the Redis
relay — from every other process, so a board held open on one replica follows a save made
on another. Listeners run on the saving thread (or the relay's); the refresh is handed to
the page's own event loop, debounced so a burst of saves (a mass action, an import) costs
one reload, and dropped with the page when its browser tab goes away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from nicegui import background_tasks, ui

from app import runtime
from app.events import ChangeEvent

DEBOUNCE_SECONDS = 0.3


class LiveUpdates:
    def __init__(self, wants: Callable[[ChangeEvent], bool],
                 refresh: Callable[[], Awaitable[None]],
                 debounce: float = DEBOUNCE_SECONDS) -> None:
        self._wants, self._refresh, self._debounce = wants, refresh, debounce
        self._loop = asyncio.get_running_loop()
        self._pending: asyncio.TimerHandle | None = None
        self._unsubscribe = runtime.services().ql.events.subscribe(self._on_change)
        ui.context.client.on_delete(self.close)

    def close(self) -> None:
        self._unsubscribe()
        if self._pending is not None:
            self._pending.cancel()

    def _on_change(self, event: ChangeEvent) -> None:  # any thread
        if self._loop.is_closed():  # the page's loop ended without deleting the page
            self.close()
            return
        if event.is_resync or self._wants(event):
            self._loop.call_soon_threadsafe(self._schedule)

    def _schedule(self) -> None:  # the page's loop
        if self._pending is None:
            self._pending = self._loop.call_later(self._debounce, self._run)

    def _run(self) -> None:
        self._pending = None
        background_tasks.create(self._refresh(), name="live-update")
