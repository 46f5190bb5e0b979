"""The home page of `make run`: every object with a live record count from demo data."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_health_reports_database_and_cache(live_server: str) -> None:
    with urllib.request.urlopen(f"{live_server}/health") as response:
        body = json.load(response)
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["cache"] == "in-process"


def test_home_lists_objects_with_demo_counts(live_server: str, page, tmp_path: Path) -> None:
    page.goto(live_server)
    page.fill("input[name=email]", "admin@hotcrm.local")
    page.fill("input[name=password]", "hotcrm-demo")
    page.click("button[type=submit]")
    cards = page.locator("[data-object]")
    cards.first.wait_for()
    names = sorted(cards.evaluate_all("els => els.map(e => e.dataset.object)"))
    assert names == ["account", "activity", "contact", "contract", "email", "lead",
                     "opportunity"]
    accounts = page.locator('[data-object="account"] .record-count').inner_text()
    assert int(accounts.replace(",", "")) >= 50
    contracts = page.locator('[data-object="contract"] .record-count').inner_text()
    assert int(contracts.replace(",", "")) > 0  # won deals booked their contracts
    leads = page.locator('[data-object="lead"] .record-count').inner_text()
    assert int(leads.replace(",", "")) == 80
    # The page renders to an image (docs/screenshots come from `make screenshots`; a test
    # run leaves the checkout as it found it).
    shot = tmp_path / "home.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
