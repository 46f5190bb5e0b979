"""Fast JSON responses for records (dates as ISO 8601) and request-body parsing."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from app.api.errors import ApiError
from app.objectql.limits import MAX_BODY, MAX_JSON_DEPTH, structure_problem

__all__ = ["MAX_BODY", "json_body", "json_response", "read_body"]


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_bytes(data: Any) -> bytes:
    """Compact UTF-8 JSON. orjson writes a 20-row page ~10x faster than the standard
    library; whatever it refuses (a lone surrogate, a non-text key, an integer beyond
    64 bits) goes the standard library's way, as before."""
    try:
        return orjson.dumps(data, default=_default)
    except (TypeError, orjson.JSONEncodeError):
        pass
    text = json.dumps(data, default=_default, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from somewhere: escape it, never a 500
        return json.dumps(data, default=_default, separators=(",", ":")).encode()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    return Response(json_bytes(data), status_code=status, media_type="application/json",
                    headers=headers)


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, read chunk by chunk and refused as soon as it passes `limit` (a chunked
    upload without Content-Length is never held in memory whole)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request, *, want: type = dict) -> Any:
    """The JSON body: at most MAX_BODY bytes, nested at most MAX_JSON_DEPTH levels, text
    that UTF-8 can encode; anything else is a 4xx with the envelope."""
    raw = await read_body(request)
    if not raw.strip():
        raise ApiError(400, "request body is empty; send a JSON object", code="bad_json")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ApiError(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
                       code="bad_json") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed JSON: {exc}", code="bad_json") from None
    if not isinstance(data, want):
        raise ApiError(400, f"expected a JSON {'object' if want is dict else 'array'}",
                       code="bad_json")
    problem = structure_problem(data, MAX_JSON_DEPTH)
    if problem is not None:
        raise ApiError(400, f"JSON {problem}", code="bad_json")
    return data
