"""Signing in and out in the browser, the way back to the page asked for, and row-level
security as a rep sees it: another rep's opportunity does not exist for them."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from app.devserver import token_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]




def get(base: str, path: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(f"{base}{path}",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def fill_login(page: Any, who: str, password: str = "hotcrm-demo") -> None:
    page.fill("input[name=email]", f"{who}@hotcrm.local")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def bobs_opportunity(base: str) -> dict[str, Any]:
    status, body = get(base, "/api/objects/opportunity?limit=1&fields=name,owner",
                       token_for(base, "bob"))
    assert status == 200 and body["records"], "the demo data gives Bob opportunities"
    return dict(body["records"][0])


def test_wrong_password_shows_the_error_and_the_right_one_lands_on_home(
        live_server: str, page: Any) -> None:
    page.goto(f"{live_server}/login")
    fill_login(page, "alice", "not-the-password")
    error = page.get_by_test_id("login-error")
    error.wait_for()
    assert "Wrong email or password" in error.inner_text()
    assert "/login" in page.url
    fill_login(page, "alice")
    page.wait_for_url(f"{live_server}/")
    page.locator("[data-object]").first.wait_for()
    assert page.get_by_test_id("login-error").count() == 0


def test_unauthenticated_page_goes_to_login_and_back_after_signing_in(
        live_server: str, page: Any) -> None:
    page.goto(f"{live_server}/o/account")
    page.wait_for_url(re.compile(r"/login\?next=%2Fo%2Faccount$"))
    fill_login(page, "alice")
    page.wait_for_url(f"{live_server}/o/account")


def test_home_without_a_session_goes_to_login(live_server: str, page: Any) -> None:
    page.goto(live_server)
    page.wait_for_url(re.compile(r"/login\?next=%2F$"))
    page.locator("input[name=email]").wait_for()


def test_sign_out_from_the_user_menu_ends_the_session(live_server: str, page: Any) -> None:
    page.goto(f"{live_server}/login")
    fill_login(page, "bob")
    page.wait_for_url(f"{live_server}/")
    page.get_by_test_id("user-menu").click()
    page.get_by_text("Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
    assert not [c for c in page.context.cookies() if c["name"] == "hotcrm_session"]
    page.goto(f"{live_server}/o/opportunity/kanban")
    page.wait_for_url(re.compile(r"/login\?next="))


def test_a_rep_cannot_read_another_reps_opportunity_over_rest(live_server: str) -> None:
    deal = bobs_opportunity(live_server)
    status, body = get(live_server, f"/api/objects/opportunity/{deal['id']}",
                       token_for(live_server, "alice"))
    assert status == 404
    assert body["error"]["code"] == "not_found"
    # Bob himself does see it: the 404 is row-level security, not a bad id.
    status, _ = get(live_server, f"/api/objects/opportunity/{deal['id']}",
                    token_for(live_server, "bob"))
    assert status == 200


def test_a_rep_sees_not_found_for_another_reps_opportunity(live_server: str,
                                                          page: Any) -> None:
    deal = bobs_opportunity(live_server)
    page.goto(f"{live_server}/login?next=%2F")
    fill_login(page, "alice")
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/o/opportunity/{deal['id']}")
    page.get_by_test_id("not-found").wait_for(timeout=10_000)
    assert deal["name"] not in page.content()
