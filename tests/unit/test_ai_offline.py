"""The offline briefing engine: one test per rule on hand-made contexts, then properties
over generated contexts (valid schema, score in range, deterministic, fully grounded)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ai.grounding import Facts, ungrounded_facts
from app.ai.providers.offline import analyse, engagement_score, sentiment
from app.ai.schema import Answer
from tests.support.ai_contexts import (
    TODAY,
    activity,
    contact,
    contract,
    email,
    make_context,
    opportunity,
)


def texts(answer: Answer) -> list[str]:
    return [s.text for s in answer.next_steps]


def test_deal_past_its_close_date_comes_first_and_links_the_deal() -> None:
    late = opportunity("Acme rollout", close_in=-5)
    answer = analyse(make_context(opportunities=[late, opportunity("Other")],
                                  contacts=[contact()], activities=[activity(days_ago=1)]))
    first = answer.next_steps[0]
    assert "Update the close date" in first.text and "Acme rollout" in first.text
    assert (TODAY - timedelta(days=5)).isoformat() in first.text
    assert first.record is not None and first.record.id == late["id"]
    assert first.priority == "high"
    assert any("past the close date" in r for r in answer.risks)


def test_no_touch_in_n_days_asks_to_reach_out_to_the_senior_contact() -> None:
    ceo = contact("Carla", "Chief", level="c_level", title="CEO")
    quiet = make_context(contacts=[contact(), ceo], activities=[activity(days_ago=20)])
    quiet.contacts.sort(key=lambda c: c["level"] != "c_level")
    steps = texts(analyse(quiet))
    assert any(s.startswith("Reach out to Carla Chief (CEO): no touch in 20 days") for s in steps)
    busy = make_context(contacts=[contact()], activities=[activity(days_ago=3)])
    assert not any(s.startswith("Reach out") for s in texts(analyse(busy)))


def test_negative_last_inbound_email_asks_for_a_reply() -> None:
    angry = email("Very disappointed with the delays",
                  "We are frustrated and unhappy: the rollout is late again and this is "
                  "unacceptable. We are considering cancelling.", days_ago=1)
    answer = analyse(make_context(contacts=[contact()], emails=[angry],
                                  activities=[activity(days_ago=1)]))
    step = next(s for s in answer.next_steps if s.text.startswith("Reply to the concerns"))
    assert "Very disappointed with the delays" in step.text
    assert step.record is not None and step.record.object == "email"
    assert answer.sentiment == "negative"
    happy = email("Great demo", "Thank you, the team loved it and we are excited!")
    calm = analyse(make_context(contacts=[contact()], emails=[happy],
                                activities=[activity(days_ago=1)]))
    assert not any(s.startswith("Reply to the concerns") for s in texts(calm))
    assert calm.sentiment == "positive"


def test_stage_stuck_longer_than_its_median() -> None:
    deal = opportunity("Slow deal", stage="negotiation")
    stuck = make_context(opportunities=[deal], contacts=[contact()],
                         activities=[activity(days_ago=1)],
                         stage_days={deal["id"]: 45}, stage_medians={"negotiation": 12})
    step = next(s for s in analyse(stuck).next_steps if s.text.startswith("Unblock"))
    assert "45 days in this stage; typical is 12" in step.text
    fresh = make_context(opportunities=[deal], contacts=[contact()],
                         activities=[activity(days_ago=1)],
                         stage_days={deal["id"]: 15}, stage_medians={"negotiation": 12})
    assert not any(s.startswith("Unblock") for s in texts(analyse(fresh)))


def test_contract_up_for_renewal() -> None:
    ending = contract("CT-20250101-0007", ends_in=20)
    answer = analyse(make_context(contracts=[ending], contacts=[contact()],
                                  activities=[activity(days_ago=1)]))
    step = next(s for s in answer.next_steps if "renewal" in s.text)
    assert "CT-20250101-0007" in step.text and step.priority == "high"
    assert any("without auto-renewal" in r for r in answer.risks)
    later = analyse(make_context(contracts=[contract(ends_in=200)], contacts=[contact()],
                                 activities=[activity(days_ago=1)]))
    assert not any("renewal" in s for s in texts(later))


def test_overdue_task() -> None:
    task = activity("Send pricing", type="task", status="planned", days_ago=0,
                    due_date=TODAY - timedelta(days=3))
    steps = texts(analyse(make_context(activities=[task, activity(days_ago=1)],
                                       contacts=[contact()])))
    assert any("overdue task “Send pricing”" in s for s in steps)


def test_engagement_follows_recency_frequency_and_direction() -> None:
    none = engagement_score(make_context())
    old = engagement_score(make_context(activities=[activity(days_ago=80)]))
    recent = engagement_score(make_context(activities=[activity(days_ago=1)]))
    busy = engagement_score(make_context(
        activities=[activity(days_ago=d) for d in range(1, 12)],
        emails=[email(days_ago=d, direction=("inbound" if d % 2 else "outbound"))
                for d in range(1, 6)]))
    assert none == 0 < old < recent < busy <= 100


def test_sentiment_mixed_when_recent_signals_disagree() -> None:
    mood, _ = sentiment(make_context(emails=[
        email("Love the product", "Great results, we are thrilled and very happy!", days_ago=1),
        email("Terrible support", "Awful experience, we are angry and upset about it.",
              days_ago=2)]))
    assert mood == "mixed"


def test_talking_points_come_from_the_pipeline_and_industry_metadata() -> None:
    answer = analyse(make_context(opportunities=[opportunity("Big", amount=200_000),
                                                 opportunity("Small", amount=10_000)],
                                  industry_points=2))
    assert answer.talking_points[0].startswith("Open pipeline of 210,000 across 2 deals")
    assert "Tech point 0." in answer.talking_points and "Tech point 1." in answer.talking_points


def test_summary_states_the_facts() -> None:
    answer = analyse(make_context(
        opportunities=[opportunity("Acme rollout", amount=80_000, stage="negotiation")],
        contacts=[contact()], activities=[activity(days_ago=4)]))
    assert answer.summary.startswith("Acme Corp is an active customer in technology, owned "
                                     "by Rita Rep.") or "owned by Rita Rep" in answer.summary
    assert "1 open deal worth 80,000" in answer.summary
    assert "The last touch was 4 days ago" in answer.summary


# -- properties ---------------------------------------------------------------------------
names = st.text(alphabet=st.characters(whitelist_categories=("L", "N", "Zs", "P")),
                min_size=1, max_size=40).filter(lambda s: s.strip())
stages = st.sampled_from(["prospecting", "qualification", "needs_analysis", "proposal",
                          "negotiation", "closed_won", "closed_lost"])


@st.composite
def contexts(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    opps = [opportunity(draw(names), amount=draw(st.one_of(st.none(), st.floats(0, 1e9))),
                        stage=draw(stages), close_in=draw(st.integers(-400, 400)),
                        next_step=draw(st.one_of(st.none(), names)))
            for _ in range(draw(st.integers(0, 6)))]
    people = [contact(draw(names), draw(names), is_active=draw(st.booleans()))
              for _ in range(draw(st.integers(0, 4)))]
    acts = [activity(draw(names), days_ago=draw(st.integers(-30, 400)),
                     type=draw(st.sampled_from(["call", "meeting", "task", "note", "email"])),
                     status=draw(st.sampled_from(["planned", "completed", "cancelled"])),
                     description=draw(st.one_of(st.none(), st.text(max_size=200))))
            for _ in range(draw(st.integers(0, 12)))]
    mails = [email(draw(names), draw(st.text(max_size=300)), days_ago=draw(st.integers(0, 400)),
                   direction=draw(st.sampled_from(["inbound", "outbound"])))
             for _ in range(draw(st.integers(0, 8)))]
    deals = {o["id"]: draw(st.integers(0, 300)) for o in opps if not o["is_closed"]}
    return make_context(opportunities=opps, contacts=people, activities=acts, emails=mails,
                        contracts=[contract(ends_in=draw(st.integers(-50, 400)))]
                        if draw(st.booleans()) else [],
                        account={"name": draw(names)}, industry_points=draw(st.integers(0, 6)),
                        stage_days=deals, stage_medians={"proposal": draw(st.integers(0, 60))})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contexts())
def test_any_context_gives_a_valid_deterministic_grounded_briefing(context) -> None:  # type: ignore[no-untyped-def]
    answer = analyse(context)
    Answer.model_validate(answer.model_dump())  # the strict schema, including 3-5 items
    assert 3 <= len(answer.next_steps) <= 5 and 3 <= len(answer.talking_points) <= 5
    assert 0 <= answer.engagement_score <= 100
    assert analyse(context) == answer
    ids = context.record_ids()
    for step in answer.next_steps:
        assert step.record is None or step.record.id in ids
    facts = Facts.of(context)
    for sentence in [answer.summary, *texts(answer)]:
        assert not ungrounded_facts(sentence, facts), sentence
