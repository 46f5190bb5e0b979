"""Schema parsing with repair, and the grounding check on model-like answers."""

from __future__ import annotations

import json

import pytest

from app.ai.grounding import Facts, ground, ungrounded_facts
from app.ai.providers.offline import analyse
from app.ai.schema import Answer, MalformedAnswer, parse_answer
from tests.support.ai_contexts import activity, contact, email, make_context, opportunity

VALID = {"summary": "Acme Corp is doing fine.",
         "next_steps": [{"text": "Call Jane Doe."}, {"text": "Send the proposal."},
                        {"text": "Book a review."}],
         "talking_points": ["One.", "Two.", "Three."], "sentiment": "positive",
         "engagement_score": 70, "risks": []}


def test_parse_accepts_fenced_json_with_prose_and_repairs_small_slips() -> None:
    sloppy = dict(VALID, next_steps=["Call Jane Doe.", "Send the proposal.", "Book a review.",
                                     "Four.", "Five.", "Six."],
                  sentiment="Positive", engagement_score="71.6", risks="Budget freeze.")
    text = "Here is the briefing:\n```json\n" + json.dumps(sloppy) + "\n```\nHope it helps!"
    answer = parse_answer(text)
    assert [s.text for s in answer.next_steps][:1] == ["Call Jane Doe."]
    assert len(answer.next_steps) == 5
    assert answer.sentiment == "positive" and answer.engagement_score == 72
    assert answer.risks == ["Budget freeze."]


@pytest.mark.parametrize("text", [
    "not json at all", '{"summary": "cut', "[1, 2, 3]",
    json.dumps(dict(VALID, sentiment="ecstatic")),
    json.dumps(dict(VALID, next_steps=[{"text": "Only one."}])),
    json.dumps({k: v for k, v in VALID.items() if k != "engagement_score"}),
])
def test_parse_refuses_what_cannot_be_repaired(text: str) -> None:
    with pytest.raises(MalformedAnswer):
        parse_answer(text)


def test_summary_streamed_separately_fills_a_missing_summary() -> None:
    data = {k: v for k, v in VALID.items() if k != "summary"}
    assert parse_answer(json.dumps(data), summary="Streamed.").summary == "Streamed."


def world():  # type: ignore[no-untyped-def]
    deal = opportunity("Acme expansion", amount=50_000, close_in=16)  # 2026-07-01
    jane = contact("Jane", "Doe")
    return make_context(opportunities=[deal], contacts=[jane],
                        activities=[activity(days_ago=4)],
                        emails=[email("Budget", "We have 120k approved for Q3.")]), deal, jane


def test_facts_in_the_context_are_grounded_in_any_usual_spelling() -> None:
    context, _, _ = world()
    facts = Facts.of(context)
    for statement in ["Acme expansion is worth $50,000.", "The deal is worth 50k.",
                      "Jane Doe said 120k is approved.", "It closes on 2026-07-01.",
                      "It closes July 1, 2026.", "Probability is 60%.",
                      "Call Jane Doe (VP Sales) this week."]:
        assert ungrounded_facts(statement, facts) == [], statement


def test_invented_amount_name_and_date_are_dropped_and_counted() -> None:
    context, deal, jane = world()
    model = Answer.model_validate({
        "summary": "Acme Corp has one open deal. It is worth $2.5M according to Bob Smith. "
                   "Jane Doe is the main contact.",
        "next_steps": [
            {"text": "Call Jane Doe about the proposal.", "record": {"object": "contact",
                                                                     "id": jane["id"]}},
            {"text": "Offer a 35% discount before 2026-09-30.", "record": None},
            {"text": "Confirm the Acme expansion timeline.",
             "record": {"object": "opportunity", "id": "invented-id"}},
            {"text": "Meet Peter Parker from Oscorp."}],
        "talking_points": ["Integration depth matters.", "Ask about the roadmap.",
                           "Mention the 99% uptime SLA."],
        "sentiment": "positive", "engagement_score": 80,
        "risks": ["Competitor Initech is pushing $40k cheaper."]})
    grounded, report = ground(model, context, analyse(context))
    assert "2.5M" not in grounded.summary and "Bob Smith" not in grounded.summary
    assert grounded.summary == "Acme Corp has one open deal. Jane Doe is the main contact."
    step_texts = [s.text for s in grounded.next_steps]
    assert "Call Jane Doe about the proposal." in step_texts
    assert not any("35%" in s or "Peter Parker" in s for s in step_texts)
    assert 3 <= len(grounded.next_steps) <= 5  # refilled from the offline engine
    relinked = next(s for s in grounded.next_steps if "timeline" in s.text)
    assert relinked.record is not None and relinked.record.id == deal["id"]
    assert all("99%" not in p for p in grounded.talking_points)
    assert grounded.risks == []
    assert len(report.dropped) == 5  # one summary sentence, two steps, a point, a risk


def test_the_offline_answer_is_grounded_by_construction() -> None:
    context, _, _ = world()
    answer = analyse(context)
    grounded, report = ground(answer, context, answer)
    assert report.dropped == [] and grounded == answer
