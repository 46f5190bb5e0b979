"""Structured logs: one JSON object per line, each carrying the id of the request that
caused it, so an operator can follow one request through every line it wrote.

The request id comes from the caller's `X-Request-ID` (when it looks like an id) or is
made here, travels in a context variable (it follows `off_loop`, `run_in_threadpool` and tasks), and
is echoed in the response's `X-Request-ID` header.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import sys
from contextvars import ContextVar
from itertools import count
from typing import Any

from pythonjsonlogger.json import JsonFormatter

request_id: ContextVar[str | None] = ContextVar("hotcrm_request_id", default=None)
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# A made id is this process's random prefix and a counter: unique across replicas, and
# no `os.urandom` system call per request as uuid4 makes.
_PROCESS_PREFIX = secrets.token_hex(8)
_numbers = count(1)


def new_request_id() -> str:
    return f"{_PROCESS_PREFIX}{next(_numbers):016x}"  # 32 characters, as uuid4().hex


def request_id_for(headers: dict[bytes, bytes]) -> str:
    """The id a request's log lines carry: the caller's X-Request-ID when it is usable
    (a proxy's, so one id follows the request across services), else a new one."""
    claimed = headers.get(b"x-request-id", b"").decode("latin-1")
    return claimed if _VALID_ID.fullmatch(claimed) else new_request_id()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure(fmt: str | None = None, level: str | None = None) -> None:
    """Root logging for a server process: JSON lines (default) or plain text."""
    fmt = (fmt or os.environ.get("HOTCRM_LOG_FORMAT", "json")).lower()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("HOTCRM_LOG_LEVEL", "INFO")).upper())


class RequestIdMiddleware:
    """Pure ASGI: sets the request id for everything this request logs."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_for(dict(scope.get("headers") or []))
        token = request_id.set(rid)

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
