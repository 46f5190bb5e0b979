"""`POST /api/ai/smart-briefing` (JSON) and feedback, with the offline provider: shape,
stored briefings and staleness, regenerate, 404/422/401, the per-user rate limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.ai.context import Limits
from app.ai.service import AiSettings, BriefingService
from app.core import Services
from tests.conftest import METADATA
from tests.integration.api_support import Api, assert_envelope
from tests.support.ai_world import PEER_DEAL, AiWorld, build_ai_world

URL = "/api/ai/smart-briefing"


def use_briefings(services: Services, settings: AiSettings) -> Iterator[BriefingService]:
    """Serve briefings with `settings` for one test (the service is per process)."""
    previous = getattr(services, "_briefings", None)
    service = BriefingService(services.ql, METADATA, settings)
    services._briefings = service  # type: ignore[attr-defined]
    yield service
    services._briefings = previous  # type: ignore[attr-defined]


@pytest.fixture
def world(services, team) -> AiWorld:  # type: ignore[no-untyped-def]
    return build_ai_world(services, team)


@pytest.fixture
def api(services, team, world) -> Iterator[Api]:  # type: ignore[no-untyped-def]
    yield from ((Api(services, team)) for _ in use_briefings(
        services, AiSettings(provider="offline", rate="5/minute", limits=Limits())))


def test_briefing_has_the_strict_shape_and_only_visible_data(api: Api, world: AiWorld) -> None:
    response = api.post(URL, as_="rep_a", json={"account_id": world.ids["acme"]})
    assert response.status_code == 200, response.text
    briefing = response.json()["briefing"]
    assert set(briefing) == {"summary", "next_steps", "talking_points", "sentiment",
                             "engagement_score", "risks", "metadata"}
    assert 3 <= len(briefing["next_steps"]) <= 5 and 3 <= len(briefing["talking_points"]) <= 5
    assert briefing["sentiment"] in ("positive", "neutral", "negative", "mixed")
    assert 0 <= briefing["engagement_score"] <= 100
    meta = briefing["metadata"]
    assert meta["provider"] == "offline" and meta["activities_analyzed"] == 1
    assert meta["emails_analyzed"] == 1 and meta["truncated"] is False
    assert meta["last_activity_date"] and meta["generated_at"].endswith("Z")
    assert PEER_DEAL not in response.text and "990,000" not in response.text
    assert "Acme platform rollout" in response.text
    for step in briefing["next_steps"]:
        assert step["record"] is None or step["record"]["id"] != world.ids["peer_deal"]


def test_stored_briefing_comes_back_until_the_data_changes(api: Api, world: AiWorld) -> None:
    body = {"account_id": world.ids["acme"]}
    first = api.post(URL, as_="rep_a", json=body).json()["briefing"]["metadata"]
    again = api.post(URL, as_="rep_a", json=body).json()["briefing"]["metadata"]
    assert again["id"] == first["id"] and again["cached"] is True and again["stale"] is False
    other_user = api.post(URL, as_="manager", json=body).json()["briefing"]["metadata"]
    assert other_user["id"] != first["id"]  # built from what the manager sees
    api.post("/api/objects/activity", as_="rep_a", json={
        "subject": "Pricing call", "type": "call", "status": "completed",
        "account": world.ids["acme"]})
    changed = api.post(URL, as_="rep_a", json=body).json()["briefing"]["metadata"]
    assert changed["id"] != first["id"] and changed["cached"] is False
    assert changed["activities_analyzed"] == 2
    regenerated = api.post(URL, as_="rep_a", json={**body, "regenerate": True}).json()
    assert regenerated["briefing"]["metadata"]["id"] != changed["id"]


def test_errors_use_the_envelope(api: Api, world: AiWorld) -> None:
    missing = api.post(URL, as_="rep_a", json={"account_id": "01nosuchaccount0000000000"})
    assert missing.status_code == 404 and assert_envelope(missing)["code"] == "not_found"
    bad = api.post(URL, as_="rep_a", json={"account_id": 7, "regenerate": "yes", "x": 1})
    assert bad.status_code == 422
    fields = {d["field"] for d in assert_envelope(bad)["details"]}
    assert fields == {"account_id", "regenerate", "x"}
    assert api.post(URL, as_="rep_a", content=b"{oops").status_code == 400
    assert api.post(URL, json={"account_id": world.ids["acme"]}).status_code == 401


def test_rate_limit_per_user_with_retry_after(api: Api, world: AiWorld) -> None:
    body = {"account_id": world.ids["acme"], "regenerate": True}
    for _ in range(5):
        assert api.post(URL, as_="rep_a", json=body).status_code == 200
    limited = api.post(URL, as_="rep_a", json=body)
    assert limited.status_code == 429
    assert assert_envelope(limited)["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # a stored fresh briefing costs nothing and is still served; other users are unaffected
    assert api.post(URL, as_="rep_a", json={"account_id": world.ids["acme"]}
                    ).status_code == 200
    assert api.post(URL, as_="rep_b", json=body).status_code == 200


def test_feedback_is_stored_for_the_owner_only(api: Api, world: AiWorld) -> None:
    body = {"account_id": world.ids["acme"]}
    briefing_id = api.post(URL, as_="rep_a", json=body).json()["briefing"]["metadata"]["id"]
    url = f"/api/ai/briefings/{briefing_id}/feedback"
    assert api.post(url, as_="rep_a", json={"value": "down"}).status_code == 204
    assert api.post(URL, as_="rep_a", json=body).json()["briefing"]["metadata"][
        "feedback"] == "down"
    assert api.post(url, as_="rep_b", json={"value": "up"}).status_code == 404
    assert api.post(url, as_="rep_a", json={"value": "meh"}).status_code == 422


def test_rate_limit_is_shared_by_processes_through_redis(sqlite_services) -> None:  # type: ignore[no-untyped-def]
    import os

    from app.ai.service import RateLimited
    from tests.conftest import _missing, make_team

    redis_url = os.environ.get("HOTCRM_TEST_REDIS_URL")
    if not redis_url:
        _missing("Redis (HOTCRM_TEST_REDIS_URL)")
    team = make_team(sqlite_services.ql)
    settings = AiSettings(provider="offline", rate="2/minute")
    first, second = (BriefingService(sqlite_services.ql, METADATA, settings,
                                     rate_storage=str(redis_url)) for _ in range(2))
    first.check_rate(team.rep_a)
    second.check_rate(team.rep_a)
    with pytest.raises(RateLimited) as limited:
        first.check_rate(team.rep_a)
    assert 1 <= limited.value.retry_after <= 61
    second.check_rate(team.rep_b)  # per user


def sse_events(api: Api, body: dict, who: str = "rep_a") -> tuple[int, list[tuple[str, dict]]]:
    import json

    with api.client.stream("POST", URL, json=body, headers={
            **api.auth(who), "Accept": "text/event-stream"}) as response:
        raw = "".join(response.iter_text())
        if not response.headers["content-type"].startswith("text/event-stream"):
            return response.status_code, []
    return response.status_code, [
        (block.split("\n")[0].removeprefix("event: "),
         json.loads(block.split("\n")[1].removeprefix("data: ")))
        for block in raw.strip().split("\n\n")]


def test_sse_offline_streams_then_serves_the_stored_briefing(api: Api, world: AiWorld) -> None:
    status, events = sse_events(api, {"account_id": world.ids["acme"]})
    kinds = [kind for kind, _ in events]
    assert status == 200 and kinds[-2:] == ["briefing", "done"] and kinds.count("delta") > 3
    assert "".join(d["text"] for k, d in events if k == "delta") == events[-2][1]["summary"]
    status, again = sse_events(api, {"account_id": world.ids["acme"]})
    assert [kind for kind, _ in again] == ["briefing", "done"]
    assert again[0][1]["metadata"]["cached"] is True
    status, _ = sse_events(api, {"account_id": "01nosuchaccount0000000000"})
    assert status == 404  # before any event: a plain JSON error
