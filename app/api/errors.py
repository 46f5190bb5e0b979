"""Every error leaves as the ⚑ envelope `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from app.objectql.errors import ObjectQLError

log = logging.getLogger(__name__)
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
         415: "unsupported_media_type", 422: "validation_failed", 429: "rate_limited"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None,
                 details: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or CODES.get(status, "error")
        self.details = details or []
        self.headers = headers
        self.extra = extra


class EnvelopeResponse(JSONResponse):
    """JSON with non-ASCII escaped: an error may quote the client's own text back, and a
    lone surrogate in it must not turn a 4xx into a 500 while encoding."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":"),
                          default=str).encode("ascii")


def envelope(status: int, code: str, message: str, details: list[dict[str, str]] | None = None,
             headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, "details": details or []}
    body.update(extra)
    return EnvelopeResponse({"error": body}, status_code=status, headers=headers)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/health"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ObjectQLError)
    async def objectql_error(request: Request, exc: ObjectQLError) -> JSONResponse:
        return envelope(exc.status, exc.code, exc.message, exc.details, **exc.extra)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return envelope(exc.status, exc.code, exc.message, exc.details, exc.headers,
                        **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                    "message": str(e.get("msg", "invalid"))} for e in exc.errors()]
        return envelope(422, "validation_failed", "the request is not valid", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        if not is_api(request):
            from fastapi.exception_handlers import http_exception_handler

            return await http_exception_handler(request, exc)
        return envelope(exc.status_code, CODES.get(exc.status_code, "error"),
                        str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Any:
        """A bug, not bad input: logged with its traceback, answered in the envelope."""
        log.error("unhandled error on %s %s", request.method, request.url.path,
                  exc_info=exc)
        return envelope(500, "internal_error", "the server failed; the error was logged")


def install_api_fallback(app: FastAPI) -> None:
    """Unknown paths and wrong methods under /api answer with the envelope (404/405).

    NiceGUI is mounted at "/" behind the API, so without this route an unknown API path
    would fall through to its HTML 404 page. Register it after every API router.
    """
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    @app.api_route("/api/{rest:path}", methods=methods, include_in_schema=False)
    async def api_fallback(request: Request, rest: str) -> JSONResponse:
        allowed = []
        for method in methods:  # which methods would another route accept here?
            scope = {**request.scope, "method": method}
            for route in app.router.routes:
                if getattr(route, "endpoint", None) is api_fallback \
                        or isinstance(route, Mount):  # NiceGUI, mounted at "/"
                    continue
                if route.matches(scope)[0] == Match.FULL:
                    allowed.append(method)
                    break
        if allowed:
            return envelope(405, "method_not_allowed",
                            f"{request.method} is not allowed here; use {', '.join(allowed)}",
                            headers={"Allow": ", ".join(allowed)})
        return envelope(404, "not_found", f"no API route {request.url.path}")
