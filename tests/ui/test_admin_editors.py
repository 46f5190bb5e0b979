"""The studio editors' previews and drag and drop, in NiceGUI's simulated browser:
"Preview as a record page" draws the unsaved layout for a real record as the record page
does; the list view's preview of the first rows is live; picklist values reorder by
dragging. Nothing here saves (the demo database is shared)."""

from __future__ import annotations

import asyncio

import pytest
from nicegui import ui
from nicegui.testing import User

from app.objectql import Context
from components.record_form import slugify
from tests.ui.conftest import Demo, sign_in

pytestmark = [pytest.mark.ui, pytest.mark.xdist_group("ui")]


async def test_layout_preview_shows_a_real_record(user: User, demo: Demo) -> None:
    ql = demo.services.ql
    before = demo.services.studio.version()
    sign_in(user, demo, "admin")
    await user.open("/admin/objects/account?tab=layout")
    user.find(marker="layout-preview-open").click()
    await user.should_see("Preview as a record page")
    chosen = user.find(marker="layout-preview-record").elements.pop()
    record = ql.get(Context.system(), "account", str(chosen.value))
    # the first section's fields with this record's values, as on its record page
    await user.should_see(str(record["name"]), retries=50)
    layout = ql.object("account").page_layouts["default"]
    first = f"section-{slugify(layout.sections[0].label)}"
    for _ in range(50):  # the record loads in the IO thread pool
        drawn = {e.props.get("data-testid") for e in user.find(ui.element).elements}
        if first in drawn:
            break
        await asyncio.sleep(0.1)
    assert first in drawn  # drawn as the record page draws it
    phone = [e for e in user.find(ui.element).elements
             if e.props.get("data-testid") == "field-phone"]
    assert phone, "the record's phone is drawn in its field slot"
    assert demo.services.studio.version() == before  # nothing saved


async def test_list_view_preview_is_live(user: User, demo: Demo) -> None:
    ql = demo.services.ql
    before = demo.services.studio.version()
    sign_in(user, demo, "admin")
    await user.open("/admin/objects/account?tab=views")
    user.find(marker="view-edit-all").click()
    first = ql.find(Context.system(), "account", fields=["name"], sort=[["name", "asc"]],
                    limit=1).records[0]["name"]
    # drawn without pressing Preview, sorted as the view says
    await user.should_see(str(first), retries=50)
    tables = [e for e in user.find(ui.element).elements
              if e.props.get("data-testid") == "view-preview-table"]
    assert len(tables) == 1
    assert demo.services.studio.version() == before  # nothing saved


async def test_picklist_values_reorder_by_drag_and_drop(user: User, demo: Demo) -> None:
    sign_in(user, demo, "admin")
    await user.open("/admin/objects/account")
    user.find(marker="field-edit-industry").click()
    await user.should_see(marker="picklist-row-0", retries=50)

    def labels() -> list[str]:
        found = [e for e in user.find(ui.input).elements
                 if e.props.get("data-testid") == "picklist-label"]
        return [str(e.value) for e in sorted(found, key=lambda e: e.id)]  # page order

    before = labels()
    assert before[:3] == ["Technology", "Finance", "Manufacturing"]
    user.find(marker="picklist-row-0").trigger("dragstart")
    user.find(marker="picklist-row-2").trigger("drop.prevent")
    assert labels()[:3] == ["Finance", "Manufacturing", "Technology"]
    assert sorted(labels()) == sorted(before)  # nothing lost, nothing saved yet


async def test_layout_fields_drag_between_sections(user: User, demo: Demo) -> None:
    layout = demo.services.ql.object("account").page_layouts["default"]
    first, second = layout.sections[0], layout.sections[1]
    moved, anchor = first.fields[0], second.fields[1]
    before = demo.services.studio.version()
    sign_in(user, demo, "admin")
    await user.open("/admin/objects/account?tab=layout")
    await user.should_see(marker=f"section-fields-item-{moved}", retries=50)

    def sections() -> dict[str, list[str]]:
        """Each section card's field rows, in page order."""
        found: dict[str, list[str]] = {}
        for card in user.find(ui.card).elements:
            label = card.props.get("data-layout-section")
            if label is not None:
                found[str(label)] = [str(e.props["data-name"]) for e in card.descendants()
                                     if e.props.get("data-testid") == "section-fields-item"]
        return found

    assert moved in sections()[str(first.label)]
    user.find(marker=f"section-fields-item-{moved}").trigger("dragstart")
    user.find(marker=f"section-fields-item-{anchor}").trigger("drop.prevent.stop")
    now = sections()
    assert moved not in now[str(first.label)]
    assert now[str(second.label)][:3] == [second.fields[0], moved, anchor]  # before it
    # within a section: the moved field dropped on the section's first row goes first
    user.find(marker=f"section-fields-item-{moved}").trigger("dragstart")
    user.find(marker=f"section-fields-item-{second.fields[0]}").trigger("drop.prevent.stop")
    assert sections()[str(second.label)][:2] == [moved, second.fields[0]]
    assert sum(map(len, sections().values())) == sum(len(s.fields) for s in layout.sections)
    assert demo.services.studio.version() == before  # nothing saved until Save layout
