"""Grounding check: every amount, date, percentage and name in a briefing must appear in
the context it was built from. Statements with an invented fact are dropped and counted;
next steps are linked to the record they are about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from app.ai.context import BriefingContext
from app.ai.schema import Answer, NextStep, RecordRef

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
MONTH_DATE = re.compile(rf"\b({_MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b"
                        rf"|\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})(?:,?\s+(\d{{4}}))?\b")
AMOUNT = re.compile(
    r"(?P<cur>[$€£]\s?)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<suf>k|K|m|M|bn|million|billion|thousand)\b)?(?P<pct>\s?%)?")
_WORD = r"[A-Z][\w'&-]*(?:\.\w+)*"
NAME = re.compile(rf"\b{_WORD}(?:\s+(?:{_WORD}|of|and|&|de|van|von)(?=\s+[A-Z]))*"
                  rf"(?:\s+{_WORD})?")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")
SUFFIX = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}
# Capitalised words that are not names: calendar words, titles and business acronyms.
COMMON = {m.capitalize() for m in MONTHS} | {m[:3].capitalize() for m in MONTHS} | {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "I",
    "CEO", "CFO", "CTO", "CIO", "COO", "CMO", "VP", "SVP", "EVP", "QBR", "ROI", "SSO", "API",
    "APIs", "SLA", "RFP", "POC", "MSA", "NDA", "EMEA", "APAC", "Q1", "Q2", "Q3", "Q4",
    "CRM", "HotCRM", "IT", "OK", "TCO", "KPI", "KPIs", "AI", "US", "EU", "UK"}


@dataclass
class Facts:
    text: str  # the rendered context, lower-cased
    numbers: list[float] = field(default_factory=list)
    dates: set[date] = field(default_factory=set)

    @classmethod
    def of(cls, context: BriefingContext, rendered: str | None = None) -> Facts:
        rendered = rendered if rendered is not None else context.render()
        facts = cls(rendered.lower())
        for match in AMOUNT.finditer(rendered):
            facts.numbers.append(_value(match))
        open_amounts = [o.get("amount") or 0 for o in context.open_opportunities]
        won = [o.get("amount") or 0 for o in context.opportunities if o.get("is_won")]
        facts.numbers += [sum(open_amounts), sum(won),
                          sum(o.get("amount") or 0 for o in context.opportunities),
                          sum((o.get("amount") or 0) * (o.get("probability") or 0) / 100
                              for o in context.open_opportunities)]
        facts.dates = {date(int(y), int(m), int(d)) for y, m, d in ISO_DATE.findall(rendered)
                       if _valid(int(y), int(m), int(d))}
        facts.dates.add(context.today)
        return facts

    def has_number(self, value: float, *, rounded: bool) -> bool:
        tolerance = 0.05 if rounded else 0.0
        return any(abs(value - n) <= max(1.0, tolerance * abs(n)) for n in self.numbers)

    def has_date(self, day: int, month: int, year: int | None) -> bool:
        return any(d.day == day and d.month == month and (year is None or d.year == year)
                   for d in self.dates)

    def has_name(self, name: str) -> bool:
        return name.lower() in self.text


def _valid(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True


def _value(match: re.Match[str]) -> float:
    number = float(match.group("num").replace(",", ""))
    suffix = (match.group("suf") or "").lower()
    return number * SUFFIX.get(suffix, 1)


def _month(text: str) -> int:
    return next(i + 1 for i, m in enumerate(MONTHS) if text.lower().startswith(m[:3]))


def ungrounded_facts(statement: str, facts: Facts) -> list[str]:
    """The amounts, dates, percentages and names in `statement` the context lacks."""
    problems: list[str] = []
    masked = statement
    for y, m, d in ISO_DATE.findall(statement):
        if not _valid(int(y), int(m), int(d)) or \
                not facts.has_date(int(d), int(m), int(y)):
            problems.append(f"{y}-{m}-{d}")
    masked = ISO_DATE.sub(" ", masked)
    for match in MONTH_DATE.finditer(masked):
        mon, day, year = (match.group(1), match.group(2), match.group(3)) if match.group(1) \
            else (match.group(5), match.group(4), match.group(6))
        if not facts.has_date(int(day), _month(mon), int(year) if year else None):
            problems.append(match.group(0))
    masked = MONTH_DATE.sub(" ", masked)
    for match in AMOUNT.finditer(masked):
        significant = match.group("cur") or match.group("suf") or match.group("pct") \
            or "," in match.group("num")
        if not significant:
            continue  # plain small numbers: counts of days or deals, scores
        value = _value(match)
        rounded = bool(match.group("suf")) or "." in match.group("num")
        if not facts.has_number(value, rounded=rounded):
            problems.append(match.group(0).strip())
    for match in NAME.finditer(masked):
        words = [w for w in match.group(0).split() if w not in COMMON]
        sentence_start = match.start() == 0 or masked[:match.start()].rstrip()[-1:] in ".!?:;“\""
        while words and (facts.has_name(" ".join(words)) is False):
            if sentence_start or (len(words) > 1 and words[0] in ("The", "A", "An", "This")):
                words = words[1:]  # "Call Jane Doe": the first word is not part of a name
                sentence_start = False
                continue
            problems.append(" ".join(words))
            break
    return problems


@dataclass
class GroundingReport:
    dropped: list[str] = field(default_factory=list)


def _sentences(text: str) -> list[str]:
    return [s for s in SENTENCE.split(text.strip()) if s.strip()]


def link_step(step: NextStep, context: BriefingContext,
              ids: dict[str, tuple[str, str]]) -> NextStep:
    """Keep a link only to a record of the context; otherwise find the record named."""
    if step.record is not None and step.record.id in ids:
        obj, name = ids[step.record.id]
        return step.model_copy(update={"record": RecordRef(object=obj, id=step.record.id,
                                                           name=name)})
    text = step.text.lower()
    for record_id, (obj, name) in ids.items():
        if obj in ("opportunity", "contact", "contract") and len(name) > 2 \
                and name.lower() in text:
            return step.model_copy(update={"record": RecordRef(object=obj, id=record_id,
                                                               name=name)})
    return step.model_copy(update={"record": None})


def ground(answer: Answer, context: BriefingContext, fallback: Answer,
           rendered: str | None = None) -> tuple[Answer, GroundingReport]:
    """Drop every statement with an invented fact; refill lists below their minimum from
    `fallback` (the offline answer, grounded by construction)."""
    facts = Facts.of(context, rendered)
    report = GroundingReport()
    ids = context.record_ids()
    kept_sentences = []
    for sentence in _sentences(answer.summary):
        if ungrounded_facts(sentence, facts):
            report.dropped.append(sentence)
        else:
            kept_sentences.append(sentence)
    summary = " ".join(kept_sentences) or fallback.summary

    def keep(items: list[str]) -> list[str]:
        kept = []
        for item in items:
            if ungrounded_facts(item, facts):
                report.dropped.append(item)
            else:
                kept.append(item)
        return kept

    steps = []
    for step in answer.next_steps:
        if ungrounded_facts(step.text, facts):
            report.dropped.append(step.text)
        else:
            steps.append(link_step(step, context, ids))
    for extra in fallback.next_steps:
        if len(steps) >= 3:
            break
        if extra.text not in {s.text for s in steps}:
            steps.append(extra)
    points = keep(answer.talking_points)
    points += [p for p in fallback.talking_points if p not in points][:max(0, 3 - len(points))]
    grounded = answer.model_copy(update={
        "summary": summary, "next_steps": steps[:5], "talking_points": points[:5],
        "risks": keep(answer.risks)})
    return Answer.model_validate(grounded.model_dump()), report
