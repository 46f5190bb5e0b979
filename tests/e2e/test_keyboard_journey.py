"""A rep's day with the keyboard alone: sign in, find an account through the global
search, open it, log a call, open the board, win a deal and lose another (the loss-reason
dialog) — Tab, arrows, Enter, Space and typing only. Every mouse or pointer event in the
page is counted, and the count must stay zero."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import pytest
from playwright.sync_api import expect

from app.devserver import DEMO_PASSWORD, api, find, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
OPEN_STAGES = ["prospecting", "qualification", "needs_analysis", "proposal", "negotiation"]
# Counted across page loads (sessionStorage), so no navigation can hide a click.
COUNT_MOUSE = """
for (const type of ['mousedown', 'mouseup', 'pointerdown', 'pointerup', 'dragstart',
                    'contextmenu', 'wheel']) {
  addEventListener(type, () => {
    sessionStorage.mouseEvents = String(Number(sessionStorage.mouseEvents || 0) + 1);
  }, true);
}
"""


def focused(page: Any, selector: str) -> bool:
    return bool(page.evaluate("(s) => !!document.activeElement?.matches(s)", selector))


def tab_to(page: Any, selector: str, limit: int = 250, *, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab) until the focused element matches `selector`."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if focused(page, selector):
            return
    pytest.fail(f"Tab never reached {selector}")


def arrow_to(page: Any, text: str, limit: int = 12) -> None:
    """In an open menu or list: ArrowDown until the highlighted item reads `text`."""
    for _ in range(limit):
        page.keyboard.press("ArrowDown")
        current = page.evaluate("() => document.activeElement?.textContent?.trim()")
        if current == text:
            return
    pytest.fail(f"ArrowDown never reached {text!r}")


def mouse_events(page: Any) -> int:
    return int(page.evaluate("() => Number(sessionStorage.mouseEvents || 0)"))


def first_open_card(page: Any) -> str:
    for stage in OPEN_STAGES:
        cards = page.locator(f'[data-testid="kanban-column-{stage}"] [data-card-id]')
        if cards.count():
            return str(cards.first.get_attribute("data-card-id"))
    pytest.fail("no open deal on the board")


def move_with_keyboard(page: Any, card_id: str, stage_label: str, *,
                       backwards: bool = False) -> None:
    """Tab to the card's "Move to…" button, open its menu, arrow to the stage, Enter."""
    tab_to(page, f'[data-card-id="{card_id}"] .kb-move', backwards=backwards)
    page.keyboard.press("Enter")
    page.get_by_test_id("kanban-move-menu").wait_for()
    arrow_to(page, stage_label)
    page.keyboard.press("Enter")


def test_a_rep_works_with_the_keyboard_alone(browser: Any, live_server: str) -> None:
    alice = token_for(live_server, "alice")
    account = find(live_server, alice, "account", [["owner", "=", "$user"]],
                   limit="1", sort="name")["records"][0]
    context = browser.new_context(viewport={"width": 1920, "height": 1000})
    context.add_init_script(COUNT_MOUSE)
    page = context.new_page()
    try:
        # Sign in: the email field has focus when the page opens.
        page.goto(f"{live_server}/login")
        assert focused(page, "input[name=email]")
        page.keyboard.type("alice@hotcrm.local")
        page.keyboard.press("Tab")
        page.keyboard.type(DEMO_PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(re.escape(live_server) + r"/$"))

        # The first Tab stop skips to the content.
        page.locator("[data-object]").first.wait_for()
        page.keyboard.press("Tab")
        assert focused(page, "[data-testid=skip-link]")

        # Global search: type, arrow down to the account, Enter.
        tab_to(page, "[data-testid=global-search]")
        page.keyboard.type(account["name"])
        # The suggestions for the whole name (earlier ones, for a prefix, are replaced).
        expect(page.get_by_test_id("global-search-all")).to_contain_text(account["name"])
        option = page.locator(f'[role=option][href="/o/account/{account["id"]}"]')
        box = page.get_by_test_id("global-search")
        for _ in range(12):
            before = box.get_attribute("aria-activedescendant")
            page.keyboard.press("ArrowDown")
            # The highlight moves on the server's answer: wait for it before looking, or
            # a second press could already be under way and step past the account.
            page.wait_for_function(
                "([el, before]) => el.getAttribute('aria-activedescendant') !== before",
                arg=[box.element_handle(), before])
            if option.get_attribute("aria-selected") == "true":
                break
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server}/o/account/{account['id']}")
        expect(page.get_by_test_id("record-title")).to_have_text(account["name"])

        # Log a call from the account's activities.
        subject = f"Keyboard call {uuid4().hex[:6]}"
        tab_to(page, "[data-testid=related-new-activity]")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/o/activity/new\?account="))
        tab_to(page, "[data-testid=field-subject] input")
        page.keyboard.type(subject)
        tab_to(page, "[data-testid=field-type] [role=combobox]")
        page.keyboard.press("Enter")
        arrow_to_option(page, "Call")
        page.keyboard.press("Enter")
        tab_to(page, "[data-testid=record-save]", limit=80, backwards=True)  # in the header
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/o/activity/(?!new)[^/?#]+$"))
        logged = find(live_server, alice, "activity", [["subject", "=", subject]])["records"]
        assert len(logged) == 1
        assert logged[0]["type"] == "call" and logged[0]["account"] == account["id"]

        # To the board: the navigation, the list, its Board link.
        tab_to(page, '[data-nav="/o/opportunity"]')
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/o/opportunity(\?.*)?$"))
        tab_to(page, "[data-testid=view-board-link]")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/o/opportunity/kanban"))
        page.locator("[data-card-id]").first.wait_for()
        live = page.get_by_test_id("live-region")

        # Win a deal: same trigger as a drop (the contract), announced, focus follows it.
        won = first_open_card(page)
        move_with_keyboard(page, won, "Closed won")
        page.locator(f'[data-testid="kanban-column-closed_won"] [data-card-id="{won}"]'
                     ).wait_for()
        expect(live).to_contain_text("Closed won")
        expect(live).to_contain_text("Contract created")
        page.wait_for_function(
            "(id) => document.activeElement?.closest('[data-card-id]')?.dataset.cardId === id"
            " && !!document.activeElement.closest('[data-testid=kanban-column-closed_won]')",
            arg=won)
        assert api(live_server, f"/api/objects/opportunity/{won}", alice)["stage"] == \
            "closed_won"
        contracts = find(live_server, alice, "contract", [["opportunity", "=", won]])
        assert contracts["total"] == 1

        # Lose one: the loss-reason dialog opens with focus on the reason.
        lost = first_open_card(page)
        move_with_keyboard(page, lost, "Closed lost", backwards=True)  # left of Closed won
        dialog = page.get_by_test_id("loss-reason-dialog")
        dialog.wait_for()
        page.wait_for_function("() => !!document.activeElement?.closest('[role=dialog]')")
        page.keyboard.press("Enter")
        arrow_to_option(page, "Budget")
        page.keyboard.press("Enter")
        # The option list closes asynchronously; Tab pressed before that stays in the list.
        expect(page.locator(".q-menu")).to_have_count(0)
        tab_to(page, "[data-testid=dialog-save]", limit=20)
        page.keyboard.press("Enter")
        page.locator(f'[data-testid="kanban-column-closed_lost"] [data-card-id="{lost}"]'
                     ).wait_for()
        expect(live).to_contain_text("Closed lost")
        deal = api(live_server, f"/api/objects/opportunity/{lost}", alice)
        assert (deal["stage"], deal["loss_reason"]) == ("closed_lost", "budget")

        assert mouse_events(page) == 0
    finally:
        context.close()


def arrow_to_option(page: Any, text: str, limit: int = 12) -> None:
    """In an open Quasar select: ArrowDown until the highlighted option reads `text`."""
    menu = page.locator(".q-menu [role=listbox], .q-menu").first
    menu.wait_for()
    for _ in range(limit):
        page.keyboard.press("ArrowDown")
        active = page.locator(".q-menu .q-item--active, .q-menu .q-manual-focusable--focused")
        if active.count() and active.first.inner_text().strip() == text:
            return
    pytest.fail(f"ArrowDown never reached the option {text!r}")


def test_a_list_is_walked_and_selected_with_the_keyboard(browser: Any, live_server: str
                                                         ) -> None:
    """Tab into the rows, Up/Down between them, Space selects (the mass-action bar and
    the announcement follow), a sortable header sorts with Enter."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(COUNT_MOUSE)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login?next=%2Fo%2Faccount")
        page.keyboard.type("alice@hotcrm.local")
        page.keyboard.press("Tab")
        page.keyboard.type(DEMO_PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/o/account(\?.*)?$"))
        rows = page.locator("[data-testid=list-table] tbody tr")
        rows.nth(2).wait_for()

        tab_to(page, "[data-testid=list-table] tbody tr:first-child a[href]")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        second = rows.nth(2).locator("a[href]").first.get_attribute("href")
        assert page.evaluate("() => document.activeElement.getAttribute('href')") == second
        page.keyboard.press("ArrowUp")
        page.keyboard.press("Shift+Tab")  # the row's checkbox, named after its record
        name = rows.nth(1).locator("a[href]").first.inner_text()
        assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == \
            f"Select {name}"
        page.keyboard.press("Space")
        expect(page.get_by_test_id("mass-count")).to_have_text("1 selected")

        tab_to(page, "[data-testid=list-table] th[aria-sort]", backwards=True)
        before = page.evaluate("() => document.activeElement.getAttribute('aria-sort')")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "(b) => document.activeElement.getAttribute('aria-sort') !== b", arg=before)
        expect(page.get_by_test_id("live-region")).to_contain_text("Showing 1")
        assert mouse_events(page) == 0
    finally:
        context.close()
