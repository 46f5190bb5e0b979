"""The board logic behind /o/{object}/kanban: view choice, columns and totals, card
formatting, the payload a drop saves and what a failed drop turns into."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from app.core import Services
from app.metadata.models import ObjectDef
from app.objectql import Context
from app.objectql.errors import Conflict, NotFound, PermissionDenied, ValidationError
from components.kanban_logic import (
    ColumnState,
    NoBoard,
    apply_move,
    board_spec,
    color_hex,
    dialog_testid,
    fields_to_ask,
    follow_up_record,
    format_day,
    format_money,
    initials,
    load_board,
    move_card,
    move_changes,
    nested,
    path_readable,
    summarize,
    view_choices,
    with_filter,
)
from tests.conftest import Team, make_team

SYSTEM = Context.system()
STAGES = ["prospecting", "qualification", "needs_analysis", "proposal", "negotiation",
          "closed_won", "closed_lost"]


@pytest.fixture
def svc(sqlite_services: Services) -> Services:
    return sqlite_services


@pytest.fixture
def opportunity(svc: Services) -> ObjectDef:
    return svc.ql.object("opportunity")


# -- which board -----------------------------------------------------------------------
def test_default_board_is_the_first_view_with_kanban(opportunity: ObjectDef) -> None:
    spec = board_spec(opportunity, None)
    assert spec.view_name == "all"
    assert (spec.group_by, spec.sum_field) == ("stage", "amount")
    assert spec.title_field == "name"
    assert spec.subtitle_path == "account.name"
    assert spec.date_field == "close_date"
    assert spec.owner_path == "owner.name"
    assert spec.card_sort == [["close_date", "desc"]]
    assert spec.fields == ["name", "account.name", "amount", "close_date", "owner.name",
                           "stage", "version"]


def test_view_parameter_picks_a_kanban_view_and_ignores_others(
        opportunity: ObjectDef) -> None:
    assert board_spec(opportunity, "pipeline").view_name == "pipeline"
    assert board_spec(opportunity, "won").view_name == "all"  # no kanban settings
    assert board_spec(opportunity, "nope").view_name == "all"
    assert view_choices(opportunity) == {"all": "All opportunities", "pipeline": "Pipeline"}


def test_objects_without_kanban_have_no_board(svc: Services) -> None:
    with pytest.raises(NoBoard):
        board_spec(svc.ql.object("account"), None)


def test_unreadable_card_details_are_left_out(opportunity: ObjectDef) -> None:
    spec = board_spec(opportunity, None, lambda path: path not in ("amount", "owner.name"))
    assert spec.sum_field is None and spec.owner_path is None
    assert "amount" not in spec.fields


def test_path_readable_follows_lookups(svc: Services, opportunity: ObjectDef) -> None:
    team = make_team(svc.ql)
    assert path_readable(svc.ql, team.rep_a, opportunity, "account.name")
    assert path_readable(svc.ql, team.rep_a, opportunity, "owner.name")
    assert not path_readable(svc.ql, team.rep_a, opportunity, "account.nope")
    assert not path_readable(svc.ql, team.rep_a, opportunity, "nope")


def test_view_filters_stay_a_group_of_their_own() -> None:
    view = [["a", "=", 1], "or", ["b", "=", 2]]
    assert with_filter(view, ["stage", "=", "x"]) == [view, [["stage", "=", "x"]]]
    assert with_filter([], ["stage", "=", "x"]) == [["stage", "=", "x"]]


# -- columns ---------------------------------------------------------------------------
def test_summarize_gives_every_option_in_order_with_colour(opportunity: ObjectDef) -> None:
    stage = opportunity.field("stage")
    assert stage is not None
    rows = [{"stage": "closed_won", "n": 3, "total": 1500.5},
            {"stage": "prospecting", "n": 2, "total": None},
            {"stage": "retired_value", "n": 9, "total": 1}]
    columns = summarize(stage, rows)
    assert [c.value for c in columns] == STAGES
    assert (columns[0].count, columns[0].total) == (2, 0.0)
    assert (columns[5].count, columns[5].total) == (3, 1500.5)
    assert columns[5].color == "#22c55e" and columns[6].color == "#ef4444"
    assert all(c.count == 0 for c in columns[1:5])


def test_more_counts_what_the_column_does_not_show() -> None:
    column = ColumnState("a", "A", "#000", count=120, cards=[{"id": str(i)} for i in range(50)])
    assert column.more == 70
    assert ColumnState("b", "B", "#000", count=0).more == 0


def test_apply_move_moves_the_card_and_adjusts_counts_and_sums() -> None:
    card = {"id": "x", "amount": 100.0, "version": 3, "stage": "proposal"}
    columns = [ColumnState("proposal", "P", "#000", count=2, total=300.0,
                           cards=[card, {"id": "y", "amount": 200.0}]),
               ColumnState("closed_won", "W", "#000", count=5, total=1000.0,
                           cards=[{"id": "z", "amount": 1000.0}])]
    moved = apply_move(columns, "x", "proposal", "closed_won",
                       {"id": "x", "stage": "closed_won", "version": 4, "probability": 100},
                       "amount")
    assert moved["version"] == 4 and moved["stage"] == "closed_won"
    assert "probability" not in moved  # only what the card shows is refreshed
    assert [c["id"] for c in columns[0].cards] == ["y"]
    assert [c["id"] for c in columns[1].cards] == ["x", "z"]
    assert (columns[0].count, columns[0].total) == (1, 200.0)
    assert (columns[1].count, columns[1].total) == (6, 1100.0)


# -- a drop ----------------------------------------------------------------------------
def test_move_changes_sends_the_stage_and_what_was_asked_together() -> None:
    assert move_changes("stage", "closed_lost") == {"stage": "closed_lost"}
    assert move_changes("stage", "closed_lost", {"loss_reason": "price", "stage": "x"}) == \
        {"loss_reason": "price", "stage": "closed_lost"}


def test_fields_to_ask_only_when_every_problem_is_a_simple_field(
        opportunity: ObjectDef) -> None:
    def error(*fields: str) -> ValidationError:
        return ValidationError.of([(f or None, "needed") for f in fields])

    asked = fields_to_ask(opportunity, "stage", error("loss_reason"))
    assert [f.name for f in asked] == ["loss_reason"]
    assert dialog_testid(asked) == "loss-reason-dialog"
    both = fields_to_ask(opportunity, "stage", error("loss_reason", "amount"))
    assert [f.name for f in both] == ["loss_reason", "amount"]
    assert dialog_testid(both) == "missing-fields-dialog"
    assert fields_to_ask(opportunity, "stage", error("")) == []  # object-level rule
    assert fields_to_ask(opportunity, "stage", error("stage")) == []
    assert fields_to_ask(opportunity, "stage", error("expected_revenue")) == []  # formula
    assert fields_to_ask(opportunity, "stage", error("account")) == []  # lookup
    assert fields_to_ask(opportunity, "stage", error("loss_reason"),
                         editable=lambda fd: False) == []


def test_error_text_is_readable_for_each_failure() -> None:
    from components.kanban_logic import error_text

    assert "changed by someone else" in error_text(Conflict("stale"), "Opportunity", "Deal")
    assert error_text(PermissionDenied("no edit access"), "Opportunity", "Deal") == \
        "You may not change this opportunity: no edit access"
    assert "no longer exists" in error_text(NotFound("x"), "Opportunity", "Deal")
    err = ValidationError.of([("amount", "Enter an amount."), (None, "Not today.")])
    assert error_text(err, "Opportunity", "Deal") == "Enter an amount. Not today."
    assert error_text(RuntimeError("boom"), "Opportunity", "Deal") == "Could not move “Deal”."


# -- formatting ------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "compact", "text"), [
    (None, False, "—"), (0, False, "$0"), (1250000, False, "$1,250,000"),
    ("99.6", False, "$100"), (-500, False, "-$500"), (950, True, "$950"),
    (845_000, True, "$845K"), (1_260_000, True, "$1.3M"), (2_000_000, True, "$2M"),
    (123_400_000, True, "$123M"), (4.2e9, True, "$4.2B"),
])
def test_format_money(value: Any, compact: bool, text: str) -> None:
    assert format_money(value, compact=compact) == text


def test_format_day_shows_the_year_only_when_it_differs() -> None:
    today = date(2026, 3, 1)
    assert format_day(date(2026, 11, 5), today) == "Nov 5"
    assert format_day("2027-01-09", today) == "Jan 9, 2027"
    assert format_day(datetime(2026, 2, 3, 10, 0), today) == "Feb 3"
    assert format_day(None, today) == "" and format_day("soon", today) == "soon"


def test_initials_and_colours_and_nested_values() -> None:
    assert initials("Alice Chen") == "AC"
    assert initials("Maria de la Cruz") == "MC"
    assert initials("plato") == "PL"
    assert initials(None) == "?" and initials("  ") == "?"
    assert color_hex("green") == "#22c55e" and color_hex("#123456") == "#123456"
    assert color_hex(None) == color_hex("no-such-colour") == "#94a3b8"
    assert nested({"account.name": "Acme"}, "account.name") == "Acme"
    assert nested({"account": {"name": "Acme"}}, "account.name") == "Acme"
    assert nested({}, "account.name") is None and nested({"a": 1}, None) is None


# -- against ObjectQL (SQLite) ---------------------------------------------------------
def _deals(svc: Services, team: Team) -> dict[str, dict[str, Any]]:
    ql = svc.ql
    acc = ql.insert(team.rep_a, "account", {"name": "Initrode", "phone": "+1 555 0100"})
    soon = date.today() + timedelta(days=30)
    deals = {}
    for i, (name, owner, stage, amount) in enumerate([
            ("Rita big", team.rep_a, "negotiation", 50_000),
            ("Rita small", team.rep_a, "negotiation", 1_000),
            ("Rita early", team.rep_a, "prospecting", None),
            ("Rob deal", team.rep_b, "negotiation", 7_000)]):
        account = acc["id"] if owner is team.rep_a else ql.insert(
            team.rep_b, "account", {"name": f"Rob's {i}", "phone": "+1 555 0101"})["id"]
        deals[name] = ql.insert(owner, "opportunity", {
            "name": name, "account": account, "stage": stage, "amount": amount,
            "close_date": soon + timedelta(days=i)})
    return deals


def test_load_board_counts_in_sql_and_limits_cards(svc: Services,
                                                   opportunity: ObjectDef) -> None:
    team = make_team(svc.ql)
    _deals(svc, team)
    spec = board_spec(opportunity, None)
    columns = {c.value: c for c in load_board(svc.ql, team.rep_a, spec, per_column=1)}
    assert (columns["negotiation"].count, columns["negotiation"].total) == (2, 51_000)
    assert [c["name"] for c in columns["negotiation"].cards] == ["Rita small"]  # newest
    assert columns["negotiation"].more == 1
    assert columns["negotiation"].cards[0]["account.name"] == "Initrode"
    assert columns["negotiation"].cards[0]["owner.name"] == "Rita Rep"
    assert columns["prospecting"].count == 1 and columns["closed_won"].count == 0
    manager = {c.value: c for c in load_board(svc.ql, team.manager, spec)}
    assert manager["negotiation"].count == 3  # both reps report to the manager


def test_move_card_runs_the_trigger_and_asks_for_the_loss_reason(
        svc: Services, opportunity: ObjectDef) -> None:
    team = make_team(svc.ql)
    deals = _deals(svc, team)
    spec = board_spec(opportunity, None)
    big = deals["Rita big"]
    won = move_card(svc.ql, team.rep_a, spec, big, "closed_won")
    assert won.ok and won.record and won.record["stage"] == "closed_won"
    contract = follow_up_record(svc.ql, team.rep_a, spec, "closed_won", big["id"])
    assert contract is not None and contract["contract_number"].startswith("CT-")
    assert follow_up_record(svc.ql, team.rep_a, spec, "negotiation", big["id"]) is None

    small = deals["Rita small"]
    lost = move_card(svc.ql, team.rep_a, spec, small, "closed_lost")
    assert not lost.ok and [f.name for f in lost.ask] == ["loss_reason"]
    assert "loss reason" in lost.message
    saved = move_card(svc.ql, team.rep_a, spec, small, "closed_lost", {"loss_reason": "price"})
    assert saved.ok and saved.record and saved.record["loss_reason"] == "price"

    stale = move_card(svc.ql, team.rep_a, spec, small, "negotiation")  # old version
    assert not stale.ok and not stale.ask and "someone else" in stale.message
    hidden = move_card(svc.ql, team.rep_a, spec, deals["Rob deal"], "proposal")
    assert not hidden.ok and "no longer exists" in hidden.message
    viewer = move_card(svc.ql, team.viewer, spec, deals["Rob deal"], "proposal")
    assert not viewer.ok and viewer.message.startswith("You may not change")
    early = move_card(svc.ql, team.rep_a, spec, deals["Rita early"], "closed_won")
    assert not early.ok and [f.name for f in early.ask] == ["amount"]  # no amount yet


def test_card_and_column_views_are_plain_text(opportunity: ObjectDef) -> None:
    from components.kanban_logic import card_view, column_view

    spec = board_spec(opportunity, None)
    card = {"id": "o1", "name": "<b>Big</b> deal", "account.name": "Acme & Co",
            "amount": 125000, "close_date": "2026-07-04", "owner.name": "Alice Chen",
            "stage": "proposal", "version": 2}
    view = card_view(card, spec, today=date(2026, 1, 1))
    assert view == {"id": "o1", "href": "/o/opportunity/o1", "title": "<b>Big</b> deal",
                    "subtitle": "Acme & Co", "amount": "$125,000", "date": "Jul 4",
                    "owner": "AC", "ownerName": "Alice Chen"}
    column = ColumnState("proposal", "Proposal", "#a855f7", count=1_204, total=2_500_000,
                         cards=[card])
    shown = column_view(column, spec, today=date(2026, 1, 1))
    assert (shown["countText"], shown["sumText"], shown["sumTitle"]) == \
        ("1,204", "$2.5M", "$2,500,000")
    assert shown["more"] == "+1,203 more" and len(shown["cards"]) == 1
    assert column_view(ColumnState("x", "X", "#000"), spec)["more"] == ""
