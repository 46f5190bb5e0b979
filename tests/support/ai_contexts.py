"""Hand-made briefing contexts for the offline engine and grounding tests (no database)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from app.ai.context import BriefingContext, Limits
from app.ai.industries import Industry, Rules

TODAY = date(2026, 6, 15)
STAGE_LABELS = {"prospecting": "Prospecting", "qualification": "Qualification",
                "needs_analysis": "Needs analysis", "proposal": "Proposal",
                "negotiation": "Negotiation", "closed_won": "Closed won",
                "closed_lost": "Closed lost"}
_counter = iter(range(1, 10**9))


def rid(prefix: str) -> str:
    return f"{prefix}{next(_counter):06d}"


def at(days_ago: int, hour: int = 10) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time()).replace(
        hour=hour)


def opportunity(name: str = "Acme expansion", *, amount: float | None = 50_000,
                stage: str = "proposal", close_in: int = 30, **extra: Any) -> dict[str, Any]:
    closed = stage in ("closed_won", "closed_lost")
    return {"id": rid("opp"), "name": name, "amount": amount, "stage": stage,
            "close_date": TODAY + timedelta(days=close_in), "probability": 60,
            "is_closed": closed, "is_won": stage == "closed_won", "version": 1, **extra}


def contact(first: str = "Jane", last: str = "Doe", **extra: Any) -> dict[str, Any]:
    return {"id": rid("con"), "first_name": first, "last_name": last, "title": "VP Sales",
            "level": "vp", "is_active": True, "version": 1, **extra}


def activity(subject: str = "Discovery call", *, days_ago: int = 3, type: str = "call",
             status: str = "completed", **extra: Any) -> dict[str, Any]:
    return {"id": rid("act"), "subject": subject, "type": type, "status": status,
            "activity_date": at(days_ago), "version": 1, **extra}


def email(subject: str = "Follow-up", body: str = "Thanks for the call.", *,
          days_ago: int = 2, direction: str = "inbound", **extra: Any) -> dict[str, Any]:
    return {"id": rid("eml"), "subject": subject, "body": body, "direction": direction,
            "sent_at": at(days_ago), "from_address": "jane@acme.test",
            "to_address": "rep@hotcrm.test", "version": 1, **extra}


def contract(number: str = "CT-20250101-0001", *, ends_in: int = 60,
             status: str = "activated", **extra: Any) -> dict[str, Any]:
    return {"id": rid("ctr"), "contract_number": number, "status": status,
            "start_date": TODAY - timedelta(days=300), "end_date": TODAY + timedelta(days=ends_in),
            "contract_value": 120_000, "auto_renewal": False, "version": 1, **extra}


def make_context(*, opportunities: list[dict[str, Any]] | None = None,
                 contacts: list[dict[str, Any]] | None = None,
                 activities: list[dict[str, Any]] | None = None,
                 emails: list[dict[str, Any]] | None = None,
                 contracts: list[dict[str, Any]] | None = None,
                 account: dict[str, Any] | None = None, industry_points: int = 3,
                 **kwargs: Any) -> BriefingContext:
    base = {"id": "acc000001", "name": "Acme Corp", "industry": "technology",
            "customer_status": "active_customer", "owner.name": "Rita Rep", "version": 1}
    return BriefingContext(
        account={**base, **(account or {})}, today=TODAY, rules=Rules(),
        industry=Industry("technology", "Technology",
                          tuple(f"Tech point {i}." for i in range(industry_points))),
        labels={"opportunity.stage": STAGE_LABELS,
                "account.customer_status": {"active_customer": "Active customer"}},
        opportunities=opportunities or [], contacts=contacts or [],
        activities=activities or [], emails=emails or [], contracts=contracts or [],
        limits=Limits(), **kwargs)
