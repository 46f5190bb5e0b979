"""The API's database work, off the event loop, on a small thread pool of its own.

Why not FastAPI's `def` endpoints (AnyIO's `to_thread.run_sync`, as `run_in_threadpool`
does): AnyIO queues every call behind a capacity limiter, opens a cancel scope and hands
the result back through its own events. Under 16 concurrent REST reads with 4 threads
that cost ~130-155 µs of CPU per call, against ~35-50 µs for asyncio's own
`run_in_executor` on a `ThreadPoolExecutor` of the same size (measured in one run,
docs/decisions.md) — on a GET of one account that is about a tenth of the request.

So the REST endpoints are `async def` and hand their whole body — verifying the caller
included — to `off_loop` in one hop. Nothing blocking runs on the loop; the pool has
HOTCRM_WORKER_THREADS threads (few threads share one GIL better than many).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_size: int | None = None
_lock = threading.Lock()


def configure(threads: int) -> None:
    """Size the pool (at start-up; a pool already running keeps its threads and finishes
    its work, the next call gets the new one)."""
    global _pool, _size
    with _lock:
        old, _pool, _size = _pool, None, max(1, threads)
    if old is not None:
        old.shutdown(wait=False)


def _executor() -> ThreadPoolExecutor:
    global _pool
    pool = _pool
    if pool is None:
        with _lock:
            if _pool is None:
                if _size is None:
                    from app.config import get_settings

                    size = get_settings().worker_threads
                else:
                    size = _size
                _pool = ThreadPoolExecutor(size, thread_name_prefix="hotcrm-db")
            pool = _pool
    return pool


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` on the pool; the caller's context variables (the request id
    every log line carries) go with it, as they do with `run_in_threadpool`."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_executor(), call)
