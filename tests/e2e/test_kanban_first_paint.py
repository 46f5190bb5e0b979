"""The board paints from its initial HTML: a screenful of cards per column first, the rest
right after (the column is `aria-busy` until then), and nothing has to come back from the
server once the websocket connects."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from app.devserver import api, sign_in, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
STAGES = ["prospecting", "qualification", "needs_analysis", "proposal", "negotiation",
          "closed_won", "closed_lost"]

# What the DOM held when the first card appeared: cards and aria-busy per column.
FIRST_SNAPSHOT = """
new MutationObserver((_, observer) => {
  if (window.__first || !document.querySelector('[data-card-id]')) return;
  window.__first = {};
  for (const col of document.querySelectorAll('[data-testid^="kanban-column-"]')) {
    window.__first[col.dataset.testid.replace('kanban-column-', '')] = {
      cards: col.querySelectorAll('[data-card-id]').length,
      busy: col.getAttribute('aria-busy')};
  }
  observer.disconnect();
}).observe(document, {childList: true, subtree: true});
"""


def test_the_board_needs_nothing_from_the_server_after_it_connects(
        live_server: str, page: Any) -> None:
    sign_in(page, live_server, "alice", "/o/opportunity/kanban")
    expect(page.locator("[data-card-id]").first).to_be_visible()
    received: list[str] = []
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda frame: received.append(str(frame))))
    page.goto(f"{live_server}/o/opportunity/kanban")
    expect(page.locator("[data-card-id]").first).to_be_visible()
    expect(page.locator('[data-testid^="kanban-column-"][aria-busy="true"]')).to_have_count(0)
    page.wait_for_timeout(1500)  # whatever the server would send after connect is here
    sent_back = [f[:120] for f in received
                 if f.startswith('42["') and not f.startswith('42["ack"')]
    assert sent_back == [], "the board was sent again after the websocket connected"


def test_a_column_paints_a_screenful_first_then_every_card(live_server: str,
                                                          page: Any) -> None:
    page.set_viewport_size({"width": 1920, "height": 1000})
    sign_in(page, live_server, "admin", "/")
    admin = token_for(live_server, "admin")
    rows = api(live_server, "/api/query", admin, method="POST",
               body={"object": "opportunity", "group_by": ["stage"],
                     "aggregate": {"n": ["count", "id"]}})
    counts = {r["stage"]: int(r["n"]) for r in rows["records"]}
    assert max(counts.values()) > 15, "the demo data needs a column taller than a screen"
    page.add_init_script(FIRST_SNAPSHOT)
    page.goto(f"{live_server}/o/opportunity/kanban")
    # Then every column holds all its cards (up to 50) and is no longer busy.
    for stage in STAGES:
        column = page.get_by_test_id(f"kanban-column-{stage}")
        expect(column).to_have_attribute("aria-busy", "false")
        expect(column.locator("[data-card-id]")).to_have_count(min(50, counts.get(stage, 0)))
    first = page.evaluate("window.__first")
    for stage in STAGES:
        shown, busy = first[stage]["cards"], first[stage]["busy"]
        assert shown == min(15, counts.get(stage, 0)), (stage, first)
        assert busy == ("true" if counts.get(stage, 0) > 15 else "false"), (stage, first)
