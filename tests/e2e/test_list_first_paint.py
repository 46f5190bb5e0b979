"""The list page is complete in its initial HTML: once the browser has painted it, nothing
has to come back from the server (no re-sent table, no drawer state, no body classes),
and what the browser now does alone — the grid following the server's sort and paging,
the navigation drawer opening and closing — still works."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from app.devserver import find, sign_in, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def rows(page: Any) -> Any:
    return page.get_by_test_id("list-table").locator("tbody tr")


def first_name(page: Any) -> str:
    return str(rows(page).first.locator("td a").first.inner_text()).strip()


def test_the_list_page_needs_nothing_from_the_server_after_it_connects(
        live_server: str, page: Any) -> None:
    sign_in(page, live_server, "alice", "/o/account")
    expect(rows(page).first).to_be_visible()
    received: list[str] = []
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda frame: received.append(str(frame))))
    page.goto(f"{live_server}/o/account")
    expect(rows(page).first).to_be_visible()
    expect(page.get_by_test_id("list-count")).not_to_have_text("")
    # Whatever the server would send after the connect has arrived by now (waiting in
    # Playwright, not time.sleep: its events are delivered only while it runs).
    page.wait_for_timeout(1500)
    sent_back = [f[:120] for f in received
                 if f.startswith('42["') and not f.startswith('42["ack"')]
    assert sent_back == [], "the first paint was re-done after the websocket connected"


def test_the_grid_follows_the_servers_sort_on_every_click(live_server: str,
                                                          page: Any) -> None:
    sign_in(page, live_server, "alice", "/o/account")
    expect(rows(page).first).to_be_visible()
    alice = token_for(live_server, "alice")

    def first(sort: str) -> str:
        return str(find(live_server, alice, "account", sort=sort, limit="1",
                        fields="name")["records"][0]["name"])

    header = page.get_by_test_id("list-table").locator("thead th", has_text="Account name")
    assert first_name(page) == first("name")
    header.click()  # sorted by name ascending already: descending
    expect(rows(page).first.locator("td a").first).to_have_text(first("-name"))
    expect(header).to_have_class(re.compile(r"\bsort-desc\b"))
    header.click()  # the grid knows the server sorted descending: ascending again
    expect(rows(page).first.locator("td a").first).to_have_text(first("name"))
    expect(header).not_to_have_class(re.compile(r"\bsort-desc\b"))


def test_the_navigation_drawer_opens_on_a_desktop_and_toggles(live_server: str,
                                                             page: Any) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, live_server, "alice", "/o/account")
    nav = page.locator("#main-nav")
    expect(nav).to_be_visible()
    expect(nav.locator('[aria-current="page"]')).to_contain_text("Accounts")
    toggle = page.get_by_role("button", name="Toggle navigation")
    toggle.click()
    expect(nav).not_to_be_in_viewport()
    toggle.click()
    expect(nav).to_be_in_viewport()


def test_the_navigation_drawer_starts_closed_on_a_phone(live_server: str,
                                                       page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "alice", "/o/account")
    expect(rows(page).first).to_be_visible()
    nav = page.locator("#main-nav")
    expect(nav).not_to_be_in_viewport()
    page.get_by_role("button", name="Toggle navigation").click()
    expect(nav).to_be_in_viewport()
    nav.get_by_text("Contacts").click()
    expect(page).to_have_url(re.compile(r"/o/contact$"))


def test_a_page_change_sends_the_grid_once(live_server: str, page: Any) -> None:
    """Next page: the grid comes once, with the new rows — not first again with the old
    rows and a loading bar (a fast page never shows one), which the browser rendered."""
    sign_in(page, live_server, "alice", "/o/account")
    expect(rows(page).first).to_be_visible()
    page.wait_for_timeout(500)
    received: list[str] = []
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda frame: received.append(str(frame))))
    # The listener sees websockets opened after it: reload, then page on.
    page.reload()
    expect(rows(page).first).to_be_visible()
    page.wait_for_timeout(500)
    received.clear()
    first = first_name(page)
    page.get_by_test_id("page-next").click()
    expect(rows(page).first.locator("td a").first).not_to_have_text(first)
    page.wait_for_timeout(500)
    grids = [f for f in received if f.startswith('42["update"') and "list-table" in f]
    assert len(grids) == 1, [f[:200] for f in grids]
    assert '"loading"' not in grids[0]
