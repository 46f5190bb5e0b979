"""Running a test's coroutine when the test's own thread may not be free for it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_on_own_loop(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`asyncio.run(main())` on a thread of its own: an earlier test of the session (the
    NiceGUI user fixture) may leave an event loop set, or running, on this one."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(asyncio.run(main()))
        except BaseException as exc:  # handed to the test below
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]  # type: ignore[no-any-return]
