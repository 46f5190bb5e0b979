"""The admin studio end to end, against one running server (no restart anywhere):

- the admin adds a "Region" picklist to accounts, in the layout and the "All accounts"
  view; a rep who signed in before the change sets it on an account form and the list
  shows it;
- the admin creates a custom object "Project" with a lookup to account: it is in the
  navigation, its list and form work, the account page lists its projects;
- the admin reverts: Region disappears, and comes back with its values on re-applying;
- a rep opening /admin gets 403.

It runs on a server of its own: a metadata change reloads every open page and leaves
hidden columns and a custom object behind, which the other browser tests must not see.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from playwright.sync_api import expect

from app.devserver import ServerDidNotStart, api, running_server, sign_in, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("studio")]
SLOW = 30_000  # a save syncs the schema and reloads the page on a loaded machine


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This module's own server (overrides the shared one of tests/e2e/conftest.py)."""
    try:
        with running_server(tmp_path_factory.mktemp("studio"), timeout=90) as (url, _proc):
            yield url
    except ServerDidNotStart as exc:
        pytest.fail(str(exc))


def live_version(base: str, token: str) -> int:
    return int(api(base, "/api/metadata/versions?limit=1", token)["current"])


@pytest.fixture
def admin_token(live_server: str) -> Iterator[str]:
    token = token_for(live_server, "admin")
    start = live_version(live_server, token)
    yield token
    if live_version(live_server, token) != start:  # leave the metadata as it was
        api(live_server, f"/api/metadata/versions/{start}/revert", token_for(live_server, "admin"),
            method="POST", body={"comment": "e2e: back to the start"}, timeout=60)


def pick(page: Any, select_testid: str, option: str | re.Pattern[str]) -> None:
    """Open a Quasar select by its test id and click one of its options."""
    page.get_by_test_id(select_testid).click()
    page.locator(".q-menu .q-item", has_text=option).first.click()


def add_field(page: Any, label: str, type_label: str, *, values: list[str] = (),  # type: ignore[assignment]
              target: str | None = None, views: list[str] = ()) -> None:  # type: ignore[assignment]
    page.get_by_test_id("field-new").click()
    dialog = page.get_by_test_id("field-dialog")
    expect(dialog).to_be_visible()
    page.get_by_test_id("field-label").fill(label)
    pick(page, "field-type", type_label)
    for index, value in enumerate(values):
        page.get_by_test_id("picklist-add").click()
        page.get_by_test_id("picklist-label").nth(index).fill(value)
    if target:
        pick(page, "field-opt-reference_to", re.compile(rf"^{target}$"))
    for view in views:
        pick(page, "field-views", view)
        page.get_by_test_id("field-label").click()  # closes the multiple-choice menu
    page.get_by_test_id("field-save").click()
    expect(dialog).to_be_hidden(timeout=SLOW)


def open_page(page: Any, url: str, ready: Any) -> None:
    """Open `url` until `ready` shows: on this loaded 2-core machine a page can exceed
    NiceGUI's 3 s build timeout once (its 500 page says so); a second load is fair."""
    for attempt in range(2):
        page.goto(url)
        try:
            expect(ready).to_be_visible(timeout=SLOW)
            return
        except AssertionError:
            if attempt or "response_timeout" not in page.content():
                raise


def choose_lookup(page: Any, field: str, text: str) -> None:
    box = page.get_by_test_id(f"field-{field}").get_by_role("combobox")
    box.click()
    box.fill(text)
    page.locator(".q-menu .q-item", has_text=text).first.click()


def test_region_project_revert_and_reapply_without_a_restart(
        browser: Any, live_server: str, admin_token: str) -> None:
    alice = token_for(live_server, "alice")
    account = api(live_server, "/api/objects/account", alice, method="POST",
                  body={"name": f"E2E Region {uuid4().hex[:6]}", "phone": "+1 555 0142"})
    # The rep signs in before any change and keeps that session throughout.
    rep_context = browser.new_context(viewport={"width": 1280, "height": 800})
    admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        rep, admin = rep_context.new_page(), admin_context.new_page()
        sign_in(rep, live_server, "alice", f"/o/account/{account['id']}")
        expect(rep.get_by_test_id("record-title")).to_have_text(account["name"])
        expect(rep.get_by_test_id("field-region")).to_have_count(0)

        # A rep gets 403 at /admin, and no link to it.
        response = rep.goto(f"{live_server}/admin")
        assert response is not None and response.status == 403
        expect(rep.get_by_test_id("admin-forbidden")).to_be_visible()
        expect(rep.locator('[data-nav="/admin"]')).to_have_count(0)

        # 1. The admin adds Region to accounts: layout and the "All accounts" view.
        sign_in(admin, live_server, "admin", "/admin/objects/account")
        add_field(admin, "Region", "Picklist (select)",
                  values=["North America", "EMEA", "APAC"], views=["All accounts"])
        expect(admin.locator('[data-field-row="region"]')).to_be_visible(timeout=SLOW)
        with_region = live_version(live_server, admin_token)

        # 2. The rep, still signed in from before, sets it on the account form.
        rep.goto(f"{live_server}/o/account/{account['id']}?edit=1")
        region = rep.get_by_test_id("field-region")
        expect(region).to_be_visible()
        region.locator(".q-field").click()
        rep.locator(".q-menu .q-item", has_text=re.compile(r"^EMEA$")).click()
        rep.get_by_test_id("record-save").click()
        expect(rep.get_by_test_id("record-edit")).to_be_visible()
        expect(rep.get_by_test_id("field-region")).to_have_text("EMEA")
        assert api(live_server, f"/api/objects/account/{account['id']}", alice)["region"] == \
            "emea"
        rep.goto(f"{live_server}/o/account?view=all&q={account['name'].replace(' ', '+')}")
        table = rep.get_by_test_id("list-table")
        expect(table.locator("thead")).to_contain_text("Region")
        expect(table.locator("tbody tr", has_text=account["name"])).to_contain_text("EMEA")

        # 3. A custom object with a lookup to account.
        admin.goto(f"{live_server}/admin")
        admin.get_by_test_id("object-new").click()
        admin.get_by_test_id("object-label").fill("Project")
        admin.get_by_test_id("object-save").click()
        admin.wait_for_url(re.compile(r"/admin/objects/project"), timeout=SLOW)
        add_field(admin, "Account", "Lookup (lookup)", target="account")
        expect(admin.locator('[data-field-row="account"]')).to_be_visible(timeout=SLOW)
        expect(admin.locator('[data-nav="/o/project"]')).to_be_visible()

        open_page(admin, f"{live_server}/o/project", admin.get_by_test_id("list-table"))
        open_page(admin, f"{live_server}/o/project/new", admin.get_by_test_id("record-save"))
        project = f"Apollo {uuid4().hex[:4]}"
        admin.get_by_test_id("field-name").locator("input").first.fill(project)
        choose_lookup(admin, "account", account["name"])
        admin.get_by_test_id("record-save").click()
        admin.wait_for_url(re.compile(r"/o/project/(?!new)[^/?#]+$"), timeout=SLOW)
        expect(admin.get_by_test_id("record-title")).to_have_text(project)
        admin.goto(f"{live_server}/o/account/{account['id']}")
        expect(admin.get_by_test_id("related-project")).to_contain_text(project)
        admin.goto(f"{live_server}/o/project")
        expect(admin.get_by_test_id("list-table").locator("tbody")).to_contain_text(project)
        with_project = live_version(live_server, admin_token)

        # 4. Revert to before Region: it disappears for the rep; re-applying brings it
        # back with the value the rep saved.
        admin.goto(f"{live_server}/admin/history")
        admin.get_by_test_id(f"version-revert-{with_region - 1}").click()
        admin.get_by_test_id("revert-confirm").click()
        expect(admin.locator(f'[data-version="{with_project + 1}"]')).to_be_visible(
            timeout=SLOW)
        rep.goto(f"{live_server}/o/account/{account['id']}")
        expect(rep.get_by_test_id("record-title")).to_have_text(account["name"])
        expect(rep.get_by_test_id("field-region")).to_have_count(0)
        assert "region" not in api(live_server, f"/api/objects/account/{account['id']}", alice)

        admin.get_by_test_id(f"version-revert-{with_project}").click()
        admin.get_by_test_id("revert-confirm").click()
        expect(admin.locator(f'[data-version="{with_project + 2}"]')).to_be_visible(
            timeout=SLOW)
        rep.goto(f"{live_server}/o/account/{account['id']}")
        expect(rep.get_by_test_id("field-region")).to_have_text("EMEA")
        admin.goto(f"{live_server}/o/account/{account['id']}")
        expect(admin.get_by_test_id("related-project")).to_contain_text(project)
    finally:
        rep_context.close()
        admin_context.close()
