"""The studio's dashboard editor as plain functions: rows in and out of a document (only
title, kind, position, size and order change), grid checks before saving, and the YAML
editor's text with the problem's line."""

from __future__ import annotations

import yaml

from components.admin import dashboard_docs as docs
from tests.conftest import METADATA


def _sales() -> dict:
    return yaml.safe_load((METADATA / "dashboards" / "sales.dashboard.yml").read_text())


def test_rows_round_trip_keeps_queries_and_changes_only_what_was_edited() -> None:
    doc = _sales()
    rows = docs.widget_rows(doc)
    assert rows[0] == {"name": "revenue", "title": "Revenue", "kind": "kpi",
                       "x": 0, "y": 0, "w": 3, "h": 1}
    assert docs.apply_rows(doc, rows) == doc
    rows[0].update(title="Bookings", w=4.0, x=None)  # number inputs answer floats / None
    rows = docs.move(rows, 0, 1)
    rows = [r for r in rows if r["name"] != "pipeline"]
    new = docs.apply_rows(doc, rows)
    first, second = new["widgets"][0], new["widgets"][1]
    assert (first["name"], second["name"]) == (doc["widgets"][1]["name"], "revenue")
    assert second["title"] == "Bookings" and second["position"] == {"x": 0, "y": 0,
                                                                    "w": 4, "h": 1}
    assert second["query"] == doc["widgets"][0]["query"]
    assert "pipeline" not in [w["name"] for w in new["widgets"]]
    assert doc["widgets"][0]["title"] == "Revenue"  # the loaded document is untouched


def test_move_stays_inside_the_list() -> None:
    rows = [{"name": "a"}, {"name": "b"}]
    assert docs.move(rows, 0, -1) == rows and docs.move(rows, 1, 1) == rows
    assert [r["name"] for r in docs.move(rows, 1, -1)] == ["b", "a"]


def test_grid_problems_before_saving() -> None:
    rows = docs.widget_rows(_sales())
    assert docs.grid_problems(rows) == {}
    rows[0].update(x=10, w=3)
    rows[1].update(x=0, y=0, w=3, h=1)
    rows[2].update(w=0)
    found = docs.grid_problems(rows)
    assert found[rows[0]["name"]] == "x + w must fit the 12-column grid"
    assert found[rows[2]["name"]] == "width and height must be at least 1"
    rows[0].update(x=0)
    assert docs.grid_problems(rows)[rows[1]["name"]] == "overlaps 'revenue'"


def test_yaml_text_problems_carry_their_line() -> None:
    doc, problems = docs.parse_text("name: sales\nwidgets:\n  - name: [unclosed\n")
    assert doc is None and problems[0].line == 4 and "invalid YAML" in problems[0].message
    doc, problems = docs.parse_text("- just a list")
    assert doc is None and "mapping" in problems[0].message
    doc, problems = docs.parse_text(docs.to_text(_sales()))
    assert doc == _sales() and problems == []
