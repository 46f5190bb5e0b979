"""The studio editors' document edits (components/admin/documents.py): references stay
consistent, nothing the editor does not manage is lost, the loaded document is untouched."""

from __future__ import annotations

import copy

from components.admin import documents


def account_like() -> dict:
    return {
        "name": "account", "label": "Account",
        "fields": {"name": {"type": "text", "required": True},
                   "region": {"type": "select", "label": "Region", "index": True,
                              "options": [{"value": "emea", "label": "EMEA"}]},
                   "rating": {"type": "select", "options": [{"value": "hot", "label": "Hot"}]}},
        "list_views": {
            "all": {"label": "All", "columns": ["name", "region"], "sort": [["region", "asc"]],
                    "filters": [["rating", "=", "hot"], "or", ["region", "=", "emea"]]},
            "board": {"columns": ["name"], "filters": [], "sort": [],
                      "kanban": {"group_by": "region"}}},
        "page_layouts": {"default": {"sections": [
            {"label": "Basics", "columns": 2, "fields": ["name", "region"]},
            {"label": "Other", "columns": 1, "fields": ["rating"]}]}},
    }


def test_hiding_a_field_removes_every_reference_and_keeps_the_rest() -> None:
    doc = account_like()
    loaded = copy.deepcopy(doc)
    hidden = documents.hide_field(doc, "region")
    assert doc == loaded, "the loaded document is never changed in place"
    assert "region" not in hidden["fields"]
    assert hidden["list_views"]["all"]["columns"] == ["name"]
    assert hidden["list_views"]["all"]["sort"] == []
    assert hidden["list_views"]["all"]["filters"] == [["rating", "=", "hot"]]
    assert "kanban" not in hidden["list_views"]["board"]
    assert hidden["page_layouts"]["default"]["sections"][0]["fields"] == ["name"]
    assert hidden["fields"]["rating"] == doc["fields"]["rating"]


def test_put_field_replaces_what_the_editor_manages_and_keeps_the_rest() -> None:
    doc = account_like()
    updated = documents.put_field(doc, "region", {
        "type": "select", "label": "Sales region", "required": True,
        "options": [{"value": "emea", "label": "EMEA"}, {"value": "apac", "label": "APAC"}],
        "help": ""}, managed={"type", "label", "required", "options", "help"})
    region = updated["fields"]["region"]
    assert region["label"] == "Sales region" and region["required"] is True
    assert region["index"] is True, "a key the editor does not manage is kept"
    assert "help" not in region, "an emptied setting leaves the document"
    assert [o["value"] for o in region["options"]] == ["emea", "apac"]
    retyped = documents.put_field(doc, "region", {"type": "text", "label": "Region"},
                                  managed={"type", "label", "options"})
    assert "options" not in retyped["fields"]["region"]


def test_placement_in_layout_sections_and_views() -> None:
    doc = account_like()
    moved = documents.place_in_layout(doc, "region", "Other")
    assert documents.section_of(moved, "region") == "Other"
    assert moved["page_layouts"]["default"]["sections"][0]["fields"] == ["name"]
    fresh = documents.place_in_layout(doc, "rating", "New section")
    assert documents.layout_sections(fresh) == ["Basics", "Other", "New section"]
    off = documents.place_in_layout(doc, "rating", None)
    assert documents.section_of(off, "rating") is None
    shown = documents.show_in_views(doc, "rating", ["board"])
    assert documents.views_showing(shown, "rating") == ["board"]
    assert documents.views_showing(documents.show_in_views(doc, "region", []), "region") == []


def test_related_lists_are_added_once() -> None:
    parent = account_like()
    once = documents.add_related_list(parent, "project", "account", ["name", "owner"],
                                      label="Projects")
    twice = documents.add_related_list(once, "project", "account", ["name"])
    assert twice["page_layouts"]["default"]["related_lists"] == [
        {"object": "project", "field": "account", "columns": ["name", "owner"],
         "label": "Projects"}]


def test_new_objects_and_names() -> None:
    doc = documents.new_object("project", "Project", "Projects", "work", "Project name",
                               "private")
    assert doc["name_field"] == "name" and doc["fields"]["name"]["required"] is True
    assert doc["list_views"]["all"]["label"] == "All projects"
    assert doc["page_layouts"]["default"]["sections"][0]["fields"] == ["name"]
    assert documents.snake_name("Project phase (2)") == "project_phase_2"
    assert documents.snake_name("2nd stage") == "f_2nd_stage"
    assert documents.check_new_object_name("Project", set()) is not None
    assert documents.check_new_object_name("account", {"account"}) is not None
    assert documents.check_new_object_name("project", {"account"}) is None


def test_picklist_rows_become_options_in_order() -> None:
    rows = [{"key": 1, "label": "North America", "value": "", "color": "blue"},
            {"key": 2, "label": "", "value": ""},
            {"key": 3, "label": "EMEA", "value": "emea", "color": None, "probability": 5}]
    assert documents.options_from_rows(rows) == [
        {"value": "north_america", "label": "North America", "color": "blue"},
        {"probability": 5, "value": "emea", "label": "EMEA"}]


def test_moved_drops_an_item_at_the_target() -> None:
    from components.admin.documents import moved

    items = ["a", "b", "c", "d"]
    assert moved(items, 0, 2) == ["b", "c", "a", "d"]
    assert moved(items, 3, 0) == ["d", "a", "b", "c"]
    assert moved(items, 1, 9) == items and moved(items, -1, 0) == items
    assert items == ["a", "b", "c", "d"]
