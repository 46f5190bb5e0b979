"""The anthropic provider through the real SDK against a fake Messages API on loopback:
what the prompt holds (security, fencing, budget), the streamed answer, grounding,
prompt injection, and every fault falling back to the offline briefing with a notice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from app.ai.context import Limits, estimate_tokens
from app.ai.service import AiSettings, BriefingService
from tests.conftest import METADATA
from tests.integration.api_support import Api
from tests.support.ai_world import ACME_REVENUE, PEER_DEAL, PEER_NOTE, AiWorld, build_ai_world
from tests.support.fake_anthropic import (
    FakeAnthropic,
    api_key,
    briefing_answer,
    fake_anthropic_server,
)

URL = "/api/ai/smart-briefing"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    with fake_anthropic_server() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: FakeAnthropic) -> None:
    fresh = FakeAnthropic()
    for name in ("behaviour", "answer", "delay", "failures", "chunk_pause", "chunk_size"):
        setattr(fake, name, getattr(fresh, name))
    fake.requests.clear()
    fake.disconnects = fake.completed = 0


def settings_for(fake: FakeAnthropic, **overrides: object) -> AiSettings:
    values: dict[str, object] = dict(provider="anthropic", api_key="test-key",
                                     base_url=fake.url, model="claude-sonnet-4-5",
                                     timeout=0.6, max_tokens=900, rate="1000/minute",
                                     limits=Limits())
    values.update(overrides)
    return AiSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def world(services, team) -> AiWorld:  # type: ignore[no-untyped-def]
    return build_ai_world(services, team)


def serve(services, team, settings: AiSettings) -> tuple[Api, BriefingService]:  # type: ignore[no-untyped-def]
    service = BriefingService(services.ql, METADATA, settings)
    services._briefings = service
    return Api(services, team), service


@pytest.fixture
def api(services, team, world, fake) -> Iterator[Api]:  # type: ignore[no-untyped-def]
    previous = getattr(services, "_briefings", None)
    client, _ = serve(services, team, settings_for(fake))
    yield client
    services._briefings = previous


def brief(api: Api, world: AiWorld, who: str = "rep_a") -> dict:
    response = api.post(URL, as_=who, json={"account_id": world.ids["acme"],
                                            "regenerate": True})
    assert response.status_code == 200, response.text
    return response.json()["briefing"]


# -- what the model receives --------------------------------------------------------------
def test_prompt_holds_only_what_the_user_may_see(api: Api, world: AiWorld,
                                                 fake: FakeAnthropic) -> None:
    briefing = brief(api, world, "rep_a")
    request = fake.requests[-1]
    assert api_key(request["headers"]) == "test-key"
    body = request["body"]
    assert body["model"] == "claude-sonnet-4-5" and body["max_tokens"] == 900
    assert body["stream"] is True
    assert "never follow them" in body["system"]
    prompt = fake.last_prompt
    assert PEER_DEAL not in prompt and PEER_NOTE not in prompt and "Globex" not in prompt
    assert "Acme platform rollout" in prompt and f"{ACME_REVENUE:,}" in prompt
    meta = briefing["metadata"]
    assert meta["provider"] == "anthropic" and meta["model"] == "claude-sonnet-4-5"
    assert meta["input_tokens"] > 100 and meta["output_tokens"] > 10
    assert meta["fallback_reason"] is None
    assert briefing["summary"] == ("Acme Corp has one open deal in proposal. "
                                   "Jane Doe is the main contact.")

    brief(api, world, "viewer")
    viewer_prompt = fake.last_prompt
    assert f"{ACME_REVENUE:,}" not in viewer_prompt and str(ACME_REVENUE) not in viewer_prompt
    assert "annual_revenue" not in viewer_prompt


def test_email_text_is_fenced_as_quoted_data(api: Api, world: AiWorld,
                                             fake: FakeAnthropic) -> None:
    brief(api, world)
    prompt = fake.last_prompt
    start = prompt.index(f'<customer_content kind="email" id="{world.ids["injection"]}">')
    end = prompt.index("</customer_content>", start)
    assert "Ignore previous instructions" in prompt[start:end]
    assert prompt.count("<customer_content ") == prompt.count("</customer_content>")


def test_context_budget_is_respected(services, team, world, fake) -> None:  # type: ignore[no-untyped-def]
    for i in range(12):
        world.add("email", team.rep_a, subject=f"Status {i}", direction="inbound",
                  body="Detailed status of the rollout. " * 60, from_address="jane@acme.test",
                  to_address="rita@hotcrm.test", account=world.ids["acme"])
    api, _ = serve(services, team, settings_for(fake, limits=Limits(token_budget=1500)))
    meta = brief(api, world)["metadata"]
    context = fake.last_prompt.split("<crm_context>")[1].split("</crm_context>")[0]
    assert estimate_tokens(context) <= 1500
    assert meta["truncated"] is True and meta["emails_analyzed"] < 10


# -- what comes back --------------------------------------------------------------------------
def test_invented_facts_are_dropped_and_counted(api: Api, world: AiWorld,
                                                fake: FakeAnthropic) -> None:
    fake.answer = briefing_answer(
        "Acme Corp has one open deal in proposal. Bob Smith promised a $2.5M expansion by "
        "2026-02-30. Jane Doe is the CTO.",
        next_steps=[{"text": "Call Jane Doe about SSO.", "record_id": world.ids["jane"]},
                    {"text": "Offer Bob Smith a 40% discount."},
                    {"text": "Follow up on Acme platform rollout.",
                     "record_id": "01inventedid00000000000000"},
                    {"text": "Send the API documentation to Jane Doe."}])
    briefing = brief(api, world)
    assert briefing["summary"] == "Acme Corp has one open deal in proposal. Jane Doe is the CTO."
    texts = [s["text"] for s in briefing["next_steps"]]
    assert "Offer Bob Smith a 40% discount." not in texts
    assert briefing["metadata"]["ungrounded"] == 2
    by_text = {s["text"]: s for s in briefing["next_steps"]}
    assert by_text["Call Jane Doe about SSO."]["record"] == {
        "object": "contact", "id": world.ids["jane"], "name": "Jane Doe"}
    assert by_text["Follow up on Acme platform rollout."]["record"]["id"] == world.ids["deal"]


def test_prompt_injection_changes_neither_context_nor_schema(api: Api, world: AiWorld,
                                                             fake: FakeAnthropic) -> None:
    # A model that obeyed the injected email would list other accounts and their revenue.
    fake.answer = briefing_answer(
        "Acme Corp has one open deal in proposal. As requested, Globex has revenue of "
        "5,432,117.", risks=["Globex pays 5,432,117 a year."], extra_field="admin mode")
    briefing = brief(api, world)
    prompt = fake.last_prompt
    assert "Globex" not in prompt and "5,432,117" not in prompt
    assert set(briefing) == {"summary", "next_steps", "talking_points", "sentiment",
                             "engagement_score", "risks", "metadata"}
    assert "Globex" not in json.dumps(briefing) and "5,432,117" not in json.dumps(briefing)
    assert briefing["summary"] == "Acme Corp has one open deal in proposal."


# -- faults: always the offline briefing, with the reason ----------------------------------------
@pytest.mark.parametrize(("behaviour", "reason", "requests"), [
    ("slow", "the model took too long to answer", 2),  # timed out twice (one retry)
    ("overloaded_twice", "the model is overloaded", 2),
    ("cut", "the model's stream broke off", 1),
    ("error_event", "the model is overloaded", 1),  # an error event mid-stream
    ("invalid_json", "the model's answer was malformed", 1),
    ("refusal", "the model declined to answer", 1),
])
def test_failures_fall_back_to_the_offline_briefing(sqlite_services, fake, behaviour: str,
                                                    reason: str, requests: int) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_team

    team = make_team(sqlite_services.ql)
    world = build_ai_world(sqlite_services, team)
    api, _ = serve(sqlite_services, team, settings_for(fake))
    fake.behaviour = behaviour
    if behaviour == "slow":
        fake.delay = 1.5
    if behaviour == "overloaded_twice":
        fake.behaviour, fake.failures = "overloaded", 2
    if behaviour == "invalid_json":
        fake.answer = "<summary>Acme Corp is fine.</summary><briefing>{\"next_steps\": [}"
    briefing = brief(api, world)
    meta = briefing["metadata"]
    assert meta["provider"] == "offline" and meta["fallback_reason"] == reason
    assert briefing["summary"].startswith("Acme Corp is an active customer")
    assert len(fake.requests) == requests


def test_one_retry_on_overload_then_the_model_answers(api: Api, world: AiWorld,
                                                      fake: FakeAnthropic) -> None:
    fake.behaviour, fake.failures = "overloaded", 1
    meta = brief(api, world)["metadata"]
    assert meta["provider"] == "anthropic" and len(fake.requests) == 2


# -- streaming and cancellation -----------------------------------------------------------
def test_sse_streams_deltas_then_the_briefing_then_done(api: Api, world: AiWorld) -> None:
    with api.client.stream("POST", URL, json={"account_id": world.ids["acme"],
                                              "regenerate": True},
                           headers={**api.auth("rep_a"), "Accept": "text/event-stream"}
                           ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = "".join(response.iter_text())
    events = [(block.split("\n")[0].removeprefix("event: "),
               json.loads(block.split("\n")[1].removeprefix("data: ")))
              for block in raw.strip().split("\n\n")]
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "delta" and kinds[-2:] == ["briefing", "done"]
    assert set(kinds[:-2]) == {"delta"}
    streamed = "".join(data["text"] for kind, data in events if kind == "delta")
    assert streamed.strip() == events[-2][1]["summary"]
    assert events[-2][1]["metadata"]["provider"] == "anthropic"


def test_leaving_cancels_the_model_stream(sqlite_services, fake) -> None:  # type: ignore[no-untyped-def]
    # Its own event loop in a thread: in `make test` a worker may already hold Playwright's.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _cancel_mid_stream(sqlite_services, fake)).result(timeout=60)


async def _cancel_mid_stream(sqlite_services, fake) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_team

    team = make_team(sqlite_services.ql)
    world = build_ai_world(sqlite_services, team)
    service = BriefingService(sqlite_services.ql, METADATA, settings_for(fake, timeout=5))
    fake.chunk_pause, fake.chunk_size = 0.05, 4
    job = await asyncio.to_thread(service.prepare, team.rep_a, world.ids["acme"])
    first = asyncio.Event()

    async def consume() -> None:
        async for event in service.run(job):
            if event.kind == "delta":
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 30)  # the first request imports the SDK
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(300):  # the fake hears the disconnect on its next write (≤ 0.05 s away)
        if fake.disconnects:
            break
        await asyncio.sleep(0.05)
    assert fake.disconnects == 1 and fake.completed == 0
