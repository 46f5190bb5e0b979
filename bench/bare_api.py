"""Baseline for bench/api.py: a bare FastAPI app doing the same SQL (page + capped count),
with no ObjectQL, no auth, no permission checks."""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response
from sqlalchemy import MetaData, Table, func, literal, select

from app.storage.db import make_engine

COLUMNS = ["id", "name", "account_number", "industry", "type", "annual_revenue", "phone",
           "owner"]


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError


def build(url: str) -> FastAPI:
    engine = make_engine(url)
    account = Table("account", MetaData(), autoload_with=engine)
    app = FastAPI()

    def respond(data: Any) -> Response:
        return Response(json.dumps(data, default=_default), media_type="application/json")

    @app.get("/api/objects/account/{record_id}")
    def one(record_id: str) -> Response:
        with engine.connect() as conn:
            row = conn.execute(select(account).where(account.c.id == record_id)).first()
        return respond(dict(row._mapping) if row else {})

    @app.get("/api/objects/account")
    def page(owner: str) -> Response:
        stmt = (select(*[account.c[c] for c in COLUMNS]).where(account.c.owner == owner)
                .order_by(account.c.name, account.c.id).limit(20))
        capped = (select(literal(1)).where(account.c.owner == owner).limit(10_001)
                  .subquery())
        with engine.connect() as conn:
            records = [dict(r._mapping) for r in conn.execute(stmt)]
            total = conn.execute(select(func.count()).select_from(capped)).scalar_one()
            return respond({"records": records, "total": min(total, 10_000)})

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(build(args.database_url), host="127.0.0.1", port=args.port, log_level="warning")
