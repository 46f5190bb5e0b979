"""The ObjectQL write pipeline as a CRM user meets it: defaults, checks, stamps, versions,
uniqueness, lookups, validation rules, formulas, autonumbers, deletes, batches, audit."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from app.audit import AUDIT
from app.objectql import Context
from app.objectql.errors import Conflict, NotFound, ValidationError
from tests.conftest import Team, fixed_clock

NOW = datetime(2025, 5, 14, 9, 0)
SYSTEM = Context.system()


@pytest.fixture
def ql(services: Any) -> Any:
    services.ql.clock = fixed_clock(NOW)
    return services.ql


def account(ql: Any, ctx: Context, name: str = "Acme", **kw: Any) -> dict:
    return ql.insert(ctx, "account", {"name": name, "phone": "+1 555 0100", **kw})


def opportunity(ql: Any, ctx: Context, account_id: str, **kw: Any) -> dict:
    return ql.insert(ctx, "opportunity", {"name": "Deal", "account": account_id,
                                          "stage": "prospecting", "close_date": "2025-06-30",
                                          **kw})


def contract(ql: Any, ctx: Context, account_id: str, **kw: Any) -> dict:
    return ql.insert(ctx, "contract", {"account": account_id, "start_date": "2025-06-01",
                                       "contract_value": 1000, **kw})


def count(ql: Any, obj: str) -> int:
    return ql.count(SYSTEM, obj)[0]


def audit_count(ql: Any) -> int:
    with ql.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(AUDIT)).scalar_one()


def rule(ql: Any, obj: str, name: str) -> str:
    return next(r.message for r in ql.object(obj).validation_rules if r.name == name)


def invalid(fn: Any, *args: Any, **kw: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        fn(*args, **kw)
    return info.value.field_errors


def test_defaults_fill_what_the_user_left_out(ql: Any, team: Team):
    acc = account(ql, team.rep_a)
    assert acc["customer_status"] == "prospect"
    assert account(ql, team.rep_a, "Other", customer_status="on_hold")["customer_status"] == \
        "on_hold"
    assert contract(ql, team.admin, acc["id"])["status"] == "draft"
    person = ql.insert(team.rep_a, "contact", {"last_name": "Doe", "account": acc["id"],
                                               "phone": "+1 555 0101"})
    stored = ql.get(team.rep_a, "contact", person["id"])
    assert (stored["is_active"], stored["do_not_call"]) == (True, False)


def test_input_is_coerced_to_the_field_types(ql: Any, team: Team):
    acc = ql.insert(team.admin, "account", {
        "name": "Typed", "annual_revenue": "1,234.5", "number_of_employees": "42",
        "website": "typed.example", "email": "  a@typed.example ", "industry": "retail"})
    stored = ql.get(team.admin, "account", acc["id"])
    assert stored["annual_revenue"] == 1234.5
    assert stored["number_of_employees"] == 42 and isinstance(stored["number_of_employees"], int)
    assert (stored["website"], stored["email"]) == ("https://typed.example", "a@typed.example")
    person = ql.insert(team.admin, "contact", {"last_name": "Doe", "account": acc["id"],
                                               "phone": "+1 555 0101", "birthdate": "1990-02-03",
                                               "do_not_call": "yes"})
    stored = ql.get(team.admin, "contact", person["id"])
    assert (stored["birthdate"], stored["do_not_call"]) == (date(1990, 2, 3), True)


FIELD_ERRORS = [  # object, bad input, field named, words of the message
    ("account", {"name": None}, "name", "is required"),
    ("account", {"name": "x" * 256}, "name", "longer than 255"),
    ("account", {"name": "bad\x00name"}, "name", "NUL"),
    ("account", {"industry": "spaceflight"}, "industry", "'spaceflight' is not one of"),
    ("account", {"email": "not-an-email"}, "email", "not a valid email"),
    ("account", {"website": "not a url"}, "website", "not a valid web address"),
    ("account", {"website": "["}, "website", "not a valid web address"),
    ("account", {"phone": "call me"}, "phone", "not a valid phone"),
    ("account", {"annual_revenue": -1}, "annual_revenue", "at least 0"),
    ("account", {"annual_revenue": "abc"}, "annual_revenue", "'abc' is not a number"),
    ("account", {"number_of_employees": 2.5}, "number_of_employees", "whole number"),
    ("opportunity", {"probability": 101}, "probability", "at most 100"),
    ("opportunity", {"probability": -1}, "probability", "at least 0"),
    ("opportunity", {"discount": 100.5}, "discount", "at most 100"),
    ("opportunity", {"close_date": "next tuesday"}, "close_date", "not a date"),
    ("opportunity", {"stage": "won"}, "stage", "is not one of"),
    ("contact", {"email": "a@b"}, "email", "not a valid email"),
    ("contact", {"last_name": "x" * 81}, "last_name", "longer than 80"),
]


def test_field_checks_name_the_field_and_write_nothing(ql: Any, team: Team):
    parent = account(ql, team.admin, "Parent")["id"]
    base = {"account": {"name": "New", "phone": "+1 555 0100"},
            "opportunity": {"name": "D", "account": parent, "stage": "proposal",
                            "close_date": "2025-06-30"},
            "contact": {"last_name": "Doe", "account": parent, "phone": "+1 555 0101"}}
    before = audit_count(ql)
    for obj, bad, field, words in FIELD_ERRORS:
        errors = invalid(ql.insert, team.admin, obj, {**base[obj], **bad})
        assert words in errors.get(field, ""), (obj, bad, errors)
    assert (count(ql, "account"), count(ql, "opportunity"), count(ql, "contact")) == (1, 0, 0)
    assert audit_count(ql) == before


def test_stamps_come_from_the_context(ql: Any, team: Team):
    acc = account(ql, team.rep_a)
    assert (acc["owner"], acc["created_by"], acc["modified_by"]) == (team.rep_a.user_id,) * 3
    assert acc["created_at"] == acc["modified_at"] == NOW and acc["version"] == 1
    ql.clock = fixed_clock(datetime(2025, 5, 15, 12, 0))
    changed = ql.update(team.admin, "account", acc["id"], {"rating": "hot"})
    assert (changed["modified_by"], changed["modified_at"]) == (team.admin.user_id,
                                                                datetime(2025, 5, 15, 12, 0))
    assert (changed["created_by"], changed["created_at"], changed["owner"]) == (
        team.rep_a.user_id, NOW, team.rep_a.user_id)
    given = account(ql, team.manager, "For Rob", owner=team.rep_b.user_id)
    assert (given["owner"], given["created_by"]) == (team.rep_b.user_id, team.manager.user_id)
    # an import (trusted context) may keep the original creation date
    old = ql.insert(SYSTEM, "account", {"name": "Imported", "phone": "+1 555 0100",
                                        "created_at": "2020-01-02T03:04:05"})
    assert ql.get(team.admin, "account", old["id"])["created_at"] == datetime(2020, 1, 2, 3, 4, 5)


def test_versions_and_stale_saves(ql: Any, team: Team):
    acc = account(ql, team.admin)
    assert ql.update(team.admin, "account", acc["id"], {"rating": "hot"})["version"] == 2
    entries = audit_count(ql)
    with pytest.raises(Conflict, match="changed by someone else") as info:
        ql.update(team.admin, "account", acc["id"], {"rating": "cold"}, expected_version=1)
    assert info.value.extra["current_version"] == 2
    stored = ql.get(team.admin, "account", acc["id"])
    assert (stored["rating"], stored["version"]) == ("hot", 2)
    assert audit_count(ql) == entries
    assert ql.update(team.admin, "account", acc["id"], {"rating": "warm", "version": 2}
                     )["version"] == 3
    assert ql.update(team.admin, "account", acc["id"], {"rating": "warm"})["version"] == 3
    assert audit_count(ql) == entries + 1  # the no-op save left no trace
    with pytest.raises(Conflict):
        ql.delete(team.admin, "account", acc["id"], expected_version=2)
    assert ql.get(team.admin, "account", acc["id"])["version"] == 3
    ql.delete(team.admin, "account", acc["id"], expected_version=3)
    with pytest.raises(NotFound):
        ql.get(team.admin, "account", acc["id"])


def test_unknown_computed_and_system_fields_are_refused_by_name(ql: Any, team: Team):
    acc = account(ql, team.admin)
    opp = opportunity(ql, team.admin, acc["id"])
    cases = [("account", {"colour": "red"}, "colour", "unknown field 'colour'"),
             ("opportunity", {"expected_revenue": 5}, "expected_revenue", "computed"),
             ("opportunity", {"is_won": True}, "is_won", "computed"),
             ("contract", {"contract_number": "CT-1"}, "contract_number", "computed"),
             ("account", {"created_by": team.admin.user_id}, "created_by", "cannot be set"),
             ("account", {"modified_at": "2025-01-01"}, "modified_at", "cannot be set"),
             ("account", {"id": "mine"}, "id", "cannot be set")]
    for obj, bad, field, words in cases:
        errors = invalid(ql.insert, team.admin, obj, {"name": "X", **bad})
        assert words in errors.get(field, ""), (obj, bad, errors)
    errors = invalid(ql.update, team.admin, "opportunity", opp["id"],
                     {"expected_revenue": 1, "created_at": "2020-01-01"})
    assert set(errors) == {"expected_revenue", "created_at"}
    assert ql.get(team.admin, "opportunity", opp["id"])["version"] == 1
    assert (count(ql, "account"), count(ql, "contract")) == (1, 0)


def test_account_names_are_unique_ignoring_case(ql: Any, team: Team):
    acme = account(ql, team.admin, "Acme")
    with pytest.raises(Conflict, match="Account name 'ACME' is already used") as info:
        account(ql, team.rep_a, "ACME")
    assert info.value.details[0]["field"] == "name"
    other = account(ql, team.admin, "Globex")
    with pytest.raises(Conflict, match="already used"):
        ql.update(team.admin, "account", other["id"], {"name": "acme"})
    assert ql.update(team.admin, "account", acme["id"], {"name": "ACME"})["name"] == "ACME"
    with pytest.raises(Conflict, match="Account name"):  # the database index backs it up
        ql.bulk_insert(team.admin, "account", [{"name": "acme", "phone": "+1 555 0100"}])
    with pytest.raises(Conflict, match="row 2"):
        ql.insert_many(team.admin, "account", [{"name": "Zeta", "phone": "+1 555 0100"},
                                               {"name": "ZETA", "phone": "+1 555 0100"}])
    assert count(ql, "account") == 2


def test_contact_emails_are_unique(ql: Any, team: Team):
    acc = account(ql, team.admin)["id"]
    ql.insert(team.admin, "contact", {"last_name": "A", "account": acc, "email": "a@x.example"})
    with pytest.raises(Conflict, match=r"Email 'a@x\.example'") as info:
        ql.insert(team.admin, "contact", {"last_name": "B", "account": acc,
                                          "email": "a@x.example"})
    assert info.value.details[0]["field"] == "email"
    for name in ("C", "D"):  # no email at all is not a clash
        ql.insert(team.admin, "contact", {"last_name": name, "account": acc, "phone": "55555"})
    assert count(ql, "contact") == 3


def test_lookups_must_point_at_existing_records(ql: Any, team: Team):
    acc = account(ql, team.admin)["id"]
    errors = invalid(opportunity, ql, team.admin, "doesnotexist1")
    assert "no account with id 'doesnotexist1'" in errors["account"]
    errors = invalid(account, ql, team.admin, "Owned", owner="nosuchuser1")
    assert "no user with id" in errors["owner"]
    assert "expected the id" in invalid(ql.insert, team.admin, "contact", {
        "last_name": "X", "account": "!!bad!!", "phone": "55555"})["account"]
    opp = opportunity(ql, team.admin, acc)
    assert "no contact" in invalid(ql.update, team.admin, "opportunity", opp["id"],
                                   {"contact": "ghost"})["contact"]
    assert ql.get(team.admin, "opportunity", opp["id"])["contact"] is None
    assert count(ql, "opportunity") == 1 and count(ql, "account") == 1


def test_account_validation_rules(ql: Any, team: Team):
    industry = rule(ql, "account", "require_industry_for_high_revenue")
    reach = rule(ql, "account", "require_email_or_phone")
    assert invalid(account, ql, team.admin, "Big", annual_revenue=20_000_000) == {
        "industry": industry}
    account(ql, team.admin, "Big", annual_revenue=20_000_000, industry="energy")
    account(ql, team.admin, "Edge", annual_revenue=10_000_000)  # not above the limit
    assert invalid(ql.insert, team.admin, "account", {"name": "Mute"}) == {"phone": reach}
    mail = ql.insert(team.admin, "account", {"name": "Mail", "email": "m@x.example"})
    assert invalid(ql.update, team.admin, "account", mail["id"], {"email": None}) == {
        "phone": reach}
    assert ql.update(team.admin, "account", mail["id"], {"email": None, "phone": "55555"}
                     )["phone"] == "55555"


def test_contact_validation_rule(ql: Any, team: Team):
    acc = account(ql, team.admin)["id"]
    assert invalid(ql.insert, team.admin, "contact", {"last_name": "X", "account": acc}) == {
        "email": rule(ql, "contact", "require_email_or_phone")}
    for reach in ({"email": "x@y.example"}, {"phone": "55555"}, {"mobile_phone": "55555"}):
        ql.insert(team.admin, "contact", {"last_name": "X", "account": acc, **reach})
    assert count(ql, "contact") == 3


def test_opportunity_validation_rules(ql: Any, team: Team):
    acc = account(ql, team.admin)["id"]
    lost = rule(ql, "opportunity", "require_loss_reason_when_lost")
    amount = rule(ql, "opportunity", "amount_required_when_won")
    assert invalid(opportunity, ql, team.admin, acc, stage="closed_lost") == {"loss_reason": lost}
    opportunity(ql, team.admin, acc, stage="closed_lost", loss_reason="price")
    assert invalid(opportunity, ql, team.admin, acc, stage="closed_won") == {"amount": amount}
    opportunity(ql, team.admin, acc, stage="closed_won", amount=10)
    deal = opportunity(ql, team.admin, acc)
    assert invalid(ql.update, team.admin, "opportunity", deal["id"],
                   {"stage": "closed_won"}) == {"amount": amount}
    assert ql.get(team.admin, "opportunity", deal["id"])["stage"] == "prospecting"


def test_close_date_only_checked_when_created_or_redated(ql: Any, team: Team):
    acc = account(ql, team.admin)["id"]
    past = rule(ql, "opportunity", "close_date_in_future")
    assert invalid(opportunity, ql, team.admin, acc, close_date="2025-05-13") == {
        "close_date": past}
    opportunity(ql, team.admin, acc, close_date="2025-05-14")  # today is fine
    opportunity(ql, team.admin, acc, close_date="2024-01-01", stage="closed_won", amount=5)
    ql.clock = fixed_clock(datetime(2025, 1, 10))
    old = opportunity(ql, team.admin, acc, close_date="2025-02-01")
    ql.clock = fixed_clock(NOW)  # months later the deal is overdue, but still editable
    assert ql.update(team.admin, "opportunity", old["id"], {"next_step": "call"})["version"] == 2
    assert invalid(ql.update, team.admin, "opportunity", old["id"],
                   {"close_date": "2025-03-01"}) == {"close_date": past}
    assert ql.update(team.admin, "opportunity", old["id"], {"close_date": "2025-06-01"}
                     )["close_date"] == date(2025, 6, 1)


def test_contract_validation_rules(ql: Any, team: Team):
    acc = account(ql, team.admin)["id"]
    after = rule(ql, "contract", "end_date_after_start_date")
    signed = rule(ql, "contract", "require_signature_for_activation")
    for end in ("2025-06-01", "2025-05-01"):
        assert invalid(contract, ql, team.admin, acc, end_date=end) == {"end_date": after}
    contract(ql, team.admin, acc, end_date="2025-06-02")
    contract(ql, team.admin, acc)
    assert invalid(contract, ql, team.admin, acc, status="activated") == {"status": signed}
    assert invalid(contract, ql, team.admin, acc, status="activated",
                   customer_signed_date="2025-05-01") == {"status": signed}
    done = contract(ql, team.admin, acc, status="activated", customer_signed_date="2025-05-01",
                    company_signed_date="2025-05-02")
    assert done["status"] == "activated" and count(ql, "contract") == 3


def test_formulas_are_computed_and_recomputed(ql: Any, team: Team):
    acc = account(ql, team.admin)["id"]
    opp = opportunity(ql, team.admin, acc, stage="proposal", amount=1000)
    assert (opp["expected_revenue"], opp["is_won"], opp["is_closed"]) == (600, False, False)
    assert ql.update(team.admin, "opportunity", opp["id"], {"amount": 2000}
                     )["expected_revenue"] == 1200
    ql.update(team.admin, "opportunity", opp["id"], {"stage": "closed_won"})
    won = ql.get(team.admin, "opportunity", opp["id"])
    assert (won["expected_revenue"], won["is_won"], won["is_closed"]) == (2000, True, True)
    assert ql.count(team.admin, "opportunity", filters=[["is_won", "=", True]]) == (1, False)
    ql.update(team.admin, "opportunity", opp["id"], {"stage": "closed_lost",
                                                     "loss_reason": "timing"})
    lost = ql.get(team.admin, "opportunity", opp["id"])
    assert (lost["expected_revenue"], lost["is_won"], lost["is_closed"]) == (0, False, True)


def test_contract_numbers_count_up_in_their_format(ql: Any, team: Team):
    acc = account(ql, team.admin)["id"]
    first = contract(ql, team.admin, acc)["contract_number"]
    second = contract(ql, team.admin, acc)["contract_number"]
    ql.clock = fixed_clock(datetime(2025, 5, 15, 8, 0))
    batch = ql.insert_many(team.admin, "contract", [
        {"account": acc, "start_date": "2025-06-01", "contract_value": 1}] * 2)
    numbers = [first, second, *(r["contract_number"] for r in batch)]
    assert numbers[:2] == ["CT-20250514-0001", "CT-20250514-0002"]
    assert all(re.fullmatch(r"CT-20250515-\d{4}", n) for n in numbers[2:])
    assert [int(n[-4:]) for n in numbers] == [1, 2, 3, 4]


def test_delete_cascades_restricts_and_clears(ql: Any, team: Team):
    admin = team.admin
    acme, other = account(ql, admin, "Acme")["id"], account(ql, admin, "Other")["id"]
    people = [ql.insert(admin, "contact", {"last_name": n, "account": acme, "phone": "55555"}
                        )["id"] for n in ("A", "B")]
    keep = ql.insert(admin, "contact", {"last_name": "C", "account": other, "phone": "55555"})
    deals = [opportunity(ql, admin, acme, contact=people[0])["id"] for _ in range(2)]
    paper = contract(ql, admin, acme)["id"]
    with pytest.raises(Conflict) as info:
        ql.delete(admin, "account", acme)
    assert "Cannot delete account 'Acme'" in info.value.message
    assert "2 opportunities (via Account)" in info.value.message
    assert "1 contract (via Account)" in info.value.message
    assert count(ql, "contact") == 3 and count(ql, "account") == 2  # nothing half-done
    ql.delete(admin, "contact", people[0])  # set_null: the deals lose their contact
    cleared = ql.get(admin, "opportunity", deals[0])
    assert (cleared["contact"], cleared["version"]) == (None, 2)
    assert ql.history(admin, "opportunity", deals[0])[0]["changes"] == {
        "contact": [people[0], None]}
    ql.delete_many(admin, "opportunity", deals)
    ql.delete(admin, "contract", paper)
    ql.delete(admin, "account", acme)  # cascade: its contacts go with it
    assert [r["id"] for r in ql.find(admin, "contact").records] == [keep["id"]]
    with pytest.raises(NotFound):
        ql.get(admin, "contact", people[1])


def test_insert_many_is_all_or_nothing_unless_asked(ql: Any, team: Team):
    rows = [{"name": "One", "phone": "55555"}, {"name": "Two", "industry": "spaceflight",
                                                "phone": "55555"},
            {"name": "Three", "phone": "55555"}]
    before = audit_count(ql)
    with pytest.raises(ValidationError, match=r"^row 2: industry") as info:
        ql.insert_many(team.admin, "account", rows)
    assert info.value.extra["row"] == 1
    assert count(ql, "account") == 0 and audit_count(ql) == before
    results = ql.insert_many(team.admin, "account", rows, all_or_nothing=False)
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["error"]["code"] == "validation_failed"
    assert results[1]["error"]["details"][0]["field"] == "industry"
    assert {r["name"] for r in ql.find(team.admin, "account").records} == {"One", "Three"}


def test_update_many_and_delete_many(ql: Any, team: Team):
    admin = team.admin
    a, b, c = (account(ql, admin, n)["id"] for n in ("A", "B", "C"))
    opportunity(ql, admin, c)
    ql.update_many(admin, "account", [{"id": a, "rating": "hot"},
                                      {"id": b, "rating": "warm", "version": 1}])
    assert [ql.get(admin, "account", i)["rating"] for i in (a, b)] == ["hot", "warm"]
    with pytest.raises(NotFound, match="row 2"):
        ql.update_many(admin, "account", [{"id": a, "rating": "cold"},
                                          {"id": "missing", "rating": "cold"}])
    assert ql.get(admin, "account", a)["rating"] == "hot"
    with pytest.raises(ValidationError, match="id"):
        ql.update_many(admin, "account", [{"rating": "cold"}])
    results = ql.update_many(admin, "account", [{"id": a, "rating": "cold"},
                                                {"id": b, "version": 1, "rating": "cold"}],
                             all_or_nothing=False)
    assert [r["ok"] for r in results] == [True, False]
    assert results[1]["error"]["code"] == "conflict"
    with pytest.raises(Conflict, match="row 2"):
        ql.delete_many(admin, "account", [a, c])
    assert count(ql, "account") == 3
    results = ql.delete_many(admin, "account", [a, c], all_or_nothing=False)
    assert [(r["ok"], r.get("id") or r["record"]["id"]) for r in results] == [(True, a),
                                                                              (False, c)]
    assert "Cannot delete account 'C'" in results[1]["error"]["message"]
    assert {r["id"] for r in ql.find(admin, "account").records} == {b, c}


def test_bulk_insert_is_typed_and_checked(ql: Any, team: Team):
    rows = [{"name": f"Bulk {i}", "phone": "+1 555 0100", "annual_revenue": "5,000"}
            for i in range(3)]
    assert ql.bulk_insert(team.rep_a, "account", rows) == 3
    stored = ql.find(team.admin, "account", sort="name").records
    assert [(r["name"], r["annual_revenue"], r["customer_status"], r["owner"], r["version"])
            for r in stored] == [(f"Bulk {i}", 5000, "prospect", team.rep_a.user_id, 1)
                                 for i in range(3)]
    for bad, words in (({"name": "X", "rating": "tepid"}, "row 2: rating"),
                       ({"name": "X"}, "row 2: phone")):  # a validation rule, too
        with pytest.raises(ValidationError, match=words):
            ql.bulk_insert(team.rep_a, "account", [
                {"name": "Fine", "phone": "55555"}, bad])
    assert count(ql, "account") == 3


def test_audit_trail_records_who_changed_what(ql: Any, team: Team):
    acc = account(ql, team.rep_a, "Acme")
    ql.clock = fixed_clock(datetime(2025, 5, 14, 10, 0))
    ql.update(team.admin, "account", acc["id"], {"industry": "technology"})
    ql.clock = fixed_clock(datetime(2025, 5, 14, 11, 0))
    ql.update(team.admin, "account", acc["id"], {"industry": "finance", "rating": "hot"})
    entries = ql.history(team.admin, "account", acc["id"])
    assert [e["action"] for e in entries] == ["update", "update", "insert"]
    assert [e["user_id"] for e in entries] == [team.admin.user_id, team.admin.user_id,
                                               team.rep_a.user_id]
    assert entries[0]["changes"] == {"industry": ["technology", "finance"], "rating": [None,
                                                                                      "hot"]}
    assert entries[1]["changes"] == {"industry": [None, "technology"]}  # no stamps, no version
    created = entries[2]["changes"]
    assert created["name"] == [None, "Acme"] and created["owner"] == [None, team.rep_a.user_id]
    assert created["customer_status"] == [None, "prospect"]
    assert not {"id", "version", "created_at", "modified_at", "created_by"} & set(created)
    opp = opportunity(ql, team.admin, acc["id"])
    ql.update(team.admin, "opportunity", opp["id"], {"close_date": "2025-07-31"})
    assert ql.history(team.admin, "opportunity", opp["id"])[0]["changes"] == {
        "close_date": ["2025-06-30", "2025-07-31"]}
    with pytest.raises(NotFound):  # someone else's private deal has no visible history
        ql.history(team.rep_b, "opportunity", opp["id"])
    ql.delete(team.admin, "opportunity", opp["id"])
    with ql.engine.connect() as conn:
        gone = conn.execute(select(AUDIT).where(AUDIT.c.record_id == opp["id"],
                                                AUDIT.c.action == "delete")).one()
    assert gone.user_id == team.admin.user_id
    assert gone.changes["name"] == ["Deal", None]
