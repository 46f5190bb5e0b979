"""The two reads every list and record page makes, answered before the rest of the stack.

`GET /api/objects/{object_name}` and `GET /api/objects/{object_name}/{record_id}` are most
of the API's traffic. Through the whole stack each passed five middlewares of ours and
FastAPI's exception, exit-stack and routing layers on the way in, and every one of them
again (as a `send` wrapper) on the way out: about a sixth of a record read's event-loop
time under load (py-spy), for requests that need none of it but the request id, the
timing, the security headers and the error envelope.

`FastReadsMiddleware` sits outermost among ours and answers those two reads itself with
the very endpoint functions the routes use (`routes_objects.list_records` /
`get_record`: the same parsing, caller check, worker-thread hop and JSON), adding what the
middlewares add: the request id (log lines and `X-Request-ID`), the timing by route
template, the security headers. Whatever goes differently — the endpoint raises (a 401, a
404, a bad filter, a failure), a HEAD, a body, a mount prefix — goes to the full stack
instead, untouched, so every error keeps its one envelope and its one place of truth.
A middleware added for every request must add its part here too (`install` says so
beside the list). Reads change nothing, so a read that raised may be asked again there
(its identity-cache and replica-routing counters then count it twice; its request id
stays one).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.api.middleware import HEADERS
from app.api.routes_objects import get_record, list_records
from app.logs import request_id, request_id_for
from app.metrics import REQUEST_SECONDS

PREFIX = "/api/objects/"
LIST_ROUTE = "/api/objects/{object_name}"
RECORD_ROUTE = "/api/objects/{object_name}/{record_id}"
Endpoint = Callable[[Request], Awaitable[Response]]


def _read_route(scope: dict[str, Any]) -> tuple[str, Endpoint, dict[str, str]] | None:
    """(route template, endpoint, path parameters) when this request is one of the two
    reads and carries nothing the full stack must look at; else None."""
    if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return None
    parts = path[len(PREFIX):].split("/")
    if not all(parts) or len(parts) > 2:  # empty segments, a trailing slash, deeper paths
        return None
    for name, value in scope["headers"]:
        if name in (b"content-length", b"transfer-encoding") and value not in (b"0", b""):
            return None  # a GET with a body: the body cap lives in the full stack
    if len(parts) == 1:
        return LIST_ROUTE, list_records, {"object_name": parts[0]}
    return RECORD_ROUTE, get_record, {"object_name": parts[0], "record_id": parts[1]}


class FastReadsMiddleware:
    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        route = _read_route(scope)
        if route is None:
            await self.app(scope, receive, send)
            return
        template, endpoint, path_params = route
        started = time.perf_counter()
        headers = dict(scope["headers"])
        rid = request_id_for(headers)
        token = request_id.set(rid)
        response: Response | None
        try:
            response = await endpoint(Request({**scope, "path_params": path_params}))
        except Exception:
            response = None
        if response is None:
            # Nothing was sent: the full stack answers (its envelope, its log line), under
            # the same request id.
            request_id.reset(token)
            await self.app({**scope, "headers": [*scope["headers"],
                                                 (b"x-request-id", rid.encode())]},
                           receive, send)
            return
        extra = [*HEADERS, (b"x-request-id", rid.encode())]

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await response(scope, receive, send_with_headers)
            REQUEST_SECONDS.labels("GET", template, f"{response.status_code // 100}xx").observe(
                time.perf_counter() - started)
        finally:
            request_id.reset(token)
