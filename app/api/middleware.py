"""Security headers on every response and a hard cap on request bodies (pure ASGI).

The cap holds for chunked uploads too: the body is counted as it arrives and the request
is refused at the limit, so a 200 MB chunked POST never sits in memory. Browser form
posts (`/auth/...`) are answered with a redirect to the login page, not JSON.
"""

from __future__ import annotations

import json
from typing import Any

from app.objectql.limits import MAX_BODY

HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeadersMiddleware:
    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            await _too_large(scope, send)
            return
        received = 0
        started = refused = False

        async def counted_receive() -> dict[str, Any]:
            # Past the limit: answer now and tell the app the client left, so it stops
            # reading whatever parser it uses; its own late answer is dropped below.
            nonlocal received, refused
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > MAX_BODY:
                    refused = True
                    if not started:
                        await _too_large(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
                present = {k.lower() for k, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    h for h in HEADERS if h[0] not in present]
            await send(message)

        try:
            await self.app(scope, counted_receive, send_with_headers)
        except Exception:
            if not refused:
                raise


async def _too_large(scope: dict[str, Any], send: Any) -> None:
    if str(scope.get("path", "")).startswith("/auth/"):  # a browser form: back to the page
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", b"/login?error=too_large"), *HEADERS]})
        await send({"type": "http.response.body", "body": b""})
        return
    body = json.dumps({"error": {"code": "payload_too_large",
                                 "message": f"request body is larger than {MAX_BODY} bytes",
                                 "details": []}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), *HEADERS]})
    await send({"type": "http.response.body", "body": body})
