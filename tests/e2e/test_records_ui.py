"""The record page and forms in the browser: create with validation, edit, a related
contact from its account, closing a deal as won books a contract, user text is shown as
text (never HTML), and another rep's record does not exist for a rep."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from typing import Any
from uuid import uuid4

import pytest
from playwright.sync_api import expect

from app.devserver import api, find, sign_in, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
RECORD_URL = r"/o/{obj}/(?!new)[^/?#]+$"










def field_input(page: Any, name: str) -> Any:
    return page.get_by_test_id(f"field-{name}").locator("input, textarea").first


def record_url(obj: str) -> re.Pattern[str]:
    return re.compile(RECORD_URL.format(obj=obj))


def record_id(page: Any) -> str:
    return str(page.url.rstrip("/").rsplit("/", 1)[-1])


def test_create_account_validates_then_saves(live_server: str, page: Any) -> None:
    name = f"E2E Create {uuid4().hex[:6]}"
    alice = token_for(live_server, "alice")
    sign_in(page, live_server, "alice", "/o/account/new")
    expect(page.get_by_test_id("record-title")).to_have_text("New Account")
    field_input(page, "name").fill(name)
    page.get_by_test_id("record-save").click()
    # Neither phone nor email: the rule's message lands on the phone field.
    expect(page.get_by_test_id("field-error-phone")).to_contain_text("phone number or an email")
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    assert "/o/account/new" in page.url
    assert find(live_server, alice, "account", [["name", "=", name]])["total"] == 0

    field_input(page, "phone").fill("+1 555 0199")
    page.get_by_test_id("record-save").click()
    page.wait_for_url(record_url("account"))
    expect(page.get_by_test_id("record-title")).to_have_text(name)
    expect(page.get_by_test_id("field-phone")).to_contain_text("+1 555 0199")
    stored = api(live_server, f"/api/objects/account/{record_id(page)}", alice)
    assert stored["name"] == name


def test_edit_a_field_shows_the_value_and_bumps_the_version(live_server: str,
                                                            page: Any) -> None:
    alice = token_for(live_server, "alice")
    account = api(live_server, "/api/objects/account", alice, method="POST",
                  body={"name": f"E2E Edit {uuid4().hex[:6]}", "phone": "+1 555 0101"})
    sign_in(page, live_server, "alice", f"/o/account/{account['id']}")
    expect(page.get_by_test_id("record-title")).to_have_text(account["name"])
    page.get_by_test_id("record-edit").click()
    city = f"Springfield {uuid4().hex[:4]}"
    field_input(page, "billing_city").fill(city)
    page.get_by_test_id("record-save").click()
    expect(page.get_by_test_id("record-edit")).to_be_visible()
    expect(page.get_by_test_id("field-billing_city")).to_have_text(city)
    stored = api(live_server, f"/api/objects/account/{account['id']}", alice)
    assert stored["billing_city"] == city
    assert stored["version"] == account["version"] + 1


def test_new_contact_from_the_accounts_related_list(live_server: str, page: Any) -> None:
    alice = token_for(live_server, "alice")
    account = api(live_server, "/api/objects/account", alice, method="POST",
                  body={"name": f"E2E Contacts {uuid4().hex[:6]}", "phone": "+1 555 0102"})
    sign_in(page, live_server, "alice", f"/o/account/{account['id']}")
    expect(page.get_by_test_id("related-count-contact")).to_have_text("0")
    page.get_by_test_id("related-new-contact").click()
    page.wait_for_url(re.compile(r"/o/contact/new\?account="))
    expect(page.get_by_test_id("field-account").get_by_role("combobox")).to_have_value(
        account["name"])
    last = f"Tester{uuid4().hex[:6]}"
    field_input(page, "last_name").fill(last)
    field_input(page, "email").fill(f"{last.lower()}@example.com")
    page.get_by_test_id("record-save").click()
    page.wait_for_url(record_url("contact"))
    expect(page.get_by_test_id("record-title")).to_contain_text(last)
    page.goto(f"{live_server}/o/account/{account['id']}")
    expect(page.get_by_test_id("related-count-contact")).to_have_text("1")
    expect(page.get_by_test_id("related-contact")).to_contain_text(last)


def test_closing_a_deal_as_won_books_a_contract_on_the_account(live_server: str,
                                                               page: Any) -> None:
    alice = token_for(live_server, "alice")
    me = api(live_server, "/api/me", alice)["user"]["id"]
    deals = find(live_server, alice, "opportunity",
                 [["owner", "=", me], ["stage", "not in", ["closed_won", "closed_lost"]]],
                 fields="name,account,stage", limit="50")["records"]
    assert deals, "the demo data gives Alice open opportunities"
    deal = deals[-1]
    sign_in(page, live_server, "alice", f"/o/opportunity/{deal['id']}")
    expect(page.get_by_test_id("record-title")).to_have_text(deal["name"])
    page.get_by_test_id("record-edit").click()
    field_input(page, "amount").fill("125000")
    page.get_by_test_id("field-stage").locator(".q-field").click()
    page.locator(".q-menu .q-item", has_text=re.compile(r"^Closed won$")).click()
    page.get_by_test_id("record-save").click()
    expect(page.get_by_test_id("record-edit")).to_be_visible()
    expect(page.get_by_test_id("field-stage")).to_have_text("Closed won")

    contracts = find(live_server, alice, "contract",
                     [["opportunity", "=", deal["id"]]], fields="contract_number")["records"]
    assert len(contracts) == 1
    page.goto(f"{live_server}/o/account/{deal['account']}")
    related = page.get_by_test_id("related-contract")
    expect(related).to_be_visible()
    expect(related.locator(f'[data-record-id="{contracts[0]["id"]}"]')).to_be_visible()


def test_markup_in_a_name_is_shown_as_text(live_server: str, page: Any) -> None:
    admin = token_for(live_server, "admin")
    name = f"<img src=x onerror=alert(1)> {uuid4().hex[:6]}"
    account = api(live_server, "/api/objects/account", admin, method="POST",
                  body={"name": name, "phone": "+1 555 0103"})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, live_server, "admin", f"/o/account/{account['id']}")
    expect(page.get_by_test_id("record-title")).to_have_text(name)
    expect(page.get_by_text(name, exact=True).first).to_be_visible()
    assert page.locator('img[src="x"]').count() == 0

    page.goto(f"{live_server}/o/account?{urllib.parse.urlencode({'q': name})}")
    table = page.get_by_test_id("list-table")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.get_by_text(name, exact=True)).to_be_visible()
    assert page.locator('img[src="x"]').count() == 0
    page.wait_for_timeout(300)  # an onerror handler would have run by now
    assert dialogs == []


def test_a_rep_sees_not_found_for_another_reps_opportunity(live_server: str,
                                                          page: Any) -> None:
    bob = token_for(live_server, "bob")
    deal = api(live_server, "/api/objects/opportunity?limit=1&fields=name", bob)["records"][0]
    sign_in(page, live_server, "alice", f"/o/opportunity/{deal['id']}")
    expect(page.get_by_test_id("not-found")).to_be_visible()
    expect(page.get_by_test_id("record-title")).to_have_count(0)
    assert deal["name"] not in page.content()
