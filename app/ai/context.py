"""What a briefing is built from (`app/ai/assembly.py` reads it through ObjectQL as the
requesting user) and how it renders as the model's prompt: every email, activity and
next-step text fenced as quoted customer content.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.ai.industries import Industry, Rules

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
