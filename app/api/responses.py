"""Fast JSON responses for records (dates as ISO 8601) and request-body parsing."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.api.errors import ApiError

MAX_BODY = 1_048_576


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    body = json.dumps(data, default=_default, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def json_body(request: Request, *, want: type = dict) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"request body is larger than {MAX_BODY} bytes")
    if not raw.strip():
        raise ApiError(400, "request body is empty; send a JSON object", code="bad_json")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed JSON: {exc}", code="bad_json") from None
    if not isinstance(data, want):
        raise ApiError(400, f"expected a JSON {'object' if want is dict else 'array'}",
                       code="bad_json")
    return data
