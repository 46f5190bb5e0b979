"""The briefing's strict shape: what a provider must produce and what clients receive.

`Answer` is what a provider (model or offline engine) writes; `Briefing` adds the facts
only the server knows (`metadata`). A model's answer is parsed with `parse_answer`, which
repairs what can be repaired (code fences, trailing prose, too many items) and raises
`MalformedAnswer` for the rest, so nothing raw ever reaches a user.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Sentiment = Literal["positive", "neutral", "negative", "mixed"]
SENTIMENTS = ("positive", "neutral", "negative", "mixed")


class MalformedAnswer(ValueError):
    """The provider's answer cannot be read as a briefing, even after repair."""


class RecordRef(BaseModel):
    model_config = ConfigDict(extra="ignore")

    object: str
    id: str
    name: str = ""


class NextStep(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=3, max_length=400)
    record: RecordRef | None = None
    priority: Literal["high", "normal", "low"] = "normal"
    due_in_days: int = Field(default=3, ge=0, le=90)


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    summary: str = Field(min_length=1, max_length=3000)
    next_steps: list[NextStep] = Field(min_length=3, max_length=5)
    talking_points: list[str] = Field(min_length=3, max_length=5)
    sentiment: Sentiment
    engagement_score: int = Field(ge=0, le=100)
    risks: list[str] = Field(default_factory=list, max_length=8)

    @field_validator("talking_points", "risks")
    @classmethod
    def _no_blank_items(cls, items: list[str]) -> list[str]:
        return [item.strip()[:400] for item in items if item and item.strip()]


class Metadata(BaseModel):
    activities_analyzed: int = 0
    emails_analyzed: int = 0
    last_activity_date: str | None = None
    days_since_last_touch: int | None = None
    generated_at: str
    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    truncated: bool = False
    ungrounded: int = 0
    fallback_reason: str | None = None
    duration_ms: int = 0
    fingerprint: str = ""
    id: str | None = None
    stale: bool = False
    cached: bool = False
    feedback: Literal["up", "down"] | None = None


class Briefing(Answer):
    metadata: Metadata

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


def _first_object(text: str) -> str:
    """The first balanced {...} in `text` (models sometimes add prose around JSON)."""
    start = text.find("{")
    if start < 0:
        raise MalformedAnswer("no JSON object in the answer")
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    raise MalformedAnswer("the JSON object in the answer is cut off")


def _repair(data: dict[str, Any]) -> dict[str, Any]:
    """Fix what a model commonly gets slightly wrong without inventing content."""
    fixed = dict(data)
    steps = fixed.get("next_steps")
    if isinstance(steps, list):
        fixed["next_steps"] = [{"text": s} if isinstance(s, str) else s for s in steps][:5]
    for key in ("talking_points", "risks"):
        value = fixed.get(key)
        if isinstance(value, str):
            fixed[key] = [value]
        if isinstance(fixed.get(key), list):
            fixed[key] = [str(v) for v in fixed[key] if isinstance(v, str | int | float)]
    if isinstance(fixed.get("talking_points"), list):
        fixed["talking_points"] = fixed["talking_points"][:5]
    if isinstance(fixed.get("risks"), list):
        fixed["risks"] = fixed["risks"][:8]
    sentiment = fixed.get("sentiment")
    if isinstance(sentiment, str):
        fixed["sentiment"] = sentiment.strip().lower()
    score = fixed.get("engagement_score")
    if isinstance(score, int | float | str):
        with contextlib.suppress(ValueError):
            fixed["engagement_score"] = max(0, min(100, round(float(score))))
    return fixed


def parse_answer(text: str, *, summary: str | None = None) -> Answer:
    """Read a provider's JSON answer; `summary` (streamed separately) fills a missing one."""
    body = _FENCE.sub("", text.strip())
    try:
        data = json.loads(_first_object(body))
    except json.JSONDecodeError as exc:
        raise MalformedAnswer(f"the answer is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise MalformedAnswer("the answer is not a JSON object")
    if summary and not data.get("summary"):
        data["summary"] = summary
    try:
        return Answer.model_validate(_repair(data))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in exc.errors()[:5])
        raise MalformedAnswer(f"the answer does not match the briefing schema ({problems})"
                              ) from None
