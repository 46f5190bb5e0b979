"""Reads a page starts while it is being built, which its initial HTML should contain.

A page's reads run in worker threads (background tasks), so the event loop never waits
on the database while building it. A page that `settle()`s before returning sends its
HTML once they are done (or after `timeout`, when it is sent as it is and the rest
follows over the websocket): what is in the HTML is painted in the first frame, while an
update after the websocket connected makes the browser render that part again.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Coroutine
from typing import Any

from nicegui import background_tasks, context
from nicegui.client import Client

# Seconds a page waits for the reads its builders started before it is sent anyway.
WAIT = 1.0

_pending: weakref.WeakKeyDictionary[Client, list[asyncio.Task[Any]]] = \
    weakref.WeakKeyDictionary()


def start(coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
    """Run `coroutine` in the background; the page's `settle()` waits for it."""
    task = background_tasks.create(coroutine, name=name)
    _pending.setdefault(context.client, []).append(task)
    return task


async def settle(timeout: float = WAIT) -> None:
    """Wait (at most `timeout` seconds) for what this page's builders started."""
    tasks = _pending.pop(context.client, [])
    if tasks:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(asyncio.gather(*tasks)), timeout)
