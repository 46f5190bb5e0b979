"""Converting a lead from its record page in a real browser: the dialog's Convert creates
the account, contact and opportunity through the running server, and the page then shows
the converted lead with links to them."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from playwright.sync_api import expect

from app.devserver import api, find, sign_in, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_convert_a_lead_from_its_record_page(live_server: str, page: Any) -> None:
    alice = token_for(live_server, "alice")
    company = f"E2E Convert {uuid4().hex[:6]}"
    lead = api(live_server, "/api/objects/lead", alice, method="POST", body={
        "name": "Iris West", "company": company, "email": f"iris.{uuid4().hex[:6]}@e2e.test",
        "status": "qualified", "source": "web", "industry": "energy"})
    sign_in(page, live_server, "alice", f"/o/lead/{lead['id']}")
    page.get_by_test_id("lead-convert").click()
    dialog = page.get_by_test_id("convert-dialog")
    expect(dialog).to_contain_text(f"Create the account “{company}”")
    page.get_by_label("Opportunity name").fill(f"{company} pilot")
    page.get_by_test_id("convert-confirm").click()
    expect(page.get_by_test_id("converted-opportunity")).to_have_text(f"{company} pilot")

    stored = api(live_server, f"/api/objects/lead/{lead['id']}", alice)
    assert stored["status"] == "converted"
    [account] = find(live_server, alice, "account", [["name", "=", company]])["records"]
    assert stored["converted_account"] == account["id"] and account["industry"] == "energy"

    page.get_by_test_id("convert-done").click()
    expect(page.get_by_test_id("field-converted_account")).to_contain_text(company)
    expect(page.get_by_test_id("lead-convert")).to_have_count(0)
    page.get_by_test_id("field-converted_account").get_by_role("link").click()
    expect(page.get_by_test_id("record-title")).to_have_text(company)
