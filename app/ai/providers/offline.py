"""The offline engine: a deterministic briefing from the same context, no network.

Engagement from activity recency, frequency and direction; sentiment from email and call
texts with VADER (a maintained lexicon and rule-based analyser); next steps from concrete
rules; talking points from the open pipeline and the industry playbook (metadata). It
streams its summary in pieces like a model would, so the UI path is the same.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from app.ai.context import BriefingContext, as_date, money
from app.ai.providers.base import Delta, Final, ProviderEvent
from app.ai.schema import Answer, NextStep, RecordRef, Sentiment

GENERIC_POINTS = (
    "Confirm their top priorities for the next quarter and how they measure success.",
    "Ask what has changed in their organisation since the last conversation.",
    "Agree on a concrete next meeting before the call ends.",
)


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def polarity(text: str) -> float:
    """VADER's compound score, -1 (very negative) .. +1 (very positive)."""
    return float(_analyzer().polarity_scores(text)["compound"]) if text.strip() else 0.0


# -- scores ---------------------------------------------------------------------------------
def engagement_score(ctx: BriefingContext) -> int:
    """0-100: half recency of the last touch, 30% touches in 90 days, 20% two-way email."""
    days = ctx.days_since_touch
    recency = math.exp(-days / 30) if days is not None else 0.0
    since = ctx.today.toordinal() - 90
    touches = [d for d in (as_date(a.get("activity_date")) for a in ctx.activities
                           if a.get("status") not in ("planned", "cancelled"))
               if d and since <= d.toordinal() <= ctx.today.toordinal()]
    recent_emails = [e for e in ctx.emails
                     if (d := as_date(e.get("sent_at"))) and since <= d.toordinal()]
    frequency = min(1.0, (len(touches) + len(recent_emails)) / 12)
    inbound = sum(1 for e in recent_emails if e.get("direction") == "inbound")
    two_way = min(1.0, 2 * inbound / len(recent_emails)) if recent_emails else 0.0
    return max(0, min(100, round(100 * (0.5 * recency + 0.3 * frequency + 0.2 * two_way))))


def email_text(e: dict[str, Any]) -> str:
    return f"{e.get('subject') or ''}. {e.get('body') or ''}"


def sentiment(ctx: BriefingContext) -> tuple[Sentiment, float]:
    """Recency-weighted VADER score over emails (the customer's own words count double)
    and call/meeting notes; strong opposite signals among the newest five read as mixed."""
    scored: list[tuple[float, float]] = []
    for rank, e in enumerate(ctx.emails):
        weight = (2.0 if e.get("direction") == "inbound" else 1.0) / (1 + rank)
        scored.append((polarity(email_text(e)), weight))
    for rank, a in enumerate(ctx.activities):
        if a.get("description") and a.get("type") in ("call", "meeting", "note"):
            scored.append((polarity(f"{a.get('subject') or ''}. {a['description']}"),
                           0.5 / (1 + rank)))
    if not scored:
        return "neutral", 0.0
    total = sum(w for _, w in scored)
    score = sum(s * w for s, w in scored) / total
    newest = [s for s, _ in scored[:5]]
    if any(s >= 0.5 for s in newest) and any(s <= -0.5 for s in newest) \
            and abs(score) < 0.5:
        return "mixed", score
    if score >= 0.2:
        return "positive", score
    if score <= -0.2:
        return "negative", score
    return "neutral", score


# -- next steps -----------------------------------------------------------------------------
@dataclass
class Step:
    rank: int  # lower first
    step: NextStep


def _ref(obj: str, record: dict[str, Any], name: str) -> RecordRef:
    return RecordRef(object=obj, id=str(record["id"]), name=name)


def _stage(ctx: BriefingContext, opp: dict[str, Any]) -> str:
    return ctx.label("opportunity", "stage", opp.get("stage"))


def _deal(ctx: BriefingContext, opp: dict[str, Any]) -> str:
    amount = f", {money(opp['amount'])}" if opp.get("amount") is not None else ""
    return f"“{opp.get('name')}” ({_stage(ctx, opp)}{amount})"


def _top_contact(ctx: BriefingContext) -> dict[str, Any] | None:
    active = [c for c in ctx.contacts if c.get("is_active", True)]
    return active[0] if active else None


def _rule_steps(ctx: BriefingContext, mood: Sentiment) -> list[Step]:
    steps: list[Step] = []
    today, rules = ctx.today, ctx.rules
    for opp in ctx.open_opportunities:
        close = as_date(opp.get("close_date"))
        if close and close < today:
            steps.append(Step(0, NextStep(
                text=f"Update the close date of {_deal(ctx, opp)}: it passed on "
                     f"{close.isoformat()}.", record=_ref("opportunity", opp, opp["name"]),
                priority="high", due_in_days=1)))
    newest_inbound = next((e for e in ctx.emails if e.get("direction") == "inbound"), None)
    if newest_inbound is not None and polarity(email_text(newest_inbound)) <= -0.3:
        when = as_date(newest_inbound.get("sent_at"))
        steps.append(Step(1, NextStep(
            text=f"Reply to the concerns in “{newest_inbound.get('subject')}”"
                 + (f" ({when.isoformat()})" if when else "") + ".",
            record=_ref("email", newest_inbound, str(newest_inbound.get("subject"))),
            priority="high", due_in_days=1)))
    days = ctx.days_since_touch
    if days is None or days >= rules.no_touch_days:
        contact = _top_contact(ctx)
        gap = f"no touch in {days} days" if days is not None else "no recorded touch yet"
        if contact is not None:
            name = ctx.contact_name(contact)
            steps.append(Step(2, NextStep(
                text=f"Reach out to {name}" + (f" ({contact['title']})"
                                               if contact.get("title") else "")
                     + f": {gap}.", record=_ref("contact", contact, name),
                priority="high" if days is None or days >= 2 * rules.no_touch_days
                else "normal", due_in_days=2)))
        else:
            steps.append(Step(2, NextStep(
                text=f"Re-engage {ctx.account.get('name')}: {gap}.",
                record=_ref("account", ctx.account, str(ctx.account.get("name"))),
                priority="high", due_in_days=2)))
    for k in ctx.contracts:
        end = as_date(k.get("end_date"))
        if k.get("status") == "activated" and end and \
                0 <= (end - today).days <= rules.renewal_window_days:
            number = k.get("contract_number") or "the contract"
            steps.append(Step(3, NextStep(
                text=f"Start the renewal of {number}: it ends on {end.isoformat()}.",
                record=_ref("contract", k, str(number)),
                priority="high" if (end - today).days <= 30 else "normal", due_in_days=5)))
    for opp in ctx.open_opportunities:
        in_stage = ctx.stage_days.get(opp["id"])
        median = ctx.stage_medians.get(str(opp.get("stage")))
        limit = max(median or 0, rules.stalled_min_days)
        if in_stage is not None and in_stage > limit:
            typical = f"; typical is {median}" if median is not None else ""
            steps.append(Step(4, NextStep(
                text=f"Unblock {_deal(ctx, opp)}: {in_stage} days in this stage{typical}.",
                record=_ref("opportunity", opp, opp["name"]), due_in_days=3)))
    for a in ctx.activities:
        due = as_date(a.get("due_date"))
        if a.get("status") == "planned" and due and due < today:
            steps.append(Step(5, NextStep(
                text=f"Complete the overdue task “{a.get('subject')}” (due {due.isoformat()}).",
                record=_ref("activity", a, str(a.get("subject"))), due_in_days=1)))
    if mood == "negative" and not any(s.rank == 1 for s in steps):
        contact = _top_contact(ctx)
        if contact is not None:
            name = ctx.contact_name(contact)
            steps.append(Step(6, NextStep(
                text=f"Call {name} to address the recent negative tone before proposing more.",
                record=_ref("contact", contact, name), priority="high", due_in_days=2)))
    return steps


def _filler_steps(ctx: BriefingContext) -> list[Step]:
    steps: list[Step] = []
    open_deals = sorted(ctx.open_opportunities, key=lambda o: -(o.get("amount") or 0))
    if open_deals:
        opp = open_deals[0]
        how = f" — next step on record: {opp['next_step']}" if opp.get("next_step") \
            else "; agree on the next step with the buyer"
        steps.append(Step(7, NextStep(text=f"Advance {_deal(ctx, opp)}{how}."[:400],
                                      record=_ref("opportunity", opp, opp["name"]))))
    contact = _top_contact(ctx)
    active = [c for c in ctx.contacts if c.get("is_active", True)]
    if contact is None:
        steps.append(Step(8, NextStep(
            text=f"Add the main contact for {ctx.account.get('name')}.",
            record=_ref("account", ctx.account, str(ctx.account.get("name"))))))
    elif len(active) == 1:
        name = ctx.contact_name(contact)
        steps.append(Step(8, NextStep(
            text=f"Find a second stakeholder besides {name}: the account is single-threaded.",
            record=_ref("contact", contact, name), due_in_days=7)))
    if not open_deals:
        steps.append(Step(9, NextStep(
            text=f"Explore a new opportunity with {ctx.account.get('name')}: "
                 "nothing is open right now.",
            record=_ref("account", ctx.account, str(ctx.account.get("name"))),
            due_in_days=7)))
    if contact is not None:
        name = ctx.contact_name(contact)
        steps.append(Step(10, NextStep(
            text=f"Schedule a check-in with {name} to review priorities.",
            record=_ref("contact", contact, name), due_in_days=7, priority="low")))
    steps.append(Step(11, NextStep(
        text=f"Review the account plan for {ctx.account.get('name')} and log the outcome.",
        record=_ref("account", ctx.account, str(ctx.account.get("name"))), due_in_days=7,
        priority="low")))
    steps.append(Step(12, NextStep(
        text="Log notes from the last conversation so the team shares the context.",
        record=_ref("account", ctx.account, str(ctx.account.get("name"))), due_in_days=2,
        priority="low")))
    return steps


def next_steps(ctx: BriefingContext, mood: Sentiment) -> list[NextStep]:
    order = {"high": 0, "normal": 1, "low": 2}
    chosen: list[Step] = []
    seen: set[str] = set()
    for step in _rule_steps(ctx, mood) + _filler_steps(ctx):
        if step.step.text not in seen:
            seen.add(step.step.text)
            chosen.append(step)
    rules = sorted((s for s in chosen if s.rank <= 6),
                   key=lambda s: (order[s.step.priority], s.rank))[:5]
    fillers = [s for s in chosen if s.rank > 6][:max(0, 3 - len(rules))]
    return [s.step for s in rules + fillers]


# -- talking points, risks, summary -----------------------------------------------------------
def _won_lost(ctx: BriefingContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    closed = [o for o in ctx.opportunities if o.get("is_closed")]
    return ([o for o in closed if o.get("is_won")], [o for o in closed if not o.get("is_won")])


def talking_points(ctx: BriefingContext) -> list[str]:
    points: list[str] = []
    open_deals = sorted(ctx.open_opportunities, key=lambda o: -(o.get("amount") or 0))
    if open_deals:
        total = sum(o.get("amount") or 0 for o in open_deals)
        points.append(f"Open pipeline of {money(total)} across {len(open_deals)} "
                      f"deal{'s' if len(open_deals) != 1 else ''}; the largest is "
                      f"{_deal(ctx, open_deals[0])}.")
    won, lost = _won_lost(ctx)
    if won:
        points.append(f"Recently won {_deal(ctx, won[0])}: ask how the rollout is going "
                      "and who else could benefit.")
    if lost and lost[0].get("loss_reason"):
        points.append(f"“{lost[0].get('name')}” was lost on {lost[0]['loss_reason']}: "
                      "address it before proposing again.")
    points += list(ctx.industry.talking_points)
    points += [p for p in GENERIC_POINTS if p not in points]
    return points[:5]


def risks(ctx: BriefingContext, mood: Sentiment, score: int) -> list[str]:
    found: list[str] = []
    overdue = [o for o in ctx.open_opportunities
               if (d := as_date(o.get("close_date"))) and d < ctx.today]
    if overdue:
        found.append(f"{len(overdue)} open deal{'s are' if len(overdue) > 1 else ' is'} "
                     "past the close date.")
    days = ctx.days_since_touch
    if days is None:
        found.append("No recorded touch with this account.")
    elif days >= ctx.rules.no_touch_days:
        found.append(f"No touch in {days} days.")
    if mood in ("negative", "mixed"):
        found.append(f"Recent communication reads {mood}.")
    active = [c for c in ctx.contacts if c.get("is_active", True)]
    if len(active) <= 1 and ctx.open_opportunities:
        found.append("Single-threaded: open deals rely on one contact or none.")
    status = ctx.account.get("customer_status")
    if status in ("churned", "on_hold"):
        found.append(f"Customer status is {ctx.label('account', 'customer_status', status)}.")
    for opp in ctx.open_opportunities:
        if opp.get("competitor_analysis"):
            found.append(f"Competition noted on “{opp.get('name')}”.")
            break
    for k in ctx.contracts:
        end = as_date(k.get("end_date"))
        if k.get("status") == "activated" and end and not k.get("auto_renewal") and \
                0 <= (end - ctx.today).days <= ctx.rules.renewal_window_days:
            found.append(f"{k.get('contract_number') or 'A contract'} ends on "
                         f"{end.isoformat()} without auto-renewal.")
    if score < 25 and days is not None:
        found.append(f"Low engagement ({score}/100).")
    return found[:8]


def _level(score: int) -> str:
    return "high" if score >= 70 else "moderate" if score >= 40 else "low"


def summary(ctx: BriefingContext, mood: Sentiment, score: int) -> str:
    a = ctx.account
    status = ctx.label("account", "customer_status", a.get("customer_status")) \
        or ctx.label("account", "type", a.get("type"))
    industry = ctx.label("account", "industry", a.get("industry"))
    article = "an" if status[:1].lower() in "aeiou" else "a"
    first = f"{a.get('name')} is " + (f"{article} {status.lower()}" if status else "an account")
    first += f" in {industry}" if industry else ""
    first += f", owned by {ctx.owner_name}." if ctx.owner_name else "."
    sentences = [first]
    open_deals = sorted(ctx.open_opportunities, key=lambda o: -(o.get("amount") or 0))
    if open_deals:
        total = sum(o.get("amount") or 0 for o in open_deals)
        top = open_deals[0]
        close = as_date(top.get("close_date"))
        sentences.append(
            f"It has {len(open_deals)} open deal{'s' if len(open_deals) != 1 else ''} worth "
            f"{money(total)}; the largest is {_deal(ctx, top)}"
            + (f", closing {close.isoformat()}." if close else "."))
    else:
        sentences.append("There is no open deal.")
    won, lost = _won_lost(ctx)
    if won or lost:
        parts = []
        if won:
            parts.append(f"won {len(won)} deal{'s' if len(won) != 1 else ''} worth "
                         f"{money(sum(o.get('amount') or 0 for o in won))}")
        if lost:
            parts.append(f"lost {len(lost)}")
        sentences.append(f"In the last {ctx.rules.recent_closed_days} days it "
                         + " and ".join(parts) + ".")
    touch = ctx.last_touch
    if touch is not None:
        days = ctx.days_since_touch or 0
        ago = "today" if days == 0 else "yesterday" if days == 1 else f"{days} days ago"
        sentences.append(f"The last touch was {ago} "
                         f"({touch.isoformat()}); engagement is {_level(score)} ({score}/100) "
                         f"and recent communication reads {mood}.")
    else:
        sentences.append(f"No touch is recorded yet; engagement is {_level(score)} "
                         f"({score}/100).")
    overdue = [o for o in open_deals if (d := as_date(o.get("close_date"))) and d < ctx.today]
    if overdue:
        sentences.append(f"{len(overdue)} deal{'s are' if len(overdue) > 1 else ' is'} past "
                         "the close date and need attention.")
    return " ".join(sentences)


def analyse(ctx: BriefingContext) -> Answer:
    """The whole offline briefing; a pure function of the context (deterministic)."""
    mood, _ = sentiment(ctx)
    score = engagement_score(ctx)
    return Answer(summary=summary(ctx, mood, score), next_steps=next_steps(ctx, mood),
                  talking_points=talking_points(ctx), sentiment=mood,
                  engagement_score=score, risks=risks(ctx, mood, score))


def chunks(text: str, words: int = 4) -> list[str]:
    parts = text.split(" ")
    return [" ".join(parts[i:i + words]) + (" " if i + words < len(parts) else "")
            for i in range(0, len(parts), words)]


class OfflineProvider:
    name = "offline"
    model = "hotcrm-offline-1"

    async def stream(self, context: BriefingContext) -> AsyncIterator[ProviderEvent]:
        answer = await asyncio.to_thread(analyse, context)  # VADER is CPU work
        for piece in chunks(answer.summary):
            yield Delta(piece)
            await asyncio.sleep(0)
        yield Final(answer)
