"""The studio's Dashboards tab through NiceGUI's simulated browser: admins list and edit
dashboards (title and position of a widget, applied at once; the YAML editor checked
while typing, with the loader's message and its line); everyone else gets 403."""

from __future__ import annotations

import asyncio

import pytest
from nicegui import ui
from nicegui.testing import User

from app.objectql import Context
from tests.ui.conftest import Demo, sign_in

pytestmark = [pytest.mark.ui, pytest.mark.xdist_group("ui")]


def _testids(user: User, prefix: str) -> list[ui.element]:
    return [e for e in user.find(ui.element).elements
            if str(e.props.get("data-testid") or "").startswith(prefix)]


async def test_non_admins_get_403(user: User, demo: Demo) -> None:
    sign_in(user, demo, "alice")
    for path in ("/admin/dashboards", "/admin/dashboards/sales"):
        response = await user.http_client.get(path)
        assert response.status_code == 403, path


async def test_admin_retitles_and_moves_a_widget_live(user: User, demo: Demo) -> None:
    studio = demo.services.studio
    before = studio.version()
    sign_in(user, demo, "admin")
    await user.open("/admin/dashboards")
    await user.should_see("Sales dashboard")
    await user.open("/admin/dashboards/sales")
    await user.should_see("Revenue")
    # off the grid: said next to the widget before anything is saved
    user.find(marker="widget-x-revenue").clear().type("11")
    user.find(marker="dashboard-save").click()
    await user.should_see("x + w must fit the 12-column grid")
    assert studio.version() == before
    try:
        user.find(marker="widget-x-revenue").clear().type("0")
        user.find(marker="widget-title-revenue").clear().type("Bookings")
        user.find(marker="dashboard-save").click()
        for _ in range(50):  # the save runs in the IO thread pool
            if studio.version() > before:
                break
            await asyncio.sleep(0.1)
        live = demo.services.ql.registry.dashboards["sales"]
        assert live.widgets[0].title == "Bookings"
        assert studio.version_info(studio.version()).comment == "Widgets of dashboard sales"
    finally:  # the demo database is shared: put the shipped definition back
        if studio.version() > before:
            studio.revert(Context.system(), before)
    assert demo.services.ql.registry.dashboards["sales"].widgets[0].title == "Revenue"


async def test_yaml_editor_shows_the_loader_message_with_its_line(user: User,
                                                                  demo: Demo) -> None:
    sign_in(user, demo, "admin")
    await user.open("/admin/dashboards/sales?tab=yaml")
    await user.should_see("No problems: the loader accepts this.")
    editor = user.find(marker="dashboard-yaml").elements.pop()
    text = str(editor.value)
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "object: opportunity")
    lines[at] = lines[at].replace("opportunity", "nothing")
    editor.set_value("\n".join(lines))
    await user.should_see(f"line {at + 1}: sales.revenue: unknown object 'nothing'",
                          retries=50)
    problems = [e for e in user.find(ui.label).elements if e.props.get("data-line")]
    assert [e.props["data-line"] for e in problems] == [str(at + 1)]
