"""The API's own pool for database work (app/api/offload.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar

import pytest

from app.api import offload
from app.config import WORKER_THREADS
from tests.support.loops import run_on_own_loop

who: ContextVar[str] = ContextVar("who", default="nobody")


@pytest.fixture
def pool_of_two() -> Iterator[None]:
    offload.configure(2)
    yield
    offload.configure(WORKER_THREADS)


def test_work_runs_off_the_loop_with_the_callers_context(pool_of_two: None) -> None:
    async def main() -> tuple[str, str, str]:
        who.set("request 7")
        loop_thread = threading.current_thread().name
        return await offload.off_loop(
            lambda: (threading.current_thread().name, who.get(), loop_thread))

    thread, seen, loop = run_on_own_loop(main)
    assert thread.startswith("hotcrm-db") and thread != loop
    assert seen == "request 7"  # log lines written in the pool carry the request id


def test_at_most_the_configured_number_of_calls_run_at_once(pool_of_two: None) -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    async def main() -> None:
        await asyncio.gather(*(offload.off_loop(work) for _ in range(8)))

    run_on_own_loop(main)
    assert peak == 2


def test_an_error_reaches_the_endpoint(pool_of_two: None) -> None:
    def fail() -> None:
        raise LookupError("no such record")

    async def main() -> None:
        await offload.off_loop(fail)

    with pytest.raises(LookupError, match="no such record"):
        run_on_own_loop(main)
