"""What a live metadata change keeps and what it drops (app/metadata/live.py): the
objects a change leaves alone keep their ObjectDef, table and cached plans across the
swap; the changed object, and every object reaching it through a lookup, get new ones;
a permission change drops every plan. Reads after the change match the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.core import Services
from app.objectql import Context
from tests.conftest import make_team
from tests.integration.studio_support import backend, region_field, svc

__all__ = ["backend", "svc"]  # fixtures

SYSTEM = Context.system()


def _plans(svc: Services, name: str) -> dict[tuple[Any, ...], Any]:
    """ObjectQL's cached plans of object `name` (keys: kind, id(obj), name, ...)."""
    return {k: v for k, v in svc.ql._plans.items() if k[2] == name}


def _serve(svc: Services, ctx: Context, account_id: str) -> None:
    """The bench's requests (bench/metadata.py), twice: the second round is cached."""
    for _ in range(2):
        svc.ql.find(ctx, "account", view="all", limit=25, with_total=True)
        svc.ql.get(ctx, "account", account_id)
        svc.ql.count(ctx, "account", filters=[["name", ">=", "A"]])
        svc.ql.find(ctx, "contact", fields=["last_name", "account.name"], limit=25)


def _count(svc: Services, sql: str) -> int:
    with svc.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_an_apply_to_contact_keeps_accounts_definition_table_and_plans(
        svc: Services) -> None:
    team = make_team(svc.ql)
    account = svc.ql.insert(team.rep_a, "account", {"name": "Kept", "phone": "555-0100"})
    svc.ql.insert(team.rep_a, "contact", {"last_name": "Lee", "account": account["id"],
                                          "email": "lee@example.com"})
    _serve(svc, team.rep_a, account["id"])
    obj, table = svc.ql.object("account"), svc.ql.schema.table("account")
    account_plans = _plans(svc, "account")
    assert {k[0] for k in account_plans} >= {"find", "count", "readable"}
    assert _plans(svc, "contact")
    contact_table = svc.ql.schema.table("contact")

    doc = svc.studio.object_document("contact")
    doc["fields"]["region"] = region_field()
    svc.studio.save_object(SYSTEM, "contact", doc, base_version=0)

    assert svc.ql.object("account") is obj
    assert svc.ql.schema.table("account") is table
    assert svc.ql.schema.table("contact") is not contact_table
    kept = _plans(svc, "account")
    assert kept.keys() == account_plans.keys()
    assert all(kept[k] is account_plans[k] for k in kept), "account's plans were rebuilt"
    assert not _plans(svc, "contact"), "contact changed: its plans must go"
    # The kept plans still answer right, and contact serves its new field.
    assert svc.ql.count(team.rep_a, "account", filters=[["name", ">=", "A"]]) == (
        _count(svc, "SELECT count(*) FROM account WHERE name >= 'A'"), False)
    assert svc.ql.get(team.rep_a, "account", account["id"])["name"] == "Kept"
    lee = svc.ql.find_one(team.rep_a, "contact", fields=["region", "account.name"])
    assert lee is not None and lee["account.name"] == "Kept" and lee["region"] is None


def test_an_apply_to_account_drops_the_plans_of_objects_looking_it_up(
        svc: Services) -> None:
    """contact joins account (`account.name`): a change to account must not leave a
    contact plan built against account's old definition."""
    team = make_team(svc.ql)
    account = svc.ql.insert(team.rep_a, "account", {"name": "Parent", "phone": "555-0100"})
    lee = svc.ql.insert(team.rep_a, "contact", {"last_name": "Lee", "account": account["id"],
                                                "email": "lee@example.com"})
    _serve(svc, team.rep_a, account["id"])
    svc.ql.readable_fields(team.rep_a, svc.ql.object("user"))
    user_plans = _plans(svc, "user")
    assert user_plans

    doc = svc.studio.object_document("account")
    doc["fields"]["region"] = region_field()
    svc.studio.save_object(SYSTEM, "account", doc, base_version=0)

    assert not _plans(svc, "account") and not _plans(svc, "contact")
    assert _plans(svc, "user") == user_plans  # user looks nothing up that changed
    svc.ql.update(team.rep_a, "account", account["id"], {"region": "emea"})
    found = svc.ql.get(team.rep_a, "contact", lee["id"], fields=["account.region"])
    assert found["account.region"] == "emea"


def test_a_lookup_to_a_kept_table_is_added_and_links(svc: Services) -> None:
    """The changed table is built anew while account's is carried over: its lookup to
    account names the kept table's column, and must still add and link. (As before the
    carried-over tables, a column added live gets no FOREIGN KEY constraint.)"""
    account = svc.ql.insert(SYSTEM, "account", {"name": "Referrer", "phone": "555-0100"})
    doc = svc.studio.object_document("contact")
    doc["fields"]["referred_by"] = {"type": "lookup", "label": "Referred by",
                                    "reference_to": "account", "delete_behavior": "set_null"}
    svc.studio.save_object(SYSTEM, "contact", doc, base_version=0)
    contact = svc.ql.insert(SYSTEM, "contact", {"last_name": "Kim", "account": account["id"],
                                                "email": "kim@example.com",
                                                "referred_by": account["id"]})
    found = svc.ql.get(SYSTEM, "contact", contact["id"], fields=["referred_by.name"])
    assert found["referred_by.name"] == "Referrer"


def test_a_permission_change_drops_every_plan(svc: Services) -> None:
    team = make_team(svc.ql)
    account = svc.ql.insert(team.rep_a, "account", {"name": "Mine", "phone": "555-0100"})
    _serve(svc, team.rep_a, account["id"])
    before = dict(svc.ql._plans)
    doc = svc.studio.permissions_document("sales_rep")
    doc["objects"]["account"] = {**doc["objects"]["account"], "read": False}
    svc.studio.save_permissions(team.admin, "sales_rep", doc, base_version=0)
    assert not any(v is before.get(k) for k, v in svc.ql._plans.items())
    assert svc.ql.count(team.admin, "account") == (1, False)
