"""The list page in the browser: view switcher, header sorting, paging, the filter
builder, quick search, CSV export and mass owner change."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from uuid import uuid4

import pytest
from playwright.sync_api import expect

from app.devserver import api, find, sign_in, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]










def rows(page: Any) -> Any:
    return page.get_by_test_id("list-table").locator("tbody tr")


def names(page: Any) -> list[str]:
    """The account names of the rows shown (the primary column is the one with links)."""
    return [t.strip() for t in page.get_by_test_id("list-table").locator(
        "tbody tr td a").all_inner_texts()]


def open_list(page: Any, base: str, who: str = "alice", target: str = "/o/account") -> None:
    sign_in(page, base, who, target)
    expect(rows(page).first).to_be_visible()
    expect(page.get_by_test_id("list-count")).not_to_have_text("")


def count_of(page: Any) -> int:
    text = page.get_by_test_id("list-count").inner_text()
    return int(re.sub(r"[^0-9]", "", text.split()[0]))


def new_account(base: str, token: str, name: str, **fields: Any) -> dict[str, Any]:
    return dict(api(base, "/api/objects/account", token, method="POST",
                    body={"name": name, "phone": "+1 555 0100", **fields}))


def test_switching_to_the_technology_view_shows_only_technology_accounts(
        live_server: str, page: Any) -> None:
    open_list(page, live_server)
    total = count_of(page)
    alice = token_for(live_server, "alice")
    tech = find(live_server, alice, "account", [["industry", "=", "technology"]],
                limit="1")["total"]
    assert 0 < tech < total
    page.get_by_test_id("list-view-switcher").click()
    page.locator('.q-menu [data-view="technology"]').click()
    page.wait_for_url(re.compile(r"view=technology"))
    expect(page.get_by_test_id("list-view-switcher")).to_contain_text("Technology accounts")
    expect(page.get_by_test_id("list-count")).to_have_text(re.compile(rf"^{tech} "))
    shown = names(page)
    assert shown and len(shown) == min(tech, 50)
    records = find(live_server, alice, "account", [["industry", "=", "technology"]],
                   limit="200", fields="name")["records"]
    assert set(shown) <= {r["name"] for r in records}


def test_the_columns_menu_hides_a_column_and_reset_brings_it_back(
        live_server: str, page: Any) -> None:
    """The menu's checkboxes are built when it first opens (not with every page)."""
    open_list(page, live_server)
    phone = page.get_by_test_id("list-table").locator("thead th", has_text="Phone")
    expect(phone).to_have_count(1)
    page.get_by_test_id("column-chooser").click()
    box = page.locator('.q-menu [data-column="phone"]')
    expect(box).to_be_visible()
    box.click()
    expect(phone).to_have_count(0)
    expect(rows(page).first).to_be_visible()  # the rows are drawn again without it
    page.get_by_test_id("columns-reset").click()
    expect(phone).to_have_count(1)


def test_clicking_a_column_header_sorts_the_rows(live_server: str, page: Any) -> None:
    open_list(page, live_server)
    before = names(page)
    alice = token_for(live_server, "alice")
    first = find(live_server, alice, "account", sort="name", limit="1",
                 fields="name")["records"][0]["name"]
    assert before[0] == first, "the All view sorts by name, ascending"
    header = page.get_by_test_id("list-table").locator("thead th", has_text="Account name")
    header.click()
    expect(rows(page).first.locator("td a").first).not_to_have_text(before[0])
    after = names(page)
    assert after != before
    # One click on the sorted column reverses it: the last name comes first now.
    last = find(live_server, alice, "account", sort="-name", limit="1",
                fields="name")["records"][0]["name"]
    assert after[0] == last


def test_next_page_shows_other_rows(live_server: str, page: Any) -> None:
    open_list(page, live_server)
    first_page = names(page)
    assert len(first_page) == 50, "the demo data has more than one page of accounts"
    expect(page.get_by_test_id("list-range")).to_have_text(re.compile(r"^1\D50 of"))
    page.get_by_test_id("page-next").click()
    expect(page.get_by_test_id("list-range")).to_have_text(re.compile(r"^51\D"))
    second_page = names(page)
    assert second_page and not set(second_page) & set(first_page)
    expect(page.get_by_test_id("page-prev")).to_be_enabled()
    page.get_by_test_id("page-prev").click()
    expect(page.get_by_test_id("list-range")).to_have_text(re.compile(r"^1\D50 of"))


def test_a_filter_condition_narrows_the_list_and_shows_a_chip(live_server: str,
                                                              page: Any) -> None:
    open_list(page, live_server)
    total = count_of(page)
    alice = token_for(live_server, "alice")
    finance = find(live_server, alice, "account", [["industry", "=", "finance"]],
                   limit="1")["total"]
    assert 0 < finance < total
    page.get_by_test_id("filter-add").click()
    page.get_by_test_id("filter-field").click()
    page.locator(".q-menu .q-item", has_text="Industry").first.click()
    expect(page.get_by_test_id("filter-op")).to_be_visible()
    page.get_by_test_id("filter-value").click()
    page.locator(".q-menu .q-item", has_text="Finance").click()
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id("filter-chip")).to_have_count(1)
    expect(page.get_by_test_id("filter-chip")).to_contain_text("Industry is Finance")
    expect(page.get_by_test_id("list-count")).to_have_text(re.compile(rf"^{finance} "))
    assert "filters=" in page.url


def test_quick_search_finds_an_account_by_name(live_server: str, page: Any) -> None:
    admin = token_for(live_server, "admin")
    name = f"E2E Search {uuid4().hex[:6]}"
    new_account(live_server, admin, name)
    open_list(page, live_server)
    page.get_by_test_id("list-search").fill(name)
    page.get_by_test_id("list-search").press("Enter")
    expect(page.get_by_test_id("list-count")).to_have_text("1 account")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text(name)
    assert "q=" in page.url


def test_export_csv_holds_the_header_and_the_searched_account(live_server: str,
                                                              page: Any) -> None:
    admin = token_for(live_server, "admin")
    name = f"E2E Export {uuid4().hex[:6]}"
    new_account(live_server, admin, name)
    open_list(page, live_server)
    page.get_by_test_id("list-search").fill(name)
    page.get_by_test_id("list-search").press("Enter")
    expect(page.get_by_test_id("list-count")).to_have_text("1 account")
    page.get_by_test_id("export-menu").click()
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as handle:
        table = list(csv.reader(io.StringIO(handle.read())))
    assert table[0][0] == "Account name"
    assert "Phone" in table[0]
    assert [row[0] for row in table[1:]] == [name]


def test_mass_change_owner_as_admin(live_server: str, page: Any) -> None:
    admin = token_for(live_server, "admin")
    prefix = f"E2E Mass {uuid4().hex[:6]}"
    created = [new_account(live_server, admin, f"{prefix} {i}") for i in (1, 2)]
    bob_id = api(live_server, "/api/me", token_for(live_server, "bob"))["user"]["id"]
    open_list(page, live_server, "admin")
    page.get_by_test_id("list-search").fill(prefix)
    page.get_by_test_id("list-search").press("Enter")
    expect(page.get_by_test_id("list-count")).to_have_text("2 accounts")
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_test_id("mass-actions")).to_be_hidden()
    for index in (0, 1):
        rows(page).nth(index).locator(".q-checkbox").click()
    expect(page.get_by_test_id("mass-actions")).to_be_visible()
    expect(page.get_by_test_id("mass-count")).to_have_text("2 selected")
    page.get_by_test_id("mass-owner").click()
    page.get_by_test_id("mass-owner-select").click()
    page.locator(".q-menu .q-item", has_text=re.compile(r"^Bob ")).first.click()
    page.get_by_test_id("mass-confirm").click()
    # All succeeded: a notification says so (the mass-result dialog is for failures).
    expect(page.locator("#q-notify").get_by_text("2 updated", exact=True)).to_be_visible()
    expect(page.get_by_test_id("live-region")).to_have_text("2 updated")
    expect(page.get_by_test_id("mass-actions")).to_be_hidden()
    for record in created:
        assert api(live_server, f"/api/objects/account/{record['id']}",
                   admin)["owner"] == bob_id
