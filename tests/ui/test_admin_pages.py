"""The admin studio's pages through NiceGUI's simulated browser: who gets in, the nav
link, the users screen. (Metadata editing is covered end to end in tests/e2e.)"""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest
from nicegui import ui
from nicegui.testing import User

from app.auth.passwords import verify_password
from app.objectql import Context
from tests.ui.conftest import Demo, sign_in

pytestmark = [pytest.mark.ui, pytest.mark.xdist_group("ui")]


def _by_testid(user: User, testid: str) -> list[ui.element]:
    return [e for e in user.find(ui.element).elements if e.props.get("data-testid") == testid]


def _nav_targets(user: User) -> set[str]:
    return {str(e.props.get("data-nav")) for e in user.find(ui.link).elements
            if e.props.get("data-nav")}


@pytest.mark.parametrize("who", ["alice", "manager"])
async def test_non_admins_get_403_and_no_link(user: User, demo: Demo, who: str) -> None:
    sign_in(user, demo, who)
    for path in ("/admin", "/admin/users", "/admin/objects/account", "/admin/history",
                 "/admin/permissions"):
        response = await user.http_client.get(path)
        assert response.status_code == 403, path
        assert "Admins only" in response.text
    # The 403 page has the usual navigation, without the studio's link.
    assert '"data-nav":"/o/account"' in response.text.replace(" ", "")
    assert '"data-nav":"/admin"' not in response.text.replace(" ", "")


async def test_signed_out_visitors_go_to_the_login_page(user: User) -> None:
    response = await user.http_client.get("/admin/users")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Fadmin%2Fusers")


async def test_admins_see_the_link_and_the_objects_with_counts(user: User, demo: Demo) -> None:
    sign_in(user, demo, "admin")
    response = await user.http_client.get("/admin")
    assert response.status_code == 200
    await user.open("/admin")
    assert "/admin" in _nav_targets(user)
    await user.should_see("Admin studio")
    counts = {e.props.get("data-object-row") for e in user.find(ui.element).elements
              if e.props.get("data-object-row")}
    assert {"account", "contact", "opportunity", "lead"} <= counts
    accounts = demo.services.ql.count(Context.system(), "account")[0]
    await user.should_see(f"{accounts:,}")


async def test_admin_creates_a_user_who_can_then_sign_in(user: User, demo: Demo) -> None:
    sign_in(user, demo, "admin")
    await user.open("/admin/users")
    await user.should_see("alice@hotcrm.local")
    email = f"new-{uuid4().hex[:6]}@example.test"
    user.find(marker="user-new").click()
    await user.should_see("Initial password")
    user.find(marker="user-name").type("Nina New")
    user.find(marker="user-email").type(email)
    user.find(marker="user-password").type("short")
    user.find(marker="user-save").click()
    await user.should_see("Passwords need at least 8 characters.")
    assert demo.services.ql.find_one(Context.system(), "user", fields=["id"],
                                     filters=[["email", "=", email]]) is None
    user.find(marker="user-password").clear().type("nina-pass-123")
    user.find(marker="user-save").click()
    created = None
    for _ in range(50):  # the save runs in the IO thread pool
        created = demo.services.ql.find_one(Context.system(), "user", fields=["id", "role"],
                                            filters=[["email", "=", email]])
        if created:
            break
        await asyncio.sleep(0.1)
    assert created is not None and created["role"] == "sales_rep"
    assert verify_password(demo.services.ql, created["id"], "nina-pass-123")
    rows = {e.props.get("data-user") for e in user.find(ui.element).elements}
    for _ in range(50):
        if email in rows:
            break
        await asyncio.sleep(0.1)
        rows = {e.props.get("data-user") for e in user.find(ui.element).elements}
    assert email in rows, "the list shows the new user"
