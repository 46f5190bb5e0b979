"""The opportunity board: drag a card to another stage and the save runs the trigger
(Closed won books a contract), Closed lost asks for the loss reason, a stale card goes
back, and column headers are SQL totals over what the user may see."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from app.core import build_services
from app.devserver import api, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
ROOT = Path(__file__).resolve().parents[2]
OPEN_STAGES = ["prospecting", "qualification", "needs_analysis", "proposal", "negotiation"]
# Wide enough for all seven columns side by side: a drag that has to scroll the board
# sideways mid-way is not what these tests are about.
WIDE = {"width": 1920, "height": 1000}






def sign_in(page: Any, base: str, who: str, target: str = "/") -> None:
    page.goto(f"{base}/login?next={urllib.parse.quote(target, safe='')}")
    page.fill("input[name=email]", f"{who}@hotcrm.local")
    page.fill("input[name=password]", "hotcrm-demo")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(base + target.split("?")[0]) + r"(\?.*)?$"))


def open_board(page: Any, base: str, who: str = "alice") -> None:
    page.set_viewport_size(WIDE)
    sign_in(page, base, who, "/o/opportunity/kanban")
    page.get_by_test_id("kanban-column-closed_won").wait_for()
    # A column paints a screenful of cards first and the rest right after (aria-busy).
    expect(page.locator('[data-testid^="kanban-column-"][aria-busy="true"]')).to_have_count(0)


def count(page: Any, stage: str) -> int:
    return int(page.get_by_test_id(f"kanban-count-{stage}").inner_text().replace(",", ""))


def open_card(page: Any, stages: list[str] | None = None) -> tuple[str, str]:
    """(card id, its stage) of a card in the first open column that has one."""
    for stage in stages or OPEN_STAGES:
        cards = page.locator(f'[data-testid="kanban-column-{stage}"] [data-card-id]')
        if cards.count():
            return str(cards.first.get_attribute("data-card-id")), stage
    pytest.fail("no open opportunity on the board")


def drag(page: Any, card_id: str, stage: str) -> None:
    page.get_by_test_id(f"kanban-card-{card_id}").drag_to(
        page.get_by_test_id(f"kanban-column-{stage}"))


def in_column(page: Any, card_id: str, stage: str) -> Any:
    return page.locator(f'[data-testid="kanban-column-{stage}"] '
                        f'[data-testid="kanban-card-{card_id}"]')


def test_drag_to_closed_won_books_the_contract(live_server: str, page: Any) -> None:
    open_board(page, live_server)
    card_id, stage = open_card(page, ["negotiation", "proposal", *OPEN_STAGES])
    before_source, before_won = count(page, stage), count(page, "closed_won")
    drag(page, card_id, "closed_won")
    in_column(page, card_id, "closed_won").wait_for()
    # What a screen reader hears (the toast says the same to the eye).
    expect(page.get_by_test_id("live-region")).to_contain_text("Contract created")
    assert count(page, stage) == before_source - 1
    assert count(page, "closed_won") == before_won + 1

    admin = token_for(live_server, "admin")
    filters = urllib.parse.quote(json.dumps([["opportunity", "=", card_id]]))
    contracts = api(live_server, f"/api/objects/contract?filters={filters}", admin)["records"]
    assert len(contracts) == 1
    deal = api(live_server, f"/api/objects/opportunity/{card_id}", admin)
    assert deal["stage"] == "closed_won"
    account = api(live_server, f"/api/objects/account/{deal['account']}", admin)
    assert account["customer_status"] == "active_customer"


def test_drag_to_closed_lost_asks_for_the_loss_reason(live_server: str, page: Any) -> None:
    open_board(page, live_server)
    card_id, _ = open_card(page)
    drag(page, card_id, "closed_lost")
    dialog = page.get_by_test_id("loss-reason-dialog")
    dialog.wait_for()
    assert dialog.get_by_test_id("dialog-save").is_disabled()
    dialog.get_by_test_id("dialog-field-loss_reason").click()
    page.locator(".q-menu .q-item", has_text="Budget").click()
    dialog.get_by_test_id("dialog-save").click()
    in_column(page, card_id, "closed_lost").wait_for()

    deal = api(live_server, f"/api/objects/opportunity/{card_id}", token_for(live_server, "alice"))
    assert deal["stage"] == "closed_lost"
    assert deal["loss_reason"] == "budget"


def test_cancelled_loss_reason_leaves_the_card(live_server: str, page: Any) -> None:
    open_board(page, live_server)
    card_id, stage = open_card(page)
    drag(page, card_id, "closed_lost")
    dialog = page.get_by_test_id("loss-reason-dialog")
    dialog.wait_for()
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="hidden")
    assert in_column(page, card_id, stage).count() == 1
    deal = api(live_server, f"/api/objects/opportunity/{card_id}", token_for(live_server, "alice"))
    assert deal["stage"] == stage


def test_a_stale_card_goes_back_with_a_readable_message(live_server: str, live_server_dir: Path,
                                                        page: Any) -> None:
    """Someone saves the deal through another process that shares the database but not
    the board's change events (no Redis between them), so the board cannot hear it; the
    drag then carries a stale version and is refused with a message a rep can read."""
    open_board(page, live_server)
    card_id, stage = open_card(page)
    target = next(s for s in OPEN_STAGES if s != stage)
    alice = token_for(live_server, "alice")
    other = build_services(database_url=f"sqlite:///{live_server_dir / 'hotcrm.db'}",
                           metadata_dir=ROOT / "metadata")
    try:
        me = other.identities.context_for(api(live_server, "/api/me", alice)["user"]["id"])
        other.ql.update(me, "opportunity", card_id, {"next_step": "Changed elsewhere"})
    finally:
        other.engine.dispose()
    drag(page, card_id, target)
    expect(page.get_by_test_id("live-region")).to_contain_text("changed by someone else")
    assert in_column(page, card_id, stage).count() == 1
    assert api(live_server, f"/api/objects/opportunity/{card_id}", alice)["stage"] == stage


def test_headers_are_sql_totals_of_what_the_user_sees(live_server: str, page: Any) -> None:
    open_board(page, live_server, "bob")
    bob = token_for(live_server, "bob")
    rows = api(live_server, "/api/query", bob, method="POST",
               body={"object": "opportunity", "group_by": ["stage"],
                     "aggregate": {"n": ["count", "id"], "total": ["sum", "amount"]}})
    by_stage = {r["stage"]: r for r in rows["records"]}
    for stage in [*OPEN_STAGES, "closed_won", "closed_lost"]:
        assert count(page, stage) == by_stage.get(stage, {}).get("n", 0)
        shown = page.locator(f'[data-testid="kanban-column-{stage}"] [data-card-id]').count()
        assert shown == min(50, count(page, stage))
    first = page.get_by_test_id("kanban-sum-negotiation")
    assert first.inner_text().startswith("$")
    # Bob's board holds Bob's deals only: every owner badge carries his initials.
    name = api(live_server, "/api/me", bob)["user"]["name"].split()
    badges = page.locator(".kanban-card .kanban-owner").all_inner_texts()
    assert badges and set(badges) == {(name[0][0] + name[-1][0]).upper()}


def test_board_links_to_the_list_and_refuses_unknown_boards(live_server: str,
                                                            page: Any) -> None:
    open_board(page, live_server)
    assert page.get_by_test_id("view-list").get_attribute("href").startswith(
        "/o/opportunity")
    page.goto(f"{live_server}/o/account/kanban")
    page.get_by_test_id("not-found").get_by_text("No board", exact=True).wait_for()
    page.goto(f"{live_server}/o/nothing_here/kanban")
    page.get_by_test_id("not-found").wait_for()


def test_board_needs_a_signed_in_user(live_server: str, page: Any) -> None:
    page.goto(f"{live_server}/o/opportunity/kanban")
    page.wait_for_url(re.compile(r"/login\?next=%2Fo%2Fopportunity%2Fkanban$"))


def test_escape_in_the_loss_reason_dialog_returns_focus_to_the_card(live_server: str,
                                                                    page: Any) -> None:
    """The keyboard path: the card's menu opens the same dialog as a drop; Escape closes
    it, nothing is saved, it is announced and focus is back on the card's menu button."""
    open_board(page, live_server)
    card_id, stage = open_card(page)
    page.locator(f'[data-card-id="{card_id}"] .kb-move').focus()
    page.keyboard.press("Enter")
    menu = page.get_by_test_id("kanban-move-menu")
    expect(menu.get_by_role("menuitem").first).to_be_focused()
    page.keyboard.press("End")
    expect(page.get_by_test_id("kanban-move-to-closed_lost")).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_test_id("loss-reason-dialog")
    dialog.wait_for()
    page.wait_for_function("() => !!document.activeElement?.closest('[role=dialog]')")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    expect(page.get_by_test_id("live-region")).to_contain_text("Not moved")
    expect(in_column(page, card_id, stage).locator(".kb-move")).to_be_focused()
    deal = api(live_server, f"/api/objects/opportunity/{card_id}", token_for(live_server, "alice"))
    assert deal["stage"] == stage
