"""Reading a briefing's context through ObjectQL as the requesting user: the account's
deals, contacts, contracts, newest activities and emails (row and field security apply as
everywhere), owner names, days in stage, a data version for staleness, then the cut to
the token budget by relevance and recency."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import date, timedelta
from typing import Any

from app.ai.context import BriefingContext, Limits, as_date, estimate_tokens
from app.ai.industries import Playbook
from app.objectql.context import Context
from app.objectql.service import ObjectQL

ACCOUNT_FIELDS = ["name", "type", "industry", "annual_revenue", "number_of_employees",
                  "rating", "customer_status", "website", "billing_city", "billing_country",
                  "description", "owner", "version", "modified_at"]
OPPORTUNITY_FIELDS = ["name", "amount", "stage", "close_date", "probability", "next_step",
                      "type", "is_closed", "is_won", "loss_reason", "competitor_analysis",
                      "owner", "created_at", "modified_at", "version"]
CONTACT_FIELDS = ["first_name", "last_name", "title", "level", "department", "email",
                  "is_active", "version"]
CONTRACT_FIELDS = ["contract_number", "status", "start_date", "end_date", "contract_value",
                   "auto_renewal", "version"]
ACTIVITY_FIELDS = ["subject", "type", "status", "priority", "activity_date", "due_date",
                   "description", "contact", "opportunity", "version"]
EMAIL_FIELDS = ["subject", "body", "direction", "sent_at", "from_address", "to_address",
                "contact", "opportunity", "version"]
LEVEL_RANK = {"c_level": 0, "vp": 1, "director": 2, "manager": 3,
              "individual_contributor": 4}

def _readable(ql: ObjectQL, ctx: Context, obj: str, wanted: list[str]) -> list[str]:
    if obj not in ql.registry:
        return []
    readable = set(ql.readable_fields(ctx, ql.object(obj)))
    return [f for f in wanted if f.split(".")[0] in readable]


def _related(ql: ObjectQL, ctx: Context, obj: str, account_id: str, wanted: list[str],
             sort: list[list[str]], limit: int) -> list[dict[str, Any]]:
    if obj not in ql.registry:
        return []
    from app.objectql.errors import PermissionDenied

    try:
        return ql.related(ctx, obj, "account", account_id,
                          fields=_readable(ql, ctx, obj, wanted), sort=sort,
                          limit=limit).records
    except PermissionDenied:  # the role may not read this object at all
        return []


def _data_version(ql: ObjectQL, ctx: Context, obj: str, account_id: str) -> str:
    """Count and newest change of the account's `obj` records the user sees: a new undated
    note beyond the newest N still makes a stored briefing stale."""
    if obj not in ql.registry:
        return ""
    from app.objectql.errors import PermissionDenied

    try:
        row = ql.aggregate(ctx, obj, filters=[["account", "=", account_id]],
                           aggregate={"n": ("count", "id"), "at": ("max", "modified_at")})
    except PermissionDenied:
        return ""
    return f"{row[0]['n']}@{row[0]['at']}" if row else ""


def _owner_names(ql: ObjectQL, ctx: Context, records: list[dict[str, Any]]) -> None:
    """`owner.name` on each record, from one read of the users (a dotted path per query
    would build a join for every list)."""
    ids = sorted({str(r["owner"]) for r in records if r.get("owner")})
    if not ids or "user" not in ql.registry:
        return
    from app.objectql.errors import PermissionDenied

    try:
        names = {u["id"]: u.get("name") for u in ql.find(
            ctx, "user", fields=["name"], filters=[["id", "in", ids]], limit=len(ids)).records}
    except PermissionDenied:
        return
    for record in records:
        if record.get("owner") in names:
            record["owner.name"] = names[record["owner"]]


def _labels(ql: ObjectQL) -> dict[str, dict[str, str]]:
    labels = {}
    for obj, name in (("account", "type"), ("account", "industry"), ("account", "rating"),
                      ("account", "customer_status"), ("opportunity", "stage"),
                      ("contact", "level"), ("contract", "status")):
        fd = ql.object(obj).field(name) if obj in ql.registry else None
        if fd is not None and fd.options:
            labels[f"{obj}.{name}"] = {o.value: o.label for o in fd.options}
    return labels


class StageClock:
    """How long open deals sit in a stage: days since the audit trail last shows a stage
    change (else since creation). One audit read covers every deal asked about; it only
    looks at ids the user was shown and at when `stage` changed, never at values. Medians
    per stage are sampled from deals the user can see and kept for a few minutes."""

    SAMPLE = 25
    TTL = 300.0

    def __init__(self) -> None:
        self._medians: dict[tuple[str | None, str], tuple[float, int | None]] = {}
        self._lock = threading.Lock()

    def days_in_stage(self, ql: ObjectQL, opps: list[dict[str, Any]], today: date
                      ) -> dict[str, int]:
        entered = {str(o["id"]): as_date(o.get("created_at")) or today for o in opps}
        if not entered:
            return {}
        from sqlalchemy import select

        from app.audit import AUDIT

        stmt = select(AUDIT.c.record_id, AUDIT.c.at, AUDIT.c.changes).where(
            AUDIT.c.object == "opportunity", AUDIT.c.record_id.in_(list(entered)),
            AUDIT.c.action == "update").order_by(AUDIT.c.at.desc())
        found: set[str] = set()
        with ql.engine.connect() as conn:
            for row in conn.execute(stmt):
                if row.record_id not in found and "stage" in (row.changes or {}):
                    found.add(row.record_id)
                    entered[row.record_id] = as_date(row.at) or entered[row.record_id]
        return {k: max(0, (today - d).days) for k, d in entered.items()}

    def median(self, ql: ObjectQL, ctx: Context, stage: str, today: date) -> int | None:
        key = (ctx.user_id, stage)
        with self._lock:
            cached = self._medians.get(key)
        if cached and time.monotonic() - cached[0] < self.TTL:
            return cached[1]
        peers = ql.find(ctx, "opportunity", fields=["created_at"],
                        filters=[["stage", "=", stage]], sort=[["modified_at", "desc"]],
                        limit=self.SAMPLE).records
        days = list(self.days_in_stage(ql, peers, today).values())
        value = round(statistics.median(days)) if len(days) >= 3 else None
        with self._lock:
            self._medians[key] = (time.monotonic(), value)
        return value


STAGE_CLOCK = StageClock()


def _relevance(item: dict[str, Any], kind: str, today: date, open_ids: set[str]) -> float:
    when = as_date(item.get("sent_at") if kind == "email" else
                   item.get("activity_date") or item.get("due_date"))
    age = abs((today - when).days) if when else 365
    score = 100.0 / (1 + age / 7)
    if item.get("opportunity") in open_ids:
        score += 15
    if kind == "email" and item.get("direction") == "inbound":
        score += 10
    if kind == "activity" and item.get("type") in ("meeting", "call"):
        score += 5
    return score


def _fit_budget(context: BriefingContext) -> None:
    """Drop the least relevant activities and emails until the prompt fits the budget."""
    budget = context.limits.token_budget
    if estimate_tokens(context.render()) <= budget:
        return
    open_ids = {o["id"] for o in context.open_opportunities}
    ranked = sorted(
        [(_relevance(a, "activity", context.today, open_ids), "activity", a)
         for a in context.activities]
        + [(_relevance(e, "email", context.today, open_ids), "email", e)
           for e in context.emails], key=lambda t: (-t[0], str(t[2]["id"])))
    keep_activities, keep_emails = list(context.activities), list(context.emails)
    for _score, kind, item in reversed(ranked):
        (keep_activities if kind == "activity" else keep_emails).remove(item)
        context.activities, context.emails = keep_activities, keep_emails
        context.truncated = True
        if estimate_tokens(context.render()) <= budget:
            return


def build_context(ql: ObjectQL, ctx: Context, account_id: str, playbook: Playbook, *,
                  limits: Limits | None = None, with_stage_clock: bool = True
                  ) -> BriefingContext:
    """Everything the briefing may use; NotFound when the account is hidden or missing."""
    limits = limits or Limits()
    account = ql.get(ctx, "account", account_id,
                     fields=_readable(ql, ctx, "account", ACCOUNT_FIELDS))
    today = ql.today()
    rules = playbook.rules
    opportunities = _related(ql, ctx, "opportunity", account_id, OPPORTUNITY_FIELDS,
                             [["close_date", "desc"]], 50)
    closed_after = today - timedelta(days=rules.recent_closed_days)
    opportunities = [o for o in opportunities if not o.get("is_closed")
                     or (as_date(o.get("close_date")) or today) >= closed_after]
    contacts = _related(ql, ctx, "contact", account_id, CONTACT_FIELDS,
                        [["last_name", "asc"]], 25)
    contacts.sort(key=lambda c: (not c.get("is_active", True),
                                 LEVEL_RANK.get(str(c.get("level")), 9)))
    context = BriefingContext(
        account=account, today=today, rules=rules,
        industry=playbook.industry(account.get("industry")), labels=_labels(ql),
        opportunities=opportunities, contacts=contacts,
        contracts=_related(ql, ctx, "contract", account_id, CONTRACT_FIELDS,
                           [["end_date", "desc"]], 10),
        activities=_related(ql, ctx, "activity", account_id, ACTIVITY_FIELDS,
                            [["activity_date", "desc"]], limits.activities),
        emails=_related(ql, ctx, "email", account_id, EMAIL_FIELDS, [["sent_at", "desc"]],
                        limits.emails),
        limits=limits)
    context.data_versions = {obj: _data_version(ql, ctx, obj, account_id)
                             for obj in ("activity", "email")}
    _owner_names(ql, ctx, [account, *opportunities])
    if with_stage_clock:
        open_deals = context.open_opportunities[:10]
        context.stage_days = STAGE_CLOCK.days_in_stage(ql, open_deals, today)
        for opp in open_deals:
            stage = str(opp.get("stage"))
            if stage not in context.stage_medians:
                median = STAGE_CLOCK.median(ql, ctx, stage, today)
                if median is not None:
                    context.stage_medians[stage] = median
    _fit_budget(context)
    return context
