"""At phone width (390 px) every control in a page's header — title, view picker, the
List/Board switch, New, the list's toolbar, a record's actions, a dashboard's filters, the
admin studio's sections — is on screen and can be clicked; the header wraps onto more
lines instead of pushing controls off the right edge, and the document never scrolls
sideways (the board, and the admin object's tabs, scroll inside their own box)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from app.devserver import find, sign_in, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
PHONE = {"width": 390, "height": 844}
CONTROLS = "a, button, input, [role=combobox], [data-testid]"


def assert_header_fits(page: Any, headers: Any, expected: list[str]) -> None:
    """Each visible control under `headers` lies inside the viewport, the ones named in
    `expected` (data-testid) among them, and a click at its centre reaches it."""
    expect(headers.first).to_be_visible()
    page.wait_for_timeout(300)  # fonts and the select's width settle
    width = page.viewport_size["width"]
    boxes = headers.evaluate_all(
        """(headers, sel) => headers.flatMap(h => [h, ...h.querySelectorAll(sel)])
             .filter(e => e.offsetParent !== null || e.getClientRects().length)
             .map(e => { const r = e.getBoundingClientRect();
                         const x = r.left + r.width / 2, y = r.top + r.height / 2;
                         const hit = document.elementFromPoint(x, y);
                         return {id: e.dataset.testid || e.tagName + ' ' +
                                     (e.innerText || '').trim().slice(0, 20),
                                 left: r.left, right: r.right, width: r.width,
                                 reachable: !!hit && (hit === e || e.contains(hit) ||
                                                      hit.contains(e))}; })
             .filter(b => b.width > 0)""", CONTROLS)
    ids = {b["id"] for b in boxes}
    missing = [t for t in expected if t not in ids]
    assert not missing, f"header controls not found: {missing}"
    outside = [b for b in boxes if b["left"] < -0.5 or b["right"] > width + 0.5]
    assert not outside, f"header controls off screen at {width} px: {outside}"
    unreachable = [b["id"] for b in boxes if b["id"] in expected and not b["reachable"]]
    assert not unreachable, f"header controls covered at {width} px: {unreachable}"
    scroll = page.evaluate("[document.documentElement.scrollWidth, "
                           "document.documentElement.clientWidth]")
    assert scroll[0] <= scroll[1], f"the page scrolls sideways: {scroll}"


def test_the_board_header_fits_a_phone(live_server: str, page: Any) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "alice", "/o/opportunity/kanban")
    expect(page.locator("[data-card-id]").first).to_be_visible()
    assert_header_fits(page, page.get_by_test_id("page-header"),
                       ["page-header", "kanban-view", "view-list", "view-board"])
    page.get_by_test_id("view-list").click()
    page.wait_for_url(f"{live_server}/o/opportunity?*")


@pytest.mark.parametrize("obj", ["opportunity", "account"])
def test_the_list_header_fits_a_phone(live_server: str, page: Any, obj: str) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "alice", f"/o/{obj}")
    expect(page.get_by_test_id("list-table").locator("tbody tr").first).to_be_visible()
    expected = ["page-header", "list-view-switcher", "new-record", "list-search",
                "list-count", "export-menu"]
    if obj == "opportunity":
        expected.append("view-board-link")
    assert_header_fits(page, page.get_by_test_id("page-header"), expected)


def test_the_record_header_fits_a_phone(live_server: str, page: Any) -> None:
    page.set_viewport_size(PHONE)
    alice = token_for(live_server, "alice")
    record = find(live_server, alice, "opportunity", limit="1", fields="name")["records"][0]
    sign_in(page, live_server, "alice", f"/o/opportunity/{record['id']}")
    expect(page.get_by_test_id("record-title")).to_be_visible()
    assert_header_fits(page, page.get_by_test_id("page-header"),
                       ["page-header", "record-title"])


@pytest.mark.parametrize(("who", "path", "filters"), [
    ("alice", "/", ["filter-period"]),  # the home page shows the rep's own dashboard
    ("manager", "/dashboard/sales", ["filter-period", "filter-owner"])])
def test_the_dashboard_header_fits_a_phone(live_server: str, page: Any, who: str,
                                           path: str, filters: list[str]) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, who, path)
    expect(page.get_by_test_id("filter-period")).to_be_visible()
    assert_header_fits(page, page.get_by_test_id("page-header"), ["page-header", *filters])


@pytest.mark.parametrize("term", ["fa", "x" * 100])
def test_the_search_header_fits_a_phone(live_server: str, page: Any, term: str) -> None:
    """A long term without spaces (the box takes 100 characters) wraps, not the page."""
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "alice", f"/search?q={term}")
    if term == "fa":
        expect(page.get_by_test_id("search-hit").first).to_be_visible()
    else:
        expect(page.get_by_test_id("search-status")).to_contain_text("No records match")
    assert_header_fits(page, page.get_by_test_id("page-header"),
                       ["page-header", "search-term"])


@pytest.mark.parametrize("path", ["/admin", "/admin/objects/account", "/admin/users",
                                  "/admin/permissions", "/admin/dashboards",
                                  "/admin/dashboards/sales", "/admin/history"])
def test_the_admin_studio_header_fits_a_phone(live_server: str, page: Any,
                                              path: str) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "admin", path)
    expected = ["page-header", "admin-tabs"]
    if path == "/admin/objects/account":
        expected.append("object-header")
    headers = page.locator(", ".join(f"[data-testid={t}]" for t in expected))
    assert_header_fits(page, headers, expected)
    if path == "/admin/objects/account":
        # The object's tabs scroll inside their bar: the last one is still a click away.
        page.get_by_test_id("object-tab-details").click()
        page.wait_for_url(f"{live_server}/admin/objects/account?tab=details")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
