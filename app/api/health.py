"""`GET /health`: is the database reachable, which cache is in use. No auth."""

from __future__ import annotations

import asyncio
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app import runtime

router = APIRouter()
# Which process answered: behind a load balancer, operators (and the scale-out test) need
# to tell replicas apart.
INSTANCE = os.environ.get("HOTCRM_INSTANCE") or f"{socket.gethostname()}:{os.getpid()}"


# Its own thread, not the request pool (app/server.py bounds that one): a load balancer's
# probe must not queue behind slow exports and searches holding every worker thread.
_PROBE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health")


@router.get("/health", tags=["health"])
async def health() -> JSONResponse:
    return await asyncio.get_running_loop().run_in_executor(_PROBE, _check)


def _check() -> JSONResponse:
    services = runtime.services()
    body: dict[str, Any] = {"status": "ok", "database": "ok", "cache": "in-process",
                            "instance": INSTANCE}
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        body["database_backend"] = services.engine.dialect.name
    except Exception as exc:  # report, never raise: health must answer
        body.update(status="degraded", database=f"error: {type(exc).__name__}")
    if services.relay is not None:  # there is one exactly when Redis is configured
        try:
            services.relay.ping()
            body["cache"] = "redis"
        except Exception as exc:
            # Redis is optional: without it the process serves from the database, so a
            # load balancer must keep sending traffic here (200), while operators see it.
            body.update(status="degraded", cache=f"error: {type(exc).__name__}")
    serving = body["database"] == "ok"
    return JSONResponse(body, status_code=200 if serving else 503)
