"""Lead conversion (⚑ `POST /api/objects/lead/{id}/convert`): one transaction through
ObjectQL — account (created, given, or matched by name ignoring case), contact, optional
opportunity, lead marked converted — with validation, triggers and audit, idempotent,
refused for a lead the user cannot edit, and nothing left behind when any step fails."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.audit import AUDIT
from app.events import ChangeEvent
from app.leads import ConvertOptions, convert_lead
from app.objectql import Context
from app.objectql.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    TriggerFailed,
    ValidationError,
)
from app.objectql.service import ObjectQL
from app.triggers.registry import _TRIGGERS, TriggerContext, trigger
from tests.conftest import Team, fixed_clock
from tests.integration.api_support import Api

NOW = datetime(2025, 5, 14, 9, 30)
TODAY = NOW.date()
SYSTEM = Context.system()
COUNTED = ("account", "contact", "opportunity", "lead")


@pytest.fixture
def ql(services: Any) -> ObjectQL:
    services.ql.clock = fixed_clock(NOW)
    return services.ql


def new_lead(ql: ObjectQL, ctx: Context, **values: Any) -> dict[str, Any]:
    data = {"name": "Jane Q. Doe", "company": "Umbrella Labs", "title": "CTO",
            "email": "jane@umbrella.example", "phone": "+1 555 0101", "source": "web",
            "rating": "hot", "industry": "healthcare", "status": "qualified", **values}
    return ql.insert(ctx, "lead", data)


def snapshot(ql: ObjectQL) -> dict[str, Any]:
    """Row counts, the audit trail's length and every lead's version: what a failed
    conversion must leave exactly as it was."""
    with ql.engine.connect() as conn:
        audit_rows = conn.execute(select(func.count()).select_from(AUDIT)).scalar_one()
    leads = ql.find(SYSTEM, "lead", fields=["version", "status"], limit=500).records
    return {"counts": {name: ql.count(SYSTEM, name)[0] for name in COUNTED},
            "audit": audit_rows, "leads": {r["id"]: (r["version"], r["status"])
                                           for r in leads}}


def audit_of(ql: ObjectQL, object_name: str, record_id: str) -> list[dict[str, Any]]:
    with ql.engine.connect() as conn:
        rows = conn.execute(select(AUDIT).where(AUDIT.c.object == object_name,
                                                AUDIT.c.record_id == record_id)
                            .order_by(AUDIT.c.id))
        return [dict(r._mapping) for r in rows]


@pytest.fixture
def failing_trigger() -> Iterator[Any]:
    added: list[tuple[tuple[str, str], Any]] = []

    def add(object_name: str, event: Any) -> None:
        def boom(tc: TriggerContext) -> None:
            raise RuntimeError("the mail server is down")

        trigger(object_name, event)(boom)
        added.append(((object_name, event), boom))

    yield add
    for key, fn in added:
        if fn in _TRIGGERS[key]:
            _TRIGGERS[key].remove(fn)


# -- the happy path -----------------------------------------------------------------------
def test_convert_creates_account_contact_and_opportunity(ql: ObjectQL, team: Team) -> None:
    lead = new_lead(ql, team.rep_a, number_of_employees=250, website="https://umbrella.example",
                    description="Met at the trade show.")
    events: list[ChangeEvent] = []
    unsubscribe = ql.events.subscribe(events.append)
    try:
        result = convert_lead(ql, team.rep_a, lead["id"],
                              ConvertOptions(create_opportunity=True))
    finally:
        unsubscribe()
    account, contact, opp = result.account, result.contact, result.opportunity
    assert contact is not None and opp is not None and not result.already_converted

    assert account["name"] == "Umbrella Labs" and account["industry"] == "healthcare"
    assert account["rating"] == "hot" and account["phone"] == "+1 555 0101"
    assert account["email"] is None  # the person's address is not the company's
    assert account["number_of_employees"] == 250 and account["type"] == "prospect"
    assert account["owner"] == account["created_by"] == team.rep_a.user_id

    assert (contact["first_name"], contact["last_name"]) == ("Jane Q.", "Doe")
    assert contact["account"] == account["id"] and contact["title"] == "CTO"
    assert contact["email"] == "jane@umbrella.example" and contact["lead_source"] == "web"
    assert contact["description"] == "Met at the trade show."

    assert opp["name"] == "Umbrella Labs - Jane Q. Doe"
    assert opp["account"] == account["id"] and opp["contact"] == contact["id"]
    assert opp["stage"] == "prospecting" and opp["type"] == "new_business"
    assert opp["probability"] == 10  # the opportunity trigger ran
    assert opp["close_date"] == TODAY + timedelta(days=90) and opp["lead_source"] == "web"

    stored = ql.get(SYSTEM, "lead", lead["id"])
    assert stored["status"] == "converted" and stored["converted_at"] == NOW
    assert (stored["converted_account"], stored["converted_contact"],
            stored["converted_opportunity"]) == (account["id"], contact["id"], opp["id"])
    assert stored["modified_by"] == team.rep_a.user_id and stored["version"] == 2
    assert result.lead["status"] == "converted"

    # the audit trail names the rep for every record, with the lead's links as changes
    for name, record in (("account", account), ("contact", contact), ("opportunity", opp)):
        [entry] = audit_of(ql, name, record["id"])
        assert (entry["action"], entry["user_id"]) == ("insert", team.rep_a.user_id)
    _inserted, converted = audit_of(ql, "lead", lead["id"])
    assert converted["action"] == "update" and converted["user_id"] == team.rep_a.user_id
    assert converted["changes"]["status"] == ["qualified", "converted"]
    assert converted["changes"]["converted_contact"] == [None, contact["id"]]
    # change events follow the commit, one per write
    assert [(e.object, e.action) for e in events] == [
        ("account", "insert"), ("contact", "insert"), ("opportunity", "insert"),
        ("lead", "update")]


def test_convert_without_opportunity_and_with_a_one_word_name(ql: ObjectQL,
                                                              team: Team) -> None:
    lead = new_lead(ql, team.rep_a, name="Cher", company=None, phone=None)
    result = convert_lead(ql, team.rep_a, lead["id"])
    assert result.opportunity is None and result.contact is not None
    assert result.account["name"] == "Cher"  # no company: the person is the customer
    assert result.account["email"] == "jane@umbrella.example"  # its only way to reach
    assert (result.contact["first_name"], result.contact["last_name"]) == (None, "Cher")
    assert ql.get(SYSTEM, "lead", lead["id"])["converted_opportunity"] is None
    assert "opportunity" not in result.to_dict()


@pytest.mark.parametrize("spelling", ["Acme Corp", "ACME CORP", "acme corp", "aCmE cOrP"])
def test_existing_account_is_matched_by_name_ignoring_case(ql: ObjectQL, team: Team,
                                                           spelling: str) -> None:
    acme = ql.insert(team.rep_a, "account", {"name": "Acme Corp", "phone": "+1 555 0100",
                                             "customer_status": "active_customer"})
    ql.insert(team.rep_a, "account", {"name": "Acme Corporation", "phone": "+1 555 0102"})
    lead = new_lead(ql, team.rep_a, company=spelling)
    result = convert_lead(ql, team.rep_a, lead["id"], ConvertOptions(create_opportunity=True))
    assert result.account["id"] == acme["id"]
    assert ql.count(SYSTEM, "account")[0] == 2
    assert result.contact is not None and result.contact["account"] == acme["id"]
    assert result.opportunity is not None
    assert result.opportunity["type"] == "existing_business"  # Acme is a customer


def test_given_account_wins_over_the_company_name(ql: ObjectQL, team: Team) -> None:
    parent = ql.insert(team.rep_a, "account", {"name": "Umbrella Holdings",
                                               "phone": "+1 555 0103"})
    lead = new_lead(ql, team.rep_a)
    result = convert_lead(ql, team.rep_a, lead["id"],
                          ConvertOptions(account_id=parent["id"], opportunity_name="Pilot"))
    assert result.account["id"] == parent["id"] and ql.count(SYSTEM, "account")[0] == 1
    assert result.opportunity is not None and result.opportunity["name"] == "Pilot"


def test_a_contact_with_the_same_email_at_the_account_is_reused(ql: ObjectQL,
                                                                team: Team) -> None:
    acme = ql.insert(team.rep_a, "account", {"name": "Umbrella Labs", "phone": "+1 555 0100"})
    jane = ql.insert(team.rep_a, "contact", {"last_name": "Doe", "account": acme["id"],
                                             "email": "jane@umbrella.example"})
    result = convert_lead(ql, team.rep_a, new_lead(ql, team.rep_a)["id"])
    assert result.contact is not None and result.contact["id"] == jane["id"]
    assert ql.count(SYSTEM, "contact")[0] == 1


# -- idempotent ---------------------------------------------------------------------------
def test_converting_again_returns_the_same_records_and_creates_nothing(ql: ObjectQL,
                                                                       team: Team) -> None:
    lead = new_lead(ql, team.rep_a)
    first = convert_lead(ql, team.rep_a, lead["id"], ConvertOptions(create_opportunity=True))
    before = snapshot(ql)
    for who in (team.rep_a, team.manager):
        again = convert_lead(ql, who, lead["id"], ConvertOptions(create_opportunity=True,
                                                                 opportunity_name="Other"))
        assert again.already_converted
        assert again.account is not None and first.account is not None
        assert again.account["id"] == first.account["id"]
        assert again.contact is not None and first.contact is not None
        assert again.contact["id"] == first.contact["id"]
        assert again.opportunity is not None and first.opportunity is not None
        assert again.opportunity["id"] == first.opportunity["id"]
    assert snapshot(ql) == before
    # a deleted record unlinks itself from the lead; converting still creates nothing
    assert first.opportunity is not None
    ql.delete(team.rep_a, "opportunity", first.opportunity["id"])
    assert ql.get(SYSTEM, "lead", lead["id"])["converted_opportunity"] is None
    later = convert_lead(ql, team.rep_a, lead["id"], ConvertOptions(create_opportunity=True))
    assert later.already_converted and later.opportunity is None
    assert ql.count(SYSTEM, "opportunity")[0] == 0


def test_concurrent_conversions_of_one_lead_create_one_set_of_records(
        ql: ObjectQL, team: Team) -> None:
    lead = new_lead(ql, team.rep_a)
    results: list[Any] = []
    start = threading.Barrier(3)

    def convert() -> None:
        start.wait()
        try:
            results.append(convert_lead(ql, team.rep_a, lead["id"],
                                        ConvertOptions(create_opportunity=True)))
        except Exception as exc:  # collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=convert) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({r.account["id"] for r in results}) == 1
    assert sorted(r.already_converted for r in results) == [False, True, True]
    assert {name: ql.count(SYSTEM, name)[0] for name in COUNTED} == {
        "account": 1, "contact": 1, "opportunity": 1, "lead": 1}


# -- all or nothing -----------------------------------------------------------------------
def test_a_failing_opportunity_rolls_back_account_contact_and_lead(ql: ObjectQL,
                                                                   team: Team) -> None:
    lead = new_lead(ql, team.rep_a)
    before = snapshot(ql)
    with pytest.raises(ValidationError) as caught:
        convert_lead(ql, team.rep_a, lead["id"],
                     ConvertOptions(create_opportunity=True, opportunity_name="x" * 200))
    assert caught.value.message.startswith("Opportunity: ")
    assert [d["field"] for d in caught.value.details] == ["opportunity.name"]
    assert snapshot(ql) == before
    # nothing half-done blocks a corrected second attempt
    result = convert_lead(ql, team.rep_a, lead["id"], ConvertOptions(create_opportunity=True))
    assert result.opportunity is not None and not result.already_converted


def test_a_failing_trigger_rolls_back_every_step(ql: ObjectQL, team: Team,
                                                 failing_trigger: Any) -> None:
    lead = new_lead(ql, team.rep_a)
    failing_trigger("opportunity", "after_insert")
    before = snapshot(ql)
    with pytest.raises(TriggerFailed, match="mail server is down"):
        convert_lead(ql, team.rep_a, lead["id"], ConvertOptions(create_opportunity=True))
    assert snapshot(ql) == before


def test_a_contact_email_used_at_another_account_is_a_conflict(ql: ObjectQL,
                                                               team: Team) -> None:
    other = ql.insert(team.rep_a, "account", {"name": "Elsewhere", "phone": "+1 555 0104"})
    ql.insert(team.rep_a, "contact", {"last_name": "Doe", "account": other["id"],
                                      "email": "jane@umbrella.example"})
    lead = new_lead(ql, team.rep_a)
    before = snapshot(ql)
    with pytest.raises(Conflict) as caught:
        convert_lead(ql, team.rep_a, lead["id"])
    assert caught.value.message.startswith("Contact: Email 'jane@umbrella.example'")
    assert caught.value.details[0]["field"] == "contact.email"
    assert snapshot(ql) == before  # the new account is gone too


def test_an_unknown_account_id_is_reported_and_changes_nothing(ql: ObjectQL,
                                                               team: Team) -> None:
    lead = new_lead(ql, team.rep_a)
    before = snapshot(ql)
    with pytest.raises(ValidationError) as caught:
        convert_lead(ql, team.rep_a, lead["id"], ConvertOptions(account_id="01" + "z" * 24))
    assert caught.value.field_errors == {"account_id": f"no account with id '{'01' + 'z' * 24}'"}
    assert snapshot(ql) == before


# -- who may convert ----------------------------------------------------------------------
def test_only_those_who_may_edit_the_lead_convert_it(ql: ObjectQL, team: Team) -> None:
    lead = new_lead(ql, team.rep_a)
    before = snapshot(ql)
    with pytest.raises(NotFound):  # another rep's private lead reads as missing
        convert_lead(ql, team.rep_b, lead["id"])
    with pytest.raises(NotFound):
        convert_lead(ql, team.rep_a, "01" + "z" * 24)
    with pytest.raises(PermissionDenied):  # the viewer sees it but changes nothing
        convert_lead(ql, team.viewer, lead["id"])
    assert snapshot(ql) == before
    # the manager converts a lead of the team; the records belong to the lead's owner
    result = convert_lead(ql, team.manager, lead["id"], ConvertOptions(create_opportunity=True))
    assert result.opportunity is not None and result.contact is not None
    assert {result.account["owner"], result.contact["owner"], result.opportunity["owner"]} \
        == {team.rep_a.user_id}
    assert result.account["created_by"] == team.manager.user_id
    with pytest.raises(PermissionDenied):  # converted or not, still not the viewer's
        convert_lead(ql, team.viewer, lead["id"])


def test_attaching_to_an_account_the_rep_cannot_edit_is_refused(ql: ObjectQL,
                                                                 team: Team) -> None:
    ql.insert(team.rep_b, "account", {"name": "Umbrella Labs", "phone": "+1 555 0105"})
    lead = new_lead(ql, team.rep_a)
    before = snapshot(ql)
    with pytest.raises(PermissionDenied) as caught:
        convert_lead(ql, team.rep_a, lead["id"])
    assert caught.value.message.startswith("Contact: you may not add contacts")
    assert snapshot(ql) == before
    result = convert_lead(ql, team.manager, lead["id"])  # their manager may
    assert result.contact is not None and result.contact["owner"] == team.rep_a.user_id


def test_converted_only_through_convert_and_stays_converted(ql: ObjectQL,
                                                            team: Team) -> None:
    lead = new_lead(ql, team.rep_a)
    with pytest.raises(ValidationError) as caught:
        ql.update(team.rep_a, "lead", lead["id"], {"status": "converted"})
    assert "through Convert" in caught.value.field_errors["status"]
    with pytest.raises(ValidationError) as caught:
        ql.update(team.rep_a, "lead", lead["id"], {"converted_account": None})
    assert "read-only" in caught.value.field_errors["converted_account"]
    with pytest.raises(ValidationError):
        new_lead(ql, team.rep_a, status="converted")
    convert_lead(ql, team.rep_a, lead["id"])
    with pytest.raises(ValidationError) as caught:
        ql.update(team.rep_a, "lead", lead["id"], {"status": "working"})
    assert caught.value.field_errors["status"] == "A converted lead stays converted."
    ql.update(team.rep_a, "lead", lead["id"], {"rating": "warm"})  # other edits are fine


def test_email_or_phone_is_required(ql: ObjectQL, team: Team) -> None:
    with pytest.raises(ValidationError) as caught:
        new_lead(ql, team.rep_a, email=None, phone=None)
    assert set(caught.value.field_errors) == {"email"}
    assert new_lead(ql, team.rep_a, email=None)["phone"]


# -- REST ---------------------------------------------------------------------------------
def test_rest_convert(services: Any, ql: ObjectQL, team: Team) -> None:
    api = Api(services, team)
    lead = new_lead(ql, team.rep_a)
    url = f"/api/objects/lead/{lead['id']}/convert"

    assert api.post(url, as_="rep_b", json={}).status_code == 404
    denied = api.post(url, as_="viewer", json={})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    assert api.post(url, json={}).status_code == 401
    bad = api.post(url, as_="rep_a", json={"account_id": 7, "create_opportunity": "yes",
                                            "opportunity_name": ["x"], "colour": "red"})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {
        "account_id", "create_opportunity", "opportunity_name", "colour"}
    assert api.post(url, as_="rep_a", content=b"{nope",
                    headers={"content-type": "application/json"}).status_code == 400
    too_long = api.post(url, as_="rep_a", json={"opportunity_name": "y" * 121})
    assert too_long.status_code == 422
    assert too_long.json()["error"]["details"][0]["field"] == "opportunity.name"
    assert ql.count(SYSTEM, "account")[0] == 0

    done = api.post(url, as_="rep_a", json={"opportunity_name": "Umbrella pilot"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert set(body) >= {"account", "contact", "opportunity"}
    assert body["opportunity"]["name"] == "Umbrella pilot"
    assert body["contact"]["account"] == body["account"]["id"]
    assert body["lead"]["status"] == "converted" and body["already_converted"] is False
    again = api.post(url, as_="rep_a")  # no body: the defaults
    assert again.status_code == 200 and again.json()["already_converted"] is True
    assert again.json()["opportunity"]["id"] == body["opportunity"]["id"]

    spec = api.get("/api/openapi.json").json()
    operation = spec["paths"]["/api/objects/lead/{record_id}/convert"]["post"]
    assert set(operation["responses"]) >= {"200", "403", "404", "422"}
    assert "LeadConvert" in spec["components"]["schemas"]
