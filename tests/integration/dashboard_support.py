"""A deterministic sales data set for dashboard tests, and hand-written SQL oracles."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, text

from app.objectql.service import ObjectQL
from tests.conftest import Team, fixed_clock, make_team

TODAY = datetime(2025, 5, 14, 10, 30)  # Q2 2025: this quarter = April to June
THIS_Q = (date(2025, 4, 1), date(2025, 7, 1))
LAST_Q = (date(2025, 1, 1), date(2025, 4, 1))
INDUSTRIES = ["technology", "finance", "retail", None]
STAGES = ["prospecting", "qualification", "needs_analysis", "proposal", "negotiation",
          "closed_won", "closed_lost"]
PROBABILITY = {"prospecting": 10, "qualification": 20, "needs_analysis": 40, "proposal": 60,
               "negotiation": 80, "closed_won": 100, "closed_lost": 0}
FORECAST = {"prospecting": "pipeline", "qualification": "pipeline",
            "needs_analysis": "pipeline", "proposal": "best_case", "negotiation": "commit",
            "closed_won": "closed", "closed_lost": "omitted"}


@dataclass
class SalesData:
    ql: ObjectQL
    team: Team

    def owners_visible(self, who: str) -> list[str]:
        t = self.team
        if who in ("admin", "viewer"):
            return [c.user_id for c in (t.admin, t.manager, t.rep_a, t.rep_b)]  # type: ignore[misc]
        if who == "manager":
            return [t.manager.user_id, t.rep_a.user_id, t.rep_b.user_id]  # type: ignore[list-item]
        return [getattr(t, who).user_id]

    def sql(self, statement: str, owners: list[str], **params: Any) -> list[Any]:
        """Run hand-written SQL with `:owners` expanded to the visible owners."""
        stmt = text(statement).bindparams(bindparam("owners", expanding=True))
        with self.ql.engine.connect() as conn:
            return list(conn.execute(stmt, {"owners": owners, **params}))


def make_sales_data(ql: ObjectQL) -> SalesData:
    team = make_team(ql)
    ql.clock = fixed_clock(TODAY)
    system = team.system
    rng = random.Random(7)
    owners = [team.admin, team.manager, team.rep_a, team.rep_b]
    accounts = []
    for i in range(8):
        accounts.append(ql.insert(system, "account", {
            "name": f"Account {i}", "industry": INDUSTRIES[i % 4], "phone": "+1 555 0100",
            "owner": owners[i % 4].user_id})["id"])
    today = TODAY.date()
    opps = []
    for i in range(200):
        stage = rng.choice(STAGES)
        closed = stage.startswith("closed")
        close = today - timedelta(days=rng.randint(0, 250)) if closed else \
            today + timedelta(days=rng.randint(1, 230))
        amount = None if (not closed and rng.random() < 0.1) else \
            float(rng.randrange(1_000, 200_000, 500))
        created = datetime.combine(close - timedelta(days=rng.randint(5, 200)), time(9, 15))
        opps.append({
            "name": f"Deal {i}", "account": rng.choice(accounts), "stage": stage,
            "close_date": close, "amount": amount, "probability": PROBABILITY[stage],
            "forecast_category": FORECAST[stage], "owner": rng.choice(owners).user_id,
            "loss_reason": rng.choice(["price", "timing", "competitor", None])
            if stage == "closed_lost" else None, "created_at": min(created, TODAY)})
    for opp in opps:  # a lost deal needs a reason
        if opp["stage"] == "closed_lost" and opp["loss_reason"] is None:
            opp["loss_reason"] = "other"
    ql.bulk_insert(system, "opportunity", opps)
    ql.bulk_insert(system, "contract", [{
        "account": rng.choice(accounts), "status": "draft",
        "start_date": today - timedelta(days=rng.randint(0, 200)),
        "contract_value": float(rng.randrange(1_000, 90_000, 100)),
        "owner": rng.choice(owners).user_id} for _ in range(30)])
    ql.bulk_insert(system, "activity", [{
        "subject": f"Call {i}", "type": rng.choice(["call", "meeting", "task", "email"]),
        "status": rng.choice(["planned", "completed"]),
        "activity_date": TODAY - timedelta(days=rng.randint(0, 120), hours=rng.randint(0, 9)),
        "due_date": today + timedelta(days=rng.randint(-20, 20)),
        "owner": rng.choice(owners).user_id} for i in range(80)])
    # "converted" only comes from Convert, which the lead tests cover
    statuses = ["new", "working", "nurturing", "qualified", "unqualified"]
    ql.bulk_insert(system, "lead", [{
        "name": f"Lead {i}", "company": f"Prospect {i}", "email": f"lead{i}@example.com",
        "status": rng.choice(statuses), "industry": rng.choice(INDUSTRIES),
        "created_at": TODAY - timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 9)),
        "owner": rng.choice(owners).user_id} for i in range(90)])
    return SalesData(ql, team)
