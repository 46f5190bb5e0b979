"""`GET /api/activities/recent`: newest first, only what the caller may see."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import runtime
from app.api import install
from app.auth.tokens import issue_token


def test_recent_activities_are_newest_first_and_row_filtered(services, team) -> None:
    ql = services.ql
    now = datetime(2026, 11, 20, 9, 0)
    for i, ctx in enumerate([team.rep_a, team.rep_b, team.rep_a]):
        ql.insert(ctx, "activity", {"subject": f"Call {i}", "type": "call",
                                    "activity_date": now + timedelta(hours=i)})
    runtime.install(services)
    app = FastAPI()
    install(app)
    client = TestClient(app)

    def get(ctx, query: str = "") -> object:
        token = issue_token(services.secret_key, ctx.user_id, ctx.role)
        return client.get(f"/api/activities/recent{query}",
                          headers={"Authorization": f"Bearer {token}"})

    mine = get(team.rep_a).json()["records"]
    assert [r["subject"] for r in mine] == ["Call 2", "Call 0"]
    assert mine[0]["owner.name"] == "Rita Rep"
    team_view = get(team.manager).json()["records"]
    assert [r["subject"] for r in team_view] == ["Call 2", "Call 1", "Call 0"]
    assert get(team.manager, "?limit=1").json()["total"] == 1
    bad = get(team.rep_a, "?limit=1000")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_query"
    assert client.get("/api/activities/recent").status_code == 401
