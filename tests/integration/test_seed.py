"""The seeds: demo users and data that obey every rule, tell a story (tones, won deals with
contracts), come out the same for the same random seed, and scale by account count.

The demo seed is the expensive part (~2,000 records through the full write path), so one
test per backend seeds once and checks everything on that data.
"""

from __future__ import annotations

import string
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.auth.passwords import verify_password
from app.core import Services, build_services
from app.objectql import Context, ValidationError
from app.objectql.coerce import blank
from app.seed import DEMO_USERS, database_is_empty, seed_demo, seed_scale, texts
from tests.conftest import METADATA

SYSTEM = Context.system()
STAGES = {"prospecting", "qualification", "needs_analysis", "proposal", "negotiation",
          "closed_won", "closed_lost"}
BUSINESS = ("account", "contact", "opportunity", "contract", "activity", "email", "lead")
LEAD_STATUSES = {"new", "working", "nurturing", "qualified", "unqualified", "converted"}


def _all(services: Services, name: str, **kwargs: Any) -> list[dict[str, Any]]:
    return services.ql.find(SYSTEM, name, limit=10_000, **kwargs).records


def _users_by_email(services: Services) -> dict[str, dict[str, Any]]:
    return {u["email"]: u for u in _all(services, "user")}


def _assert_rules_hold(services: Services, name: str) -> list[dict[str, Any]]:
    """Every stored record passes its object's required fields and validation rules."""
    ql = services.ql
    obj = ql.object(name)
    records = _all(services, name)
    for record in records:
        for field, fd in obj.fields.items():
            if fd.required and not fd.is_computed:
                assert not blank(record[field]), (name, field, record["id"])
        for rule in obj.validation_rules:
            failed = rule.compiled.evaluate(record, prior=record, is_new=False,
                                            today=ql.today(), now=ql.clock())
            assert not failed, (name, rule.name, record)
    return records


def _tones(text_values: list[str]) -> set[str]:
    found = set()
    for value in text_values:
        lowered = value.lower()
        for tone, markers in texts.TONE_MARKERS.items():
            if any(m in lowered for m in markers):
                found.add(tone)
    return found


def _assert_won_deals_booked(services: Services) -> list[dict[str, Any]]:
    won = _all(services, "opportunity", filters=[["stage", "=", "closed_won"]])
    contracts = _all(services, "contract")
    per_deal = Counter(c["opportunity"] for c in contracts if c["opportunity"])
    for deal in won:
        assert per_deal[deal["id"]] == 1, deal["name"]
        assert deal["amount"] is not None and deal["probability"] == 100
    return won


# -- demo -------------------------------------------------------------------------------
def test_demo_seed(services: Services, tmp_path: Path) -> None:
    ql = services.ql
    today = ql.today()
    assert database_is_empty(ql)
    counts = seed_demo(services, random_seed=42)
    assert not database_is_empty(ql)

    # users and their passwords
    users = _users_by_email(services)
    assert set(users) == {u["email"] for u in DEMO_USERS} and counts["user"] == 4
    for spec in DEMO_USERS:
        user = users[spec["email"]]
        assert user["role"] == spec["role"] and user["name"] == spec["name"]
        manager = users[spec["manager_email"]]["id"] if spec["manager_email"] else None
        assert user["manager"] == manager
        assert verify_password(services.engine, user["id"], spec["password"])
        assert not verify_password(services.engine, user["id"], "wrong-password")
    sellers = {users[e]["id"] for e in ("alice@hotcrm.local", "bob@hotcrm.local",
                                        "manager@hotcrm.local")}

    # volumes
    stored = {name: ql.count(SYSTEM, name)[0] for name in (*BUSINESS, "notification")}
    assert {k: counts[k] for k in stored} == stored
    assert 60 <= stored["account"] <= 75  # 60, plus those created by converting leads
    assert 200 <= stored["contact"] <= 330
    assert 140 <= stored["opportunity"] <= 175
    assert stored["lead"] == 80
    assert 900 <= stored["activity"] <= 1200
    assert 250 <= stored["email"] <= 350
    assert stored["notification"] > 0

    # nothing breaks a rule; all values of the select lists are used
    accounts = _assert_rules_hold(services, "account")
    assert all(a["phone"] or a["email"] for a in accounts)
    assert len({a["name"].lower() for a in accounts}) == len(accounts)
    assert {a["industry"] for a in accounts} == set(texts.INDUSTRY_NOUNS)
    assert {a["type"] for a in accounts} == {"prospect", "customer", "partner", "competitor",
                                             "other"}
    assert {a["rating"] for a in accounts} == {"hot", "warm", "cold"}
    assert {a["owner"] for a in accounts} == sellers
    assert any(a["parent"] for a in accounts)

    contacts = _assert_rules_hold(services, "contact")
    emails = [c["email"].lower() for c in contacts if c["email"]]
    assert len(emails) == len(set(emails)) and len(emails) > 0.8 * len(contacts)
    assert all(c["email"] or c["phone"] or c["mobile_phone"] for c in contacts)

    opps = _assert_rules_hold(services, "opportunity")
    assert {o["stage"] for o in opps} == STAGES
    assert {o["owner"] for o in opps} == sellers
    for o in opps:
        assert 5_000 <= o["amount"] <= 2_000_000
        assert today - timedelta(days=186) <= o["close_date"] <= today + timedelta(days=276)
        if not o["is_closed"]:
            assert o["close_date"] >= today, o
        if o["stage"] == "closed_lost":
            assert o["loss_reason"] and o["probability"] == 0
    assert sum(o["amount"] > 1_000_000 for o in opps) >= 3
    assert any(o["amount"] > 1_000_000 and not o["is_closed"] for o in opps)
    assert len({o["owner"] for o in opps if o["stage"] == "closed_won"}) >= 2

    # won deals were booked by the trigger: one contract each, a kick-off task, notifications
    won = _assert_won_deals_booked(services)
    contracts = _assert_rules_hold(services, "contract")
    assert len(contracts) > len(won)  # plus a few contracts in other statuses
    assert len({c["status"] for c in contracts}) >= 5
    assert all(c["contract_number"].startswith("CT-") for c in contracts)
    kickoffs = _all(services, "activity", filters=[["subject", "=", "Kick-off with new customer"]])
    assert len(kickoffs) == len(won)
    won_accounts = {o["account"] for o in won}
    assert {a["customer_status"] for a in accounts if a["id"] in won_accounts} == \
        {"active_customer"}

    # activities and emails: spread in time, with clearly toned text
    activities = _all(services, "activity")
    assert {a["type"] for a in activities} == {"call", "meeting", "task", "email", "note"}
    assert {a["status"] for a in activities} == {"planned", "completed", "cancelled"}
    dated = [a["activity_date"].date() for a in activities if a["activity_date"]]
    assert min(dated) <= today - timedelta(days=150) and max(dated) > today
    assert all(a["account"] for a in activities)
    assert _tones([a["description"] for a in activities if a["description"]]) == \
        {"positive", "worried", "angry"}
    mails = _all(services, "email")
    assert {m["direction"] for m in mails} == {"inbound", "outbound"}
    assert _tones([f"{m['subject']} {m['body']}" for m in mails]) == \
        {"positive", "worried", "angry"}
    for text in [m["body"] for m in mails] + [a["subject"] for a in activities]:
        assert "{" not in text and "}" not in text

    _assert_demo_leads(services, sellers)

    # the same random seed gives the same data in a fresh database
    if services.engine.dialect.name == "sqlite":
        other = build_services(database_url=f"sqlite:///{tmp_path / 'again.db'}",
                               metadata_dir=METADATA)
        try:
            seed_demo(other, random_seed=42, today=today)
            for name, fields in (("account", ["name", "industry", "annual_revenue"]),
                                 ("opportunity", ["name", "stage", "amount"]),
                                 ("contact", ["email", "last_name"]),
                                 ("lead", ["name", "company", "status", "email"])):
                ours = ql.find(SYSTEM, name, fields=fields, limit=10_000).records
                theirs = other.ql.find(SYSTEM, name, fields=fields, limit=10_000).records
                assert sorted(repr([r[f] for f in fields]) for r in ours) == \
                    sorted(repr([r[f] for f in fields]) for r in theirs), name
        finally:
            other.engine.dispose()


def _assert_demo_leads(services: Services, sellers: set[str]) -> None:
    """Leads in every status, source and rating; converted ones went through the real
    conversion: linked account, contact (and mostly an opportunity) that agree."""
    ql = services.ql
    now = ql.clock()
    leads = _assert_rules_hold(services, "lead")
    assert Counter(lead["status"] for lead in leads) == {
        "new": 14, "working": 14, "nurturing": 10, "qualified": 10, "unqualified": 14,
        "converted": 18}
    assert {lead["source"] for lead in leads} == set(ql.object("lead").field("source")
                                                     .option_values)
    assert {lead["rating"] for lead in leads} == {"hot", "warm", "cold"}
    assert len({lead["industry"] for lead in leads}) >= 8
    assert {lead["owner"] for lead in leads} == sellers
    assert all(lead["email"] or lead["phone"] for lead in leads)
    created = sorted(lead["created_at"] for lead in leads)
    assert created[0] < now - timedelta(days=120) and created[-1] > now - timedelta(days=14)
    assert all(lead["unqualified_reason"] for lead in leads if lead["status"] == "unqualified")
    accounts = {a["id"]: a for a in _all(services, "account")}
    contacts = {c["id"]: c for c in _all(services, "contact")}
    opps = {o["id"]: o for o in _all(services, "opportunity")}
    per_account = Counter(c["account"] for c in contacts.values())
    attached = created_accounts = 0
    for lead in leads:
        links = [lead["converted_account"], lead["converted_contact"], lead["converted_at"]]
        if lead["status"] != "converted":
            assert links == [None, None, None] and lead["converted_opportunity"] is None
            continue
        account = accounts[lead["converted_account"]]
        contact = contacts[lead["converted_contact"]]
        assert account["name"].lower() == lead["company"].lower()
        assert contact["account"] == account["id"] and contact["email"] == lead["email"]
        assert f"{contact['first_name']} {contact['last_name']}" == lead["name"]
        assert account["owner"] == contact["owner"] == lead["owner"]
        assert lead["created_at"] < lead["converted_at"] <= now
        if lead["converted_opportunity"]:
            opp = opps[lead["converted_opportunity"]]
            assert opp["account"] == account["id"] and opp["contact"] == contact["id"]
            assert opp["stage"] == "prospecting" and opp["owner"] == lead["owner"]
        if per_account[account["id"]] == 1:
            created_accounts += 1
        else:
            attached += 1
    assert attached >= 3 and created_accounts >= 3
    assert sum(bool(lead["converted_opportunity"]) for lead in leads) >= 9


# -- scale ------------------------------------------------------------------------------
def test_seed_scale_by_account_count(services: Services) -> None:
    ql = services.ql
    counts = seed_scale(services, "50", random_seed=3, progress=False)
    assert {k: counts[k] for k in ("account", "contact", "opportunity", "activity", "lead")} \
        == {"account": 50, "contact": 150, "opportunity": 100, "activity": 500, "lead": 25}
    for name in ("account", "contact", "opportunity", "activity", "contract", "lead"):
        assert ql.count(SYSTEM, name)[0] == counts[name]
    users = _users_by_email(services)
    assert set(users) == {u["email"] for u in DEMO_USERS}
    alice = users["alice@hotcrm.local"]
    assert verify_password(services.engine, alice["id"], DEMO_USERS[2]["password"])

    stage_field = ql.object("opportunity").field("stage")
    assert stage_field is not None
    opps = _assert_rules_hold(services, "opportunity")
    for o in opps:
        option = stage_field.option(o["stage"])
        assert option is not None
        assert o["probability"] == option.extra("probability")
        assert o["forecast_category"] == option.extra("forecast_category")
        if not o["is_closed"]:
            assert o["close_date"] >= ql.today()
        if o["is_won"]:
            assert o["amount"] is not None
    assert len({o["stage"] for o in opps}) >= 5
    for name in ("account", "contact", "contract", "activity"):
        _assert_rules_hold(services, name)
    leads = _assert_rules_hold(services, "lead")
    assert len({lead["status"] for lead in leads}) >= 5
    opp_by_id = {o["id"]: o for o in opps}
    _assert_won_deals_booked(services)
    accounts = {a["id"]: a for a in _all(services, "account")}
    contacts = {c["id"]: c for c in _all(services, "contact")}
    for activity in _all(services, "activity"):
        assert activity["account"] in accounts
        if activity["contact"]:
            assert contacts[activity["contact"]]["account"] == activity["account"]
    sellers = {users[e]["id"] for e in ("alice@hotcrm.local", "bob@hotcrm.local",
                                        "manager@hotcrm.local")}
    assert {a["owner"] for a in accounts.values()} == sellers
    assert {lead["owner"] for lead in leads} <= sellers
    for lead in leads:
        if lead["status"] != "converted":
            assert lead["converted_account"] is None and lead["converted_at"] is None
            continue
        account = accounts[lead["converted_account"]]
        assert lead["company"] == account["name"] and lead["owner"] == account["owner"]
        assert contacts[lead["converted_contact"]]["account"] == account["id"]
        if lead["converted_opportunity"]:
            assert opp_by_id[lead["converted_opportunity"]]["account"] == account["id"]
        assert lead["created_at"] <= lead["converted_at"] <= ql.clock()

    # a second run adds to the data without clashing on unique names or emails
    again = seed_scale(services, 20, random_seed=3, progress=False)
    assert again["account"] == 20
    assert ql.count(SYSTEM, "account")[0] == 70
    assert len(_users_by_email(services)) == 4


def test_bulk_insert_stays_typed_and_checked_row_by_row(services: Services) -> None:
    """The seed's bulk path: defaults, coercion, formulas and rules still apply per row,
    also when many rows share the values a formula or rule depends on."""
    ql = services.ql
    admin = ql.insert(SYSTEM, "user", {"email": "a@example.com", "name": "A",
                                       "role": "admin"})
    ctx = Context.system(admin["id"])
    ql.bulk_insert(ctx, "account", [{"id": "acc1", "name": "Acme", "phone": "+1 212 555 0100"}])
    far = ql.today() + timedelta(days=30)
    rows = [{"name": f"Deal {i}", "account": "acc1", "close_date": far.isoformat(),
             "stage": "proposal", "probability": 60, "amount": str(1000 * (i + 1))}
            for i in range(5)]
    rows.append({"name": "Won", "account": "acc1", "close_date": far, "stage": "closed_won",
                 "probability": 100, "amount": 10})
    assert ql.bulk_insert(ctx, "opportunity", rows) == 6
    stored = {o["name"]: o for o in _all(services, "opportunity")}
    for i in range(5):
        deal = stored[f"Deal {i}"]
        assert deal["amount"] == 1000 * (i + 1) and deal["expected_revenue"] == 600 * (i + 1)
        assert deal["is_won"] is False and deal["is_closed"] is False
        assert deal["owner"] == admin["id"] and deal["version"] == 1
    assert stored["Won"]["is_won"] is True and stored["Won"]["expected_revenue"] == 10
    account = _all(services, "account")[0]
    assert account["customer_status"] == "prospect"  # the default

    lost = dict(rows[0], name="lost", stage="closed_lost", close_date="2020-01-01")
    cases = [  # (object, rows, the row and the words the error must name)
        ("opportunity", [dict(rows[0], name="ok"), lost], "row 2", "loss reason"),
        ("opportunity", [dict(rows[0], close_date="2020-01-01")], "row 1", "close date"),
        ("contact", [{"last_name": "Ok", "account": "acc1", "email": "ok@example.com"},
                     {"last_name": "Bad", "account": "acc1", "email": "not-an-email"}],
         "row 2", "not a valid email"),
        ("contact", [{"last_name": "Nobody", "account": "acc1"}], "row 1", "phone number"),
        ("contact", [{"last_name": "X", "account": "acc1", "nonsense": 1}], "row 1",
         "unknown field"),
        ("contact", [{"account": "acc1", "email": "y@example.com"}], "row 1",
         "last name is required"),
    ]
    for object_name, bad_rows, row, words in cases:
        with pytest.raises(ValidationError) as caught:
            ql.bulk_insert(ctx, object_name, bad_rows)
        message = caught.value.message
        assert message.startswith(f"{row}:") and words in message.lower(), message
    assert ql.count(SYSTEM, "opportunity")[0] == 6 and ql.count(SYSTEM, "contact")[0] == 0


@pytest.mark.parametrize("scale", ["huge", "0", "-5", "", "1e3"])
def test_seed_scale_rejects_unknown_scales(sqlite_services: Services, scale: str) -> None:
    with pytest.raises(ValueError, match="scale"):
        seed_scale(sqlite_services, scale, random_seed=1, progress=False)
    assert database_is_empty(sqlite_services.ql)


def test_database_is_empty_until_there_are_users_or_accounts(services: Services) -> None:
    assert database_is_empty(services.ql)
    services.ql.insert(SYSTEM, "user", {"email": "x@example.com", "name": "X"})
    assert not database_is_empty(services.ql)


# -- texts ------------------------------------------------------------------------------
def test_every_toned_template_carries_its_tone_and_renders() -> None:
    import random

    rng = random.Random(0)
    values = texts.fill_values(rng, account="Acme", contact="Jo Doe", first_name="Jo",
                               owner="Alice Chen", owner_first="Alice")
    pools = {"positive": (texts.POSITIVE_EMAILS, texts.ACTIVITY_NOTES["positive"]),
             "worried": (texts.WORRIED_EMAILS, texts.ACTIVITY_NOTES["worried"]),
             "angry": (texts.ANGRY_EMAILS, texts.ACTIVITY_NOTES["angry"])}
    for tone, (emails, notes) in pools.items():
        assert len(emails) >= 12 and len(notes) >= 12
        for template in [*(f"{s} {b}" for s, b in emails), *notes]:
            rendered = texts.render(template, values)
            assert any(m in rendered.lower() for m in texts.TONE_MARKERS[tone]), template
    everything = [*texts.NEUTRAL_EMAILS, *texts.OUTBOUND_EMAILS]
    for template in [f"{s} {b}" for s, b in everything] + \
            [t for pool in texts.ACTIVITY_SUBJECTS.values() for t in pool]:
        rendered = texts.render(template, values)
        assert not set(rendered) & set("{}"), template
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        assert fields <= set(values), template
