"""What a briefing is built from: one account's records, read through ObjectQL as the
requesting user, so row- and field-level security apply exactly as everywhere else.

The context is cut to a token budget by relevance and recency (the cut is reported), and
renders itself as the model's prompt with every email and activity text fenced as quoted
customer content.
"""

from __future__ import annotations

import hashlib
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from app.ai.industries import Industry, Playbook, Rules
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
CHARS_PER_TOKEN = 4  # close enough for English prose; the real count comes from the API


@dataclass(frozen=True)
class Limits:
    activities: int = 20
    emails: int = 10
    email_chars: int = 600
    token_budget: int = 6000


def as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


def quoted(text: Any, limit: int | None = None) -> str:
    """Untrusted text made inert for the prompt: no angle brackets (so it cannot close its
    fence or open a new one), collapsed whitespace, cut to `limit` characters."""
    clean = " ".join(str(text or "").split()).replace("<", "‹").replace(">", "›")  # noqa: RUF001
    if limit is not None and len(clean) > limit:
        clean = clean[:limit].rsplit(" ", 1)[0] + " …"
    return clean


def fence(kind: str, record_id: str, text: str) -> str:
    return (f'<customer_content kind="{kind}" id="{record_id}">\n{text}\n'
            "</customer_content>")


@dataclass
class BriefingContext:
    account: dict[str, Any]
    today: date
    rules: Rules
    industry: Industry
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    opportunities: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    stage_days: dict[str, int] = field(default_factory=dict)
    stage_medians: dict[str, int] = field(default_factory=dict)
    truncated: bool = False
    limits: Limits = field(default_factory=Limits)
    # count and newest change of the account's activities and emails, beyond those listed
    data_versions: dict[str, str] = field(default_factory=dict)

    # -- derived facts ----------------------------------------------------------------------
    @property
    def account_id(self) -> str:
        return str(self.account["id"])

    @property
    def owner_name(self) -> str | None:
        return self.account.get("owner.name")

    @property
    def open_opportunities(self) -> list[dict[str, Any]]:
        return [o for o in self.opportunities if not o.get("is_closed")]

    @property
    def last_touch(self) -> date | None:
        """The newest completed (or past) activity or email: planned work is not a touch."""
        dates = [as_date(a.get("activity_date")) for a in self.activities
                 if a.get("status") != "planned" and a.get("status") != "cancelled"]
        dates += [as_date(e.get("sent_at")) for e in self.emails]
        past = [d for d in dates if d is not None and d <= self.today]
        return max(past) if past else None

    @property
    def days_since_touch(self) -> int | None:
        touch = self.last_touch
        return (self.today - touch).days if touch else None

    def label(self, obj: str, field_name: str, value: Any) -> str:
        if value is None:
            return ""
        return self.labels.get(f"{obj}.{field_name}", {}).get(str(value), str(value))

    def contact_name(self, contact: dict[str, Any]) -> str:
        return " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p)

    def fingerprint(self) -> str:
        """Changes whenever a record in the context (or the day) changes: a stored briefing
        with another fingerprint is stale."""
        digest = hashlib.sha256(self.today.isoformat().encode())
        for group in (self.opportunities, self.contacts, self.contracts, self.activities,
                      self.emails, [self.account]):
            for row in sorted(group, key=lambda r: str(r["id"])):
                digest.update(f"{row['id']}:{row.get('version')};".encode())
        digest.update(",".join(sorted(k for k in self.account if k != "id")).encode())
        digest.update(repr(sorted(self.data_versions.items())).encode())
        return digest.hexdigest()[:32]

    # -- the prompt ---------------------------------------------------------------------------
    def render(self) -> str:
        a = self.account
        lines = [f"ACCOUNT [account:{a['id']}] {quoted(a.get('name'))}"]
        for key in ("type", "industry", "rating", "customer_status"):
            if a.get(key):
                lines.append(f"  {key}: {self.label('account', key, a[key])}")
        for key in ("annual_revenue", "number_of_employees", "billing_city",
                    "billing_country", "website"):
            if a.get(key) not in (None, ""):
                lines.append(f"  {key}: {money(a[key]) if key == 'annual_revenue' else a[key]}")
        if a.get("description"):
            lines.append("  description: " + fence("account_description", a["id"],
                                                     quoted(a["description"], 400)))
        lines.append(f"  owner: {self.owner_name or 'unknown'}")
        lines.append(f"TODAY: {self.today.isoformat()}")
        touch = self.last_touch
        lines.append(f"LAST TOUCH: {touch.isoformat()} ({self.days_since_touch} days ago)"
                     if touch else "LAST TOUCH: none recorded")
        lines.append("")
        lines.append(f"OPPORTUNITIES ({len(self.opportunities)})")
        for o in self.opportunities:
            parts = [f"- [opportunity:{o['id']}] {quoted(o.get('name'))}",
                     f"stage={self.label('opportunity', 'stage', o.get('stage'))}"]
            if o.get("amount") is not None:
                parts.append(f"amount={money(o['amount'])}")
            if o.get("close_date"):
                parts.append(f"close_date={as_date(o['close_date'])}")
            if o.get("probability") is not None:
                parts.append(f"probability={round(o['probability'])}%")
            if o["id"] in self.stage_days:
                median = self.stage_medians.get(str(o.get("stage")))
                parts.append(f"days_in_stage={self.stage_days[o['id']]}"
                             + (f" (median {median})" if median is not None else ""))
            if o.get("owner.name"):
                parts.append(f"owner={o['owner.name']}")
            if o.get("loss_reason"):
                parts.append(f"loss_reason={o['loss_reason']}")
            lines.append(" ".join(parts))
            if o.get("next_step"):
                lines.append("    next_step: " + fence("opportunity_next_step", o["id"],
                                                       quoted(o["next_step"], 200)))
        lines.append(f"CONTACTS ({len(self.contacts)})")
        for c in self.contacts:
            role = ", ".join(p for p in (c.get("title"),
                                         self.label("contact", "level", c.get("level"))) if p)
            lines.append(f"- [contact:{c['id']}] {quoted(self.contact_name(c))}"
                         + (f" — {quoted(role)}" if role else "")
                         + ("" if c.get("is_active", True) else " (inactive)"))
        if self.contracts:
            lines.append(f"CONTRACTS ({len(self.contracts)})")
            for k in self.contracts:
                parts = [f"- [contract:{k['id']}] {k.get('contract_number') or ''}",
                         f"status={self.label('contract', 'status', k.get('status'))}"]
                if k.get("contract_value") is not None:
                    parts.append(f"value={money(k['contract_value'])}")
                if k.get("end_date"):
                    parts.append(f"end_date={as_date(k['end_date'])}")
                lines.append(" ".join(parts))
        lines.append(f"ACTIVITIES (newest first, {len(self.activities)})")
        for act in self.activities:
            when = as_date(act.get("activity_date") or act.get("due_date"))
            head = (f"- [activity:{act['id']}] {when or 'undated'} "
                    f"{act.get('type') or 'activity'} {act.get('status') or ''}").rstrip()
            text = quoted(act.get("subject"), 160)
            if act.get("description"):
                text += " — " + quoted(act["description"], 240)
            lines.append(head)
            lines.append(fence("activity", act["id"], text))
        lines.append(f"EMAILS (newest first, {len(self.emails)})")
        for e in self.emails:
            lines.append(f"- [email:{e['id']}] {as_date(e.get('sent_at')) or 'undated'} "
                         f"{e.get('direction') or ''} from {quoted(e.get('from_address'))} "
                         f"to {quoted(e.get('to_address'))}")
            body = f"Subject: {quoted(e.get('subject'), 200)}\n" \
                   f"{quoted(e.get('body'), self.limits.email_chars)}"
            lines.append(fence("email", e["id"], body))
        if self.industry.talking_points:
            lines.append(f"INDUSTRY PLAYBOOK ({self.industry.label})")
            lines += [f"- {p}" for p in self.industry.talking_points]
        return "\n".join(lines)

    def record_ids(self) -> dict[str, tuple[str, str]]:
        """id → (object, display name) of every record in the context."""
        ids: dict[str, tuple[str, str]] = {self.account_id: ("account",
                                                             str(self.account.get("name")))}
        for o in self.opportunities:
            ids[o["id"]] = ("opportunity", str(o.get("name") or ""))
        for c in self.contacts:
            ids[c["id"]] = ("contact", self.contact_name(c))
        for k in self.contracts:
            ids[k["id"]] = ("contract", str(k.get("contract_number") or ""))
        for act in self.activities:
            ids[act["id"]] = ("activity", str(act.get("subject") or ""))
        for e in self.emails:
            ids[e["id"]] = ("email", str(e.get("subject") or ""))
        return ids


def money(value: Any) -> str:
    number = float(value)
    return f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"


# -- assembly -----------------------------------------------------------------------------
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
