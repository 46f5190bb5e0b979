"""The Convert button of a lead's record page, through NiceGUI's simulated browser: the
dialog converts with the same service as the REST route, and the page then shows the
converted lead with its links."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from app.objectql import Context
from tests.ui.conftest import Demo, sign_in

pytestmark = [pytest.mark.ui, pytest.mark.xdist_group("ui")]
SYSTEM = Context.system()


def _fresh_lead(demo: Demo, owner: str, **values: str) -> dict:
    """A lead of its own per test: the demo database is shared by the UI tests."""
    data = {"name": "Nora Quinn", "company": "Quinn Robotics", "email": "nora@quinn.example",
            "status": "qualified", "source": "trade_show", "industry": "manufacturing",
            **values}
    return demo.services.ql.insert(demo.users[owner], "lead", data)


async def test_convert_from_the_record_page(user: User, demo: Demo) -> None:
    sign_in(user, demo, "alice")
    lead = _fresh_lead(demo, "alice", company="Quinn Robotics UI")
    await user.open(f"/o/lead/{lead['id']}")
    await user.should_see("Nora Quinn")
    user.find(marker="lead-convert").click()
    await user.should_see("Convert lead")
    await user.should_see("Create the account “Quinn Robotics UI”")
    user.find(marker="convert-opportunity-name").clear().type("Quinn pilot")
    user.find(marker="convert-confirm").click()
    await user.should_see("Lead converted")
    await user.should_see("Quinn pilot")

    stored = demo.services.ql.get(SYSTEM, "lead", lead["id"])
    assert stored["status"] == "converted" and stored["converted_opportunity"]
    opp = demo.services.ql.get(SYSTEM, "opportunity", stored["converted_opportunity"])
    assert opp["name"] == "Quinn pilot" and opp["owner"] == demo.users["alice"].user_id

    await user.open(f"/o/lead/{lead['id']}")  # converted: links instead of the button
    await user.should_see("Converted account")
    await user.should_not_see(marker="lead-convert")


async def test_convert_errors_keep_the_dialog_open(user: User, demo: Demo) -> None:
    sign_in(user, demo, "alice")
    # bob's account with this name: alice may not add contacts to it, so nothing happens
    bob_account = demo.services.ql.find_one(SYSTEM, "account", fields=["name"],
                                            filters=[["owner", "=",
                                                      demo.users["bob"].user_id]])
    assert bob_account is not None
    lead = _fresh_lead(demo, "alice", company=bob_account["name"].upper(),
                       email="nora.q@quinn.example")
    await user.open(f"/o/lead/{lead['id']}")
    user.find(marker="lead-convert").click()
    await user.should_see(f"Add to the existing account “{bob_account['name']}”")
    user.find(marker="convert-confirm").click()
    await user.should_see("you may not add contacts to this account")
    assert demo.services.ql.get(SYSTEM, "lead", lead["id"])["status"] == "qualified"


async def test_convert_button_only_on_leads_not_yet_converted(user: User,
                                                                  demo: Demo) -> None:
    converted = demo.services.ql.find_one(SYSTEM, "lead", fields=["id", "name"],
                                          filters=[["status", "=", "converted"]])
    assert converted is not None
    sign_in(user, demo, "manager")
    await user.open(f"/o/lead/{converted['id']}")
    await user.should_see(converted["name"])
    await user.should_see("Converted contact")
    await user.should_not_see(marker="lead-convert")
    open_lead = demo.services.ql.find_one(SYSTEM, "lead", fields=["id", "name"],
                                          filters=[["status", "=", "working"]])
    assert open_lead is not None
    sign_in(user, demo, "admin")
    await user.open(f"/o/lead/{open_lead['id']}")
    assert user.find(marker="lead-convert").elements
