"""Record form logic without a browser, on the real metadata and permission sets."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from app.metadata import load_registry
from app.objectql.context import Context
from app.objectql.errors import Conflict, ValidationError
from app.objectql.service import ObjectQL
from app.security import PermissionPolicy
from components.record_form import (
    FormState,
    check_value,
    clone_values,
    create_defaults,
    form_sections,
    from_form_value,
    is_stale,
    prefill_from_params,
    same,
    slugify,
    to_form_value,
)

ROOT = Path(__file__).resolve().parents[2]
REP = Context(user_id="u-rep", role="sales_rep", name="Rita Rep")
VIEWER = Context(user_id="u-view", role="viewer")
ADMIN = Context(user_id="u-admin", role="admin")


@pytest.fixture(scope="module")
def ql() -> ObjectQL:
    # No query runs here: the service only answers metadata and permission questions.
    return ObjectQL(create_engine("sqlite://"), load_registry(ROOT / "metadata"),
                    security=PermissionPolicy())


def opportunity(**values: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": "opp1", "version": 3, "name": "Big deal", "account": "acc1", "contact": None,
        "amount": 1000.0, "close_date": date(2030, 1, 31), "stage": "proposal",
        "probability": 60, "expected_revenue": 600.0, "quantity": 500, "discount": None,
        "loss_reason": None, "type": "new_business", "is_won": False, "is_closed": False,
    }
    record.update(values)
    return record


def edit_state(ql: ObjectQL, ctx: Context = REP, **values: object) -> FormState:
    obj = ql.object("opportunity")
    return FormState(obj, form_sections(ql, ctx, obj), opportunity(**values))


# -- sections and field rights ------------------------------------------------------------------
def test_sections_follow_the_layout_with_field_rights(ql: ObjectQL) -> None:
    sections = form_sections(ql, REP, ql.object("opportunity"))
    assert [s.label for s in sections] == ["Basic information", "Sales details", "Financials",
                                           "Loss details", "Other"]
    assert [s.slug for s in sections][3] == "loss-details"
    specs = {f.name: f for s in sections for f in s.fields}
    assert specs["name"].editable and specs["name"].required
    assert not specs["probability"].editable  # the rep's permission set: read, not edit
    assert not specs["expected_revenue"].editable  # formula
    assert not specs["is_won"].editable
    admin = {f.name: f for s in form_sections(ql, ADMIN, ql.object("opportunity"))
             for f in s.fields}
    assert admin["probability"].editable


def test_fields_the_user_cannot_read_are_absent(ql: ObjectQL) -> None:
    names = {f.name for s in form_sections(ql, VIEWER, ql.object("account")) for f in s.fields}
    assert "annual_revenue" not in names and "number_of_employees" in names
    contract = {f.name for s in form_sections(ql, VIEWER, ql.object("contract"))
                for f in s.fields}
    assert "contract_value" not in contract
    autonumber = next(f for s in form_sections(ql, ADMIN, ql.object("contract"))
                      for f in s.fields if f.name == "contract_number")
    assert not autonumber.editable


def test_slugify() -> None:
    assert slugify("Basic information") == "basic-information"
    assert slugify("Terms & renewal (2)") == "terms-renewal-2"
    assert slugify("!!!") == "section"


# -- values -------------------------------------------------------------------------------------
def test_value_conversions(ql: ObjectQL) -> None:
    opp = ql.object("opportunity")
    close, amount, qty = opp.fields["close_date"], opp.fields["amount"], opp.fields["quantity"]
    activity = ql.object("activity")
    when, minutes = activity.fields["activity_date"], activity.fields["duration_minutes"]
    assert to_form_value(close, date(2030, 1, 31)) == "2030-01-31"
    assert to_form_value(when, datetime(2030, 1, 31, 9, 5)) == "2030-01-31 09:05"
    assert to_form_value(when, "2030-01-31T09:05:00") == "2030-01-31 09:05"
    assert from_form_value(when, "2030-01-31 09:05") == "2030-01-31T09:05:00"
    assert from_form_value(amount, "1,250.5") == 1250.5
    assert from_form_value(minutes, 30.0) == 30 and isinstance(from_form_value(minutes, 30.0), int)
    assert from_form_value(close, "  ") is None
    assert same(qty, 500, "500.0") and same(amount, None, "") and not same(amount, 1, 2)
    assert to_form_value(ql.object("contact").fields["is_active"], None) is False


def test_format_checks_use_the_server_rules(ql: ObjectQL) -> None:
    email = ql.object("contact").fields["email"]
    assert check_value(email, "x@example.com") is None
    assert "not a valid email" in (check_value(email, "not-an-email") or "")
    website = ql.object("account").fields["website"]
    assert check_value(website, "javascript:alert(1)") is not None


# -- dirty tracking and payload ---------------------------------------------------------------
def test_dirty_tracking_and_payload_of_an_edit(ql: ObjectQL) -> None:
    state = edit_state(ql)
    assert not state.is_dirty and state.payload() == {}
    state.set("quantity", 500.0)  # the same number as the widget holds it
    state.set("close_date", "2030-01-31")
    assert not state.is_dirty
    state.set("next_step", "Call back")
    state.set("amount", 2500.0)
    assert state.dirty_fields == ["next_step", "amount"]
    assert state.payload() == {"next_step": "Call back", "amount": 2500}
    state.set("next_step", "")
    assert state.payload() == {"amount": 2500}
    assert state.version == 3


def test_fields_the_user_cannot_edit_are_never_sent(ql: ObjectQL) -> None:
    state = edit_state(ql)
    state.set("probability", 99.0)  # not editable for a rep
    state.set("expected_revenue", 1.0)  # formula
    assert state.payload() == {} and not state.is_dirty


# -- visible_when -------------------------------------------------------------------------------
def test_visible_when_is_evaluated_live(ql: ObjectQL) -> None:
    state = edit_state(ql)
    fields, sections = state.visibility()
    assert not fields["loss_reason"] and not sections["loss-details"]
    state.set("stage", "closed_lost")
    fields, sections = state.visibility()
    assert fields["loss_reason"] and sections["loss-details"]
    assert "loss_reason" in state.visible_names()


def test_hidden_fields_are_not_sent(ql: ObjectQL) -> None:
    state = edit_state(ql)
    state.set("stage", "closed_lost")
    state.set("loss_reason", "price")
    assert state.payload() == {"stage": "closed_lost", "loss_reason": "price"}
    state.set("stage", "negotiation")
    assert state.payload() == {"stage": "negotiation"}


# -- errors ---------------------------------------------------------------------------------------
def test_validation_errors_land_on_their_fields(ql: ObjectQL) -> None:
    state = edit_state(ql, stage="closed_lost")
    exc = ValidationError.of([
        ("loss_reason", "Please give a loss reason when the opportunity is closed lost."),
        ("amount", "Amount must be at least 0"),
        (None, "Something about the whole record"),
        ("probability", "not editable"),
    ])
    summary = state.apply_error(exc)
    assert state.errors == {
        "loss_reason": "Please give a loss reason when the opportunity is closed lost.",
        "amount": "Amount must be at least 0",
        "probability": "not editable",
    }
    assert summary == [
        "Loss reason: Please give a loss reason when the opportunity is closed lost.",
        "Amount must be at least 0",
        "Something about the whole record",
        "Probability (%): not editable",
    ]
    state.set("amount", 5.0)
    assert "amount" not in state.errors


def test_errors_of_hidden_fields_only_reach_the_summary(ql: ObjectQL) -> None:
    state = edit_state(ql)  # loss_reason is hidden while the stage is open
    summary = state.apply_error(ValidationError.of([("loss_reason", "needed")]))
    assert state.errors == {} and summary == ["Loss reason: needed"]
    assert state.apply_error(Conflict("Opportunity conflicts")) == ["Opportunity conflicts"]


def test_stale_version_is_told_apart_from_other_conflicts() -> None:
    assert is_stale(Conflict("changed by someone else", current_version=4))
    assert not is_stale(Conflict("Name 'x' is already used", [{"field": "name",
                                                               "message": "used"}]))
    assert not is_stale(ValidationError("bad"))


def test_rebase_keeps_every_unsaved_value(ql: ObjectQL) -> None:
    state = edit_state(ql)
    state.set("next_step", "Mine")  # also changed by them: conflict
    state.set("quantity", 7.0)  # only mine
    state.set("type", "renewal")  # they changed it to the same value: no conflict
    current = opportunity(version=4, next_step="Theirs", amount=9999.0, type="renewal")
    yours = state.rebase(current)
    assert yours == {"next_step": "Mine"}
    assert state.values["next_step"] == "Theirs"  # the widget shows the stored value ...
    assert state.values["quantity"] == 7.0  # ... untouched edits stay in the form
    assert state.values["amount"] == 9999.0  # their change is shown
    assert state.version == 4
    assert state.payload() == {"quantity": 7}
    assert state.use_mine("next_step") == "Mine"
    assert state.payload() == {"next_step": "Mine", "quantity": 7} and state.yours == {}


# -- the create form ----------------------------------------------------------------------------
def test_create_defaults(ql: ObjectQL) -> None:
    contract = create_defaults(ql.object("contract"), REP, date(2030, 5, 1))
    assert contract["status"] == "draft"
    contact = create_defaults(ql.object("contact"), REP, date(2030, 5, 1))
    assert contact["is_active"] is True


def test_query_parameters_prefill_editable_fields(ql: ObjectQL) -> None:
    obj = ql.object("opportunity")
    sections = form_sections(ql, REP, obj)
    values = prefill_from_params(sections, {
        "account": "acc1", "amount": "1500", "close_date": "2031-02-03", "stage": "nope",
        "probability": "50", "unknown": "x", "clone": "opp9", "type": "renewal"})
    assert values == {"account": "acc1", "amount": 1500.0, "close_date": "2031-02-03",
                      "type": "renewal"}
    contact = form_sections(ql, REP, ql.object("contact"))
    assert prefill_from_params(contact, {"do_not_call": "1", "is_active": "false"}) == {
        "do_not_call": True, "is_active": False}


def test_create_payload_sends_filled_fields_and_defaults_turned_off(ql: ObjectQL) -> None:
    obj = ql.object("contact")
    sections = form_sections(ql, REP, obj)
    initial = {**create_defaults(obj, REP, date(2030, 1, 1)),
               **prefill_from_params(sections, {"account": "acc1"})}
    state = FormState.for_create(obj, sections, initial)
    assert not state.is_dirty  # prefilled values are not the user's changes
    state.set("last_name", "Ng")
    state.set("is_active", False)  # default true: unchecking it must reach the server
    assert state.is_dirty
    assert state.payload() == {"last_name": "Ng", "account": "acc1", "is_active": False}


def test_clone_copies_editable_values_but_not_unique_ones(ql: ObjectQL) -> None:
    obj = ql.object("account")
    sections = form_sections(ql, REP, obj)
    record = {"id": "a1", "name": "Acme", "account_number": "ACC-1", "industry": "retail",
              "annual_revenue": 5.0, "owner": "u-x", "created_at": datetime(2030, 1, 1)}
    values = clone_values(obj, sections, record)
    assert values["name"] == "Acme (copy)"
    assert "account_number" not in values and "created_at" not in values
    assert values["industry"] == "retail" and values["annual_revenue"] == 5.0
