"""`GET /api/activities/recent`: the newest activities the caller may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from app import runtime
from app.api.deps import current_context
from app.api.responses import json_response
from app.objectql.context import Context
from app.objectql.errors import QueryError

router = APIRouter(prefix="/api", tags=["activities"])
FIELDS = ["subject", "type", "status", "priority", "activity_date", "due_date",
          "account", "account.name", "contact", "opportunity", "owner", "owner.name"]


@router.get("/activities/recent")
def recent_activities(ctx: Annotated[Context, Depends(current_context)],
                      limit: str | None = None) -> Response:
    try:
        count = int(limit) if limit else 20
    except ValueError:
        raise QueryError("limit must be a whole number") from None
    if not 1 <= count <= 100:
        raise QueryError("limit must be between 1 and 100")
    ql = runtime.services().ql
    readable = [f for f in FIELDS if ql.allowed(ctx, "read", "activity", f)]
    result = ql.find(ctx, "activity", fields=readable, limit=count,
                     sort=[["activity_date", "desc"], ["created_at", "desc"]])
    return json_response({"records": result.records, "total": len(result.records)})
