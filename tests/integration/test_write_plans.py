"""The write path works out once per object definition what it needs about the object
(app/objectql/write_plan.py): field lists, formulas, rollup riders and the input check
per role and field set. A metadata or permission change must reach the very next save,
and a value a trigger changes must still be checked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.core import Services
from app.objectql import Context
from app.objectql.errors import PermissionDenied, ValidationError
from app.triggers.registry import _TRIGGERS, TriggerContext, trigger
from tests.conftest import make_team
from tests.integration.studio_support import backend, svc

__all__ = ["backend", "svc"]  # fixtures

SYSTEM = Context.system()


def test_a_field_made_read_only_for_a_role_refuses_the_next_save(svc: Services) -> None:
    team = make_team(svc.ql)
    data = {"name": "Phone first", "phone": "555-0100"}
    svc.ql.insert(team.rep_a, "account", data)  # the check of these names is remembered
    doc = svc.studio.permissions_document("sales_rep")
    doc.setdefault("fields", {}).setdefault("account", {})["phone"] = {"read": True,
                                                                      "edit": False}
    svc.studio.save_permissions(team.admin, "sales_rep", doc, base_version=0)
    with pytest.raises(PermissionDenied, match="phone"):
        svc.ql.insert(team.rep_a, "account", {**data, "name": "Phone second"})
    saved = svc.ql.insert(team.admin, "account", {**data, "name": "Admin may"})
    assert saved["phone"] == "555-0100"


def test_a_new_validation_rule_and_required_field_apply_to_the_next_save(
        svc: Services) -> None:
    svc.ql.insert(SYSTEM, "account", {"name": "Before", "phone": "555-0100"})
    doc = svc.studio.object_document("account")
    doc["validation_rules"].append({"name": "no_test_names", "condition": "name == 'Test'",
                                    "message": "Test is not a name", "field": "name"})
    doc["fields"]["website"] = {**doc["fields"]["website"], "required": True}
    svc.studio.save_object(SYSTEM, "account", doc, base_version=0)
    with pytest.raises(ValidationError) as refused:
        svc.ql.insert(SYSTEM, "account", {"name": "Test", "phone": "555-0100"})
    fields = {d["field"] for d in refused.value.details}
    assert fields == {"name", "website"}
    saved = svc.ql.insert(SYSTEM, "account", {"name": "After", "phone": "555-0100",
                                              "website": "https://example.com"})
    assert saved["website"] == "https://example.com"


@pytest.fixture
def amount_trigger() -> Iterator[list[Any]]:
    """A before_insert trigger on opportunity that sets `amount` to the list's value."""
    value: list[Any] = []

    def set_amount(tc: TriggerContext) -> None:
        if value:
            assert tc.new is not None
            tc.new["amount"] = value[0]

    trigger("opportunity", "before_insert")(set_amount)
    yield value
    _TRIGGERS[("opportunity", "before_insert")].remove(set_amount)


def test_a_value_a_trigger_sets_is_still_coerced_and_checked(
        svc: Services, amount_trigger: list[Any]) -> None:
    account = svc.ql.insert(SYSTEM, "account", {"name": "Acme", "phone": "555-0100"})
    deal = {"name": "Deal", "account": account["id"], "stage": "prospecting",
            "amount": 100, "close_date": "2030-01-31"}
    amount_trigger.append("1,250.5")  # text: the save stores the number
    saved = svc.ql.insert(SYSTEM, "opportunity", deal)
    assert saved["amount"] == 1250.5
    assert svc.ql.get(SYSTEM, "opportunity", saved["id"])["amount"] == 1250.5
    amount_trigger[0] = "lots"
    with pytest.raises(ValidationError, match="not a number"):
        svc.ql.insert(SYSTEM, "opportunity", deal)


def test_a_changed_formula_and_a_new_field_reach_the_next_save(svc: Services) -> None:
    """The expression closures, the insert's parameter names and the statements compiled
    once (storage/prepared.py) all belong to a definition: the next save uses the new."""
    account = svc.ql.insert(SYSTEM, "account", {"name": "Acme", "phone": "555-0100"})
    deal = {"name": "Deal", "account": account["id"], "amount": 1000,
            "stage": "qualification", "close_date": "2027-01-06"}
    before = svc.ql.insert(SYSTEM, "opportunity", deal)
    assert before["expected_revenue"] == 200
    doc = svc.studio.object_document("opportunity")
    doc["fields"]["expected_revenue"] = {**doc["fields"]["expected_revenue"],
                                         "formula": "amount * probability / 50"}
    doc["fields"]["region_code"] = {"type": "text", "label": "Region code"}
    svc.studio.save_object(SYSTEM, "opportunity", doc, base_version=0)
    after = svc.ql.insert(SYSTEM, "opportunity", {**deal, "region_code": "EU-1"})
    assert after["expected_revenue"] == 400
    assert svc.ql.get(SYSTEM, "opportunity", after["id"])["region_code"] == "EU-1"
    assert svc.ql.get(SYSTEM, "opportunity", before["id"])["expected_revenue"] == 200
