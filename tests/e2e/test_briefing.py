"""The AI briefing card in the browser (offline provider): the summary streams in, then
the structured parts; Regenerate; a next step becomes a task in the activity timeline;
a rep's briefing never mentions another rep's private deal on the same account."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import pytest
from playwright.sync_api import expect

from app.devserver import api, sign_in, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_briefing_streams_regenerates_and_makes_a_task(page: Any, live_server: str) -> None:
    alice, bob = token_for(live_server, "alice"), token_for(live_server, "bob")
    tag = uuid4().hex[:6]
    account = api(live_server, "/api/objects/account", alice, method="POST", body={
        "name": f"Briefing Labs {tag}", "industry": "technology", "phone": "+1 555 0101",
        "customer_status": "active_customer"})
    close = (date.today() + timedelta(days=30)).isoformat()
    api(live_server, "/api/objects/contact", alice, method="POST", body={
        "first_name": "Nora", "last_name": f"Quist{tag}", "title": "CIO",
        "account": account["id"], "email": f"nora.{tag}@labs.test"})
    api(live_server, "/api/objects/opportunity", alice, method="POST", body={
        "name": f"Labs rollout {tag}", "account": account["id"], "stage": "proposal",
        "amount": 64_000, "close_date": close})
    secret = f"Bob hidden upsell {tag}"
    api(live_server, "/api/objects/opportunity", bob, method="POST", body={
        "name": secret, "account": account["id"], "stage": "negotiation",
        "amount": 910_000, "close_date": close})

    sign_in(page, live_server, "alice", f"/o/account/{account['id']}")
    card = page.get_by_test_id("ai-briefing")
    summary = card.get_by_test_id("briefing-summary")
    expect(summary).to_contain_text(f"Briefing Labs {tag} is", timeout=10_000)
    expect(card.get_by_test_id("briefing-steps")).to_be_visible(timeout=10_000)
    expect(card.get_by_test_id("briefing-points")).to_be_visible()
    expect(card.get_by_test_id("briefing-sentiment")).to_be_visible()
    expect(card.get_by_test_id("briefing-engagement")).to_be_visible()
    # A screen reader hears the summary once it is written, not word by word.
    expect(summary).to_have_attribute("aria-live", "polite")
    expect(summary).to_have_attribute("aria-busy", "false")
    expect(card).to_contain_text(f"Labs rollout {tag}")
    expect(card).not_to_contain_text(secret)
    expect(card).not_to_contain_text("910,000")

    provider = card.get_by_test_id("briefing-provider").inner_text()
    old_steps = card.get_by_test_id("briefing-steps").element_handle()
    card.get_by_test_id("briefing-regenerate").click()
    # Regenerating replaces the steps: wait for the old ones to go before using the new.
    page.wait_for_function("el => !el.isConnected", arg=old_steps, timeout=10_000)
    expect(card.get_by_test_id("briefing-steps")).to_be_visible(timeout=10_000)
    expect(summary).to_have_attribute("aria-busy", "false", timeout=10_000)
    assert "offline" in provider

    step = card.get_by_test_id("briefing-step").first
    text = step.locator(".q-checkbox + div > div").first.inner_text()
    step.get_by_test_id("briefing-step-task").click()
    expect(page.locator(".q-notification").get_by_text("Task created")).to_be_visible(
        timeout=10_000)
    page.get_by_test_id("tab-timeline").click()
    expect(page.get_by_text(text[:60]).last).to_be_visible(timeout=10_000)
