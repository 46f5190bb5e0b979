"""`POST /api/ai/smart-briefing` (JSON, or server-sent events with `Accept:
text/event-stream`) and `POST /api/ai/briefings/{id}/feedback`.

A fresh stored briefing is returned at once; otherwise (none yet, stale data, or
`regenerate: true`) a new one is generated, subject to a per-user rate limit (429 with
Retry-After). The account is read as the caller: hidden or missing is 404.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from app import runtime
from app.ai.schema import Briefing
from app.ai.service import BriefingService, Job, RateLimited, briefing_service
from app.api.deps import current_context
from app.api.errors import ApiError
from app.api.responses import json_body, json_response
from app.objectql.context import Context

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/ai", tags=["ai"])
CurrentContext = Annotated[Context, Depends(current_context)]
Service = Annotated[BriefingService, Depends(lambda: briefing_service(runtime.services()))]
FEEDBACK_VALUES = {"up", "down", None}


def _request_fields(data: dict[str, Any]) -> tuple[str, bool]:
    problems = []
    account_id = data.get("account_id")
    if not isinstance(account_id, str) or not account_id.strip() or len(account_id) > 64:
        problems.append({"field": "account_id", "message": "an account id (string) is required"})
    regenerate = data.get("regenerate", False)
    if not isinstance(regenerate, bool):
        problems.append({"field": "regenerate", "message": "must be true or false"})
    unknown = sorted(set(data) - {"account_id", "regenerate"})
    problems += [{"field": name, "message": "unknown field"} for name in unknown]
    if problems:
        raise ApiError(422, "the request is not valid", details=problems)
    return str(account_id).strip(), bool(regenerate)


def wants_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _events(service: BriefingService, job: Job | None,
                  stored: Briefing | None) -> AsyncIterator[bytes]:
    if stored is not None:
        yield sse("briefing", stored.to_json())
        yield sse("done", {})
        return
    assert job is not None
    try:
        async for event in service.run(job):
            if event.kind == "delta":
                yield sse("delta", {"text": event.text})
            elif event.kind == "notice":
                yield sse("notice", {"message": event.text})
            elif event.briefing is not None:
                yield sse("briefing", event.briefing.to_json())
        yield sse("done", {})
    except Exception:  # the status line is sent: report in the stream, never a trace
        log.exception("briefing stream failed")
        yield sse("error", {"code": "briefing_failed",
                            "message": "The briefing could not be generated."})


@router.post("/smart-briefing")
async def smart_briefing(request: Request, ctx: CurrentContext, service: Service) -> Response:
    account_id, regenerate = _request_fields(await json_body(request))
    job = await run_in_threadpool(service.prepare, ctx, account_id)  # NotFound → 404
    stored = None if regenerate else await run_in_threadpool(service.stored, job)
    if stored is not None and stored.metadata.stale:
        stored = None
    if stored is None:
        try:
            await run_in_threadpool(service.check_rate, ctx)
        except RateLimited as exc:
            raise ApiError(429, str(exc), headers={"Retry-After": str(exc.retry_after)}
                           ) from None
    if wants_stream(request):
        return StreamingResponse(_events(service, job, stored), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})
    if stored is None:
        async for event in service.run(job):
            if event.briefing is not None:
                stored = event.briefing
    assert stored is not None
    return json_response({"briefing": stored.to_json()})


@router.post("/briefings/{briefing_id}/feedback", status_code=204)
async def briefing_feedback(briefing_id: str, request: Request, ctx: CurrentContext,
                            service: Service) -> Response:
    data = await json_body(request)
    value = data.get("value")
    if value not in FEEDBACK_VALUES or set(data) - {"value"}:
        raise ApiError(422, "the request is not valid", details=[
            {"field": "value", "message": "must be \"up\", \"down\" or null"}])
    await run_in_threadpool(service.store.feedback, ctx, briefing_id, value)
    return Response(status_code=204)
