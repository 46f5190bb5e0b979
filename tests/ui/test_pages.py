"""What a user notices on the main pages, through NiceGUI's simulated browser."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from nicegui import ui
from nicegui.testing import User

from app.auth.sessions import SESSION_COOKIE
from app.objectql import Context
from components.kanban_board import KanbanColumn
from tests.ui.conftest import Demo

pytestmark = [pytest.mark.ui, pytest.mark.xdist_group("ui")]


async def test_home_redirects_to_login_when_signed_out(user: User) -> None:
    response = await user.http_client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2F"
    await user.open("/")  # follows the redirect
    await user.should_see("Sign in")


def _by_testid(user: User, testid: str) -> list[ui.element]:
    """Elements carrying `data-testid` (the hooks the Playwright tests use, too)."""
    return [e for e in user.find(ui.element).elements if e.props.get("data-testid") == testid]


def _record(demo: Demo, object_name: str, owner: Context) -> dict:
    system = Context.system()
    found = demo.services.ql.find_one(system, object_name, fields=["id", "name"],
                                      filters=[["owner", "=", owner.user_id]], sort="name")
    assert found is not None, f"demo data has no {object_name} of {owner.name}"
    return found


async def test_home_shows_alices_object_cards(alice: User, demo: Demo) -> None:
    await alice.open("/")
    await alice.should_see("Welcome back, Alice")
    cards = {card.props.get("data-object") for card in alice.find(ui.card).elements}
    readable = {obj.name for obj in demo.services.ql.readable_objects(demo.users["alice"])}
    assert {"account", "contact", "opportunity"} <= readable
    assert readable <= cards
    await alice.should_see("Accounts")


async def test_account_list_shows_names_and_view_switcher(alice: User, demo: Demo) -> None:
    await alice.open("/o/account")
    switcher = _by_testid(alice, "list-view-switcher")
    assert len(switcher) == 1
    [menu] = [m for m in switcher[0].descendants() if isinstance(m, ui.menu)]
    assert not [i for i in menu.descendants() if isinstance(i, ui.menu_item)], \
        "the views are listed when the menu first opens, not with every page"
    menu.value = True  # what opening it in the browser does
    assert {item.props.get("data-view") for item in menu.descendants()
            if isinstance(item, ui.menu_item)} >= {"all", "my_accounts"}
    table = alice.find(ui.table).elements.pop()
    names = {str(row.get("name")) for row in table.rows}
    assert table.rows, "the first page of accounts is in the initial render"
    mine = _record(demo, "account", demo.users["alice"])
    visible = demo.services.ql.find(demo.users["alice"], "account", fields=["name"],
                                    limit=500).records
    assert mine["name"] in {r["name"] for r in visible}
    assert names <= {r["name"] for r in visible}
    assert len(names) == min(50, len(visible))


async def test_account_list_search_narrows_to_one_name(alice: User, demo: Demo) -> None:
    mine = _record(demo, "account", demo.users["alice"])
    await alice.open(f"/o/account?q={quote(mine['name'])}")
    table = alice.find(ui.table).elements.pop()
    assert mine["name"] in {row.get("name") for row in table.rows}


async def test_record_page_shows_own_opportunity(alice: User, demo: Demo) -> None:
    mine = _record(demo, "opportunity", demo.users["alice"])
    await alice.open(f"/o/opportunity/{mine['id']}")
    await alice.should_see(mine["name"])
    assert not _by_testid(alice, "not-found")


async def test_record_page_hides_someone_elses_opportunity(alice: User, demo: Demo) -> None:
    bobs = _record(demo, "opportunity", demo.users["bob"])
    await alice.open(f"/o/opportunity/{bobs['id']}")
    assert len(_by_testid(alice, "not-found")) == 1
    await alice.should_see("Record not found")
    await alice.should_not_see(bobs["name"])


async def test_kanban_shows_a_column_per_stage(alice: User, demo: Demo) -> None:
    await alice.open("/o/opportunity/kanban")
    columns = alice.find(KanbanColumn).elements
    stage = demo.services.ql.object("opportunity").field("stage")
    assert stage is not None
    labels = [column.props["label"] for column in columns]
    assert "Prospecting" in labels and "Negotiation" in labels
    assert set(labels) <= {option.label for option in stage.options}
    assert _by_testid(alice, "view-board")


async def test_login_form_keeps_the_target_after_redirect(user: User) -> None:
    await user.open("/o/account")  # signed out: 303 to /login?next=/o/account
    await user.should_see("Email")
    await user.should_see("Password")
    hidden = [e for e in user.find(ui.element).elements if e.props.get("name") == "next"]
    assert [e.props["value"] for e in hidden] == ["/o/account"]


async def test_signed_in_user_skips_the_login_page(alice: User) -> None:
    response = await alice.http_client.get("/login?next=%2Fo%2Faccount")
    assert response.status_code == 303
    assert response.headers["location"] == "/o/account"


async def test_tampered_session_cookie_is_signed_out(alice: User) -> None:
    token = alice.http_client.cookies[SESSION_COOKIE]
    alice.http_client.cookies.set(SESSION_COOKIE, token[:-4] + "AAAA")
    response = await alice.http_client.get("/o/account")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_the_notification_count_is_in_the_list_page_and_its_menu_built_on_opening(
        alice: User, demo: Demo) -> None:
    ctx = demo.users["alice"]
    note = demo.services.ql.insert(Context.system(), "notification", {
        "user": ctx.user_id, "owner": ctx.user_id, "title": "Bell test: a deal moved",
        "body": "", "read": False})
    try:
        await alice.open("/o/account")
        [badge] = _by_testid(alice, "notifications-unread")
        unread, _ = demo.services.ql.count(ctx, "notification", filters=[
            ["user", "=", "$user"], ["read", "=", False]], cap=99)
        assert unread >= 1 and badge.visible and badge.text == str(unread), \
            "the count is read before the page is sent, not pushed after it connects"
        [bell] = _by_testid(alice, "notifications")
        [menu] = [m for m in bell.descendants() if isinstance(m, ui.menu)]
        assert not [i for i in menu.descendants() if isinstance(i, ui.menu_item)], \
            "the notifications are listed when the menu first opens, not with every page"
        menu.value = True
        await alice.should_see("Bell test: a deal moved")
    finally:
        demo.services.ql.delete(Context.system(), "notification", note["id"])
