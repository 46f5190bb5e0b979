"""The opportunity trigger of OBJECTS.md: the stage drives probability and forecast; winning
books the deal (contract, customer status, kick-off task, manager notification) in the same
transaction as the save, and change events only follow a commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.audit import AUDIT
from app.events import ChangeEvent
from app.objectql import Context
from app.objectql.errors import ObjectQLError, TriggerFailed, ValidationError
from app.triggers.registry import _TRIGGERS, TriggerContext, trigger
from tests.conftest import Team, fixed_clock

NOW = datetime(2025, 5, 14, 9, 0)
TODAY = NOW.date()
SYSTEM = Context.system()
STAGES = {"prospecting": (10, "pipeline"), "qualification": (20, "pipeline"),
          "needs_analysis": (40, "pipeline"), "proposal": (60, "best_case"),
          "negotiation": (80, "commit"), "closed_lost": (0, "omitted")}


@pytest.fixture
def ql(services: Any) -> Any:
    services.ql.clock = fixed_clock(NOW)
    return services.ql


@pytest.fixture
def deal(ql: Any, team: Team) -> dict:
    """Rita's open deal at Initrode, worth 50,000."""
    acc = ql.insert(team.rep_a, "account", {"name": "Initrode", "phone": "+1 555 0100"})
    return ql.insert(team.rep_a, "opportunity", {
        "name": "Big Deal", "account": acc["id"], "stage": "negotiation", "amount": 50_000,
        "close_date": "2025-06-30"})


@pytest.fixture
def extra_trigger() -> Iterator[Callable[[str, str, Exception], None]]:
    """Register triggers that raise; always removed again, even when the test fails."""
    added: list[tuple[tuple[str, str], Any]] = []

    def add(object_name: str, event: Any, error: Exception) -> None:
        def boom(tc: TriggerContext) -> None:
            raise error

        trigger(object_name, event)(boom)
        added.append(((object_name, event), boom))

    yield add
    for key, fn in added:
        if fn in _TRIGGERS[key]:
            _TRIGGERS[key].remove(fn)


def rows(ql: Any, obj: str, **kw: Any) -> list[dict]:
    return ql.find(SYSTEM, obj, limit=100, **kw).records


def audit_count(ql: Any) -> int:
    with ql.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(AUDIT)).scalar_one()


def test_stage_sets_probability_and_forecast(ql: Any, team: Team, deal: dict):
    assert (deal["probability"], deal["forecast_category"]) == (80, "commit")
    assert deal["expected_revenue"] == 40_000
    for stage, (probability, forecast) in STAGES.items():
        saved = ql.update(team.rep_a, "opportunity", deal["id"],
                          {"stage": stage, "loss_reason": "price" if stage == "closed_lost"
                           else None})
        stored = ql.get(team.rep_a, "opportunity", deal["id"])
        assert saved["probability"] == stored["probability"] == probability, stage
        assert stored["forecast_category"] == forecast, stage
        assert stored["expected_revenue"] == 50_000 * probability / 100, stage
    ql.update(team.rep_a, "opportunity", deal["id"], {"stage": "proposal", "loss_reason": None})
    stored = ql.update(team.rep_a, "opportunity", deal["id"], {"amount": 10_000})
    assert (stored["probability"], stored["expected_revenue"]) == (60, 6_000)


def test_probability_given_on_a_save_is_kept(ql: Any, team: Team, deal: dict):
    mine = ql.insert(team.manager, "opportunity", {
        "name": "Hunch", "account": deal["account"], "stage": "proposal", "amount": 1000,
        "probability": 35, "close_date": "2025-06-30"})
    assert (mine["probability"], mine["forecast_category"], mine["expected_revenue"]) == (
        35, "best_case", 350)
    assert ql.update(team.manager, "opportunity", mine["id"], {"amount": 2000}
                     )["probability"] == 35  # no stage change: nothing to follow
    both = ql.update(team.manager, "opportunity", mine["id"],
                     {"stage": "negotiation", "probability": 90})
    assert (both["probability"], both["forecast_category"], both["expected_revenue"]) == (
        90, "commit", 1800)
    again = ql.update(team.manager, "opportunity", mine["id"], {"stage": "proposal"})
    assert (again["probability"], again["expected_revenue"]) == (60, 1200)
    kept = ql.update(team.manager, "opportunity", mine["id"],
                     {"stage": "negotiation", "forecast_category": "best_case"})
    assert (kept["probability"], kept["forecast_category"]) == (80, "best_case")


def test_winning_books_the_deal(ql: Any, team: Team, deal: dict):
    won = ql.update(team.rep_a, "opportunity", deal["id"], {"stage": "closed_won"})
    assert (won["probability"], won["forecast_category"], won["is_won"]) == (100, "closed", True)
    [contract] = rows(ql, "contract")
    assert {k: contract[k] for k in ("account", "opportunity", "contract_value", "start_date",
                                     "owner", "status", "description")} == {
        "account": deal["account"], "opportunity": deal["id"], "contract_value": 50_000,
        "start_date": TODAY, "owner": team.rep_a.user_id, "status": "draft",
        "description": "Created from opportunity Big Deal"}
    assert contract["contract_number"] == "CT-20250514-0001"
    # the rep may not create contracts directly, but the audit trail still names her
    assert ql.history(SYSTEM, "contract", contract["id"])[0]["user_id"] == team.rep_a.user_id
    customer = ql.get(SYSTEM, "account", deal["account"])
    assert (customer["customer_status"], customer["type"]) == ("active_customer", "customer")
    [task] = rows(ql, "activity")
    assert {k: task[k] for k in ("subject", "type", "status", "due_date", "owner", "account",
                                 "opportunity")} == {
        "subject": "Kick-off with new customer", "type": "task", "status": "planned",
        "due_date": TODAY + timedelta(days=7), "owner": team.rep_a.user_id,
        "account": deal["account"], "opportunity": deal["id"]}
    [note] = rows(ql, "notification")
    assert note["user"] == team.manager.user_id and note["read"] is False
    assert "Rita Rep" in note["title"] and "Big Deal" in note["title"]
    assert note["link"] == f"/o/opportunity/{deal['id']}"
    # the manager sees it among their own notifications
    assert [n["id"] for n in ql.find(team.manager, "notification").records] == [note["id"]]


def test_a_deal_is_booked_only_once(ql: Any, team: Team, deal: dict):
    ql.update(team.admin, "opportunity", deal["id"], {"stage": "closed_won"})
    ql.update(team.admin, "opportunity", deal["id"], {"next_step": "invoice"})
    ql.update(team.rep_a, "opportunity", deal["id"], {"stage": "negotiation"})
    ql.update(team.rep_a, "opportunity", deal["id"], {"stage": "closed_won", "amount": 60_000})
    [contract] = rows(ql, "contract")
    assert contract["contract_value"] == 50_000  # the first booking stands
    assert contract["owner"] == team.rep_a.user_id  # the deal's owner, not who saved it
    assert len(rows(ql, "activity")) == 1
    assert [n["user"] for n in rows(ql, "notification")] == [team.manager.user_id]


def test_a_rep_without_a_manager_wins_quietly(ql: Any, team: Team, deal: dict):
    lone = ql.insert(SYSTEM, "user", {"email": "lone@test.local", "name": "Lee Lone",
                                      "role": "sales_rep"})
    ctx = Context(user_id=lone["id"], role="sales_rep", name="Lee Lone")
    acc = ql.insert(ctx, "account", {"name": "Solo", "phone": "+1 555 0100"})
    opp = ql.insert(ctx, "opportunity", {"name": "Solo deal", "account": acc["id"],
                                         "stage": "proposal", "amount": 10,
                                         "close_date": "2025-06-30"})
    ql.update(ctx, "opportunity", opp["id"], {"stage": "closed_won"})
    assert [c["owner"] for c in rows(ql, "contract")] == [lone["id"]]
    assert rows(ql, "notification") == []


def assert_nothing_booked(ql: Any, deal: dict, audit_before: int) -> None:
    stored = ql.get(SYSTEM, "opportunity", deal["id"])
    assert (stored["stage"], stored["probability"], stored["version"]) == ("negotiation", 80, 1)
    assert rows(ql, "contract") == [] and rows(ql, "activity") == []
    assert rows(ql, "notification") == []
    customer = ql.get(SYSTEM, "account", deal["account"])
    assert (customer["customer_status"], customer["type"], customer["version"]) == (
        "prospect", None, 1)
    assert [e["action"] for e in ql.history(SYSTEM, "opportunity", deal["id"])] == ["insert"]
    assert audit_count(ql) == audit_before


FAILING_STEPS = [
    ("contract", "before_insert"),      # the first step
    ("account", "before_update"),       # a middle step, after the contract was written
    ("activity", "after_insert"),
    ("notification", "before_insert"),  # the last step
]


def test_any_failing_step_rolls_back_the_whole_save(ql: Any, team: Team, deal: dict):
    for object_name, event in FAILING_STEPS:
        def boom(tc: TriggerContext) -> None:
            raise ValueError("kaboom")

        trigger(object_name, event)(boom)
        before = audit_count(ql)
        published: list[ChangeEvent] = []
        unsubscribe = ql.events.subscribe(published.append)
        try:
            with pytest.raises(TriggerFailed) as info:
                ql.update(team.rep_a, "opportunity", deal["id"], {"stage": "closed_won"})
        finally:
            unsubscribe()
            _TRIGGERS[(object_name, event)].remove(boom)
        message = info.value.message
        assert "rolled back" in message and "kaboom" in message, message
        assert object_name in message and info.value.status == 422
        assert_nothing_booked(ql, deal, before)
        assert published == []
    ql.update(team.rep_a, "opportunity", deal["id"], {"stage": "closed_won"})  # now it works
    assert len(rows(ql, "contract")) == len(rows(ql, "notification")) == 1


def test_a_trigger_validation_error_reaches_the_caller_as_is(ql: Any, team: Team, deal: dict,
                                                             extra_trigger: Any):
    extra_trigger("contract", "before_insert",
                  ValidationError.of([("status", "contracts are frozen this week")]))
    before = audit_count(ql)
    with pytest.raises(ValidationError) as info:
        ql.update(team.rep_a, "opportunity", deal["id"], {"stage": "closed_won"})
    assert not isinstance(info.value, TriggerFailed)
    assert info.value.field_errors == {"status": "contracts are frozen this week"}
    assert_nothing_booked(ql, deal, before)


def test_change_events_follow_the_commit_and_never_a_rollback(ql: Any, team: Team,
                                                              deal: dict, extra_trigger: Any):
    seen: list[tuple[str, str]] = []
    stage_seen_by_listener: list[str] = []

    def listener(event: ChangeEvent) -> None:
        seen.append((event.object, event.action))
        if event.object == "opportunity":  # a fresh connection sees the committed row
            stage_seen_by_listener.append(ql.get(SYSTEM, "opportunity", event.record_id)["stage"])

    unsubscribe = ql.events.subscribe(listener)
    try:
        with pytest.raises(ObjectQLError):  # invalid: nothing happens, nothing is told
            ql.update(team.rep_a, "opportunity", deal["id"], {"close_date": "2020-01-01"})
        assert seen == []
        ql.update(team.rep_a, "opportunity", deal["id"], {"next_step": "demo"})
        assert seen == [("opportunity", "update")]
        assert stage_seen_by_listener == ["negotiation"]
        seen.clear()
        ql.update(team.rep_a, "opportunity", deal["id"], {"stage": "closed_won"})
        assert sorted(seen) == sorted([("opportunity", "update"), ("contract", "insert"),
                                       ("account", "update"), ("activity", "insert"),
                                       ("notification", "insert")])
        assert stage_seen_by_listener[-1] == "closed_won"
        seen.clear()
        other = ql.insert(team.rep_a, "opportunity", {
            "name": "Second", "account": deal["account"], "stage": "proposal", "amount": 5,
            "close_date": date(2025, 7, 1)})
        seen.clear()
        extra_trigger("activity", "before_insert", RuntimeError("disk full"))
        with pytest.raises(TriggerFailed):
            ql.update(team.rep_a, "opportunity", other["id"], {"stage": "closed_won"})
        assert seen == []
    finally:
        unsubscribe()
    assert ql.get(SYSTEM, "opportunity", other["id"])["stage"] == "proposal"
