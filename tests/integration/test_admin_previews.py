"""The studio's previews on real records, without saving anything: the edited page
layout as the record page would draw it, and formulas / rule conditions tried on a
record (the expression input's check and evaluate)."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import uuid4

from app.objectql.service import ObjectQL
from components.admin.expression_input import check, evaluate
from components.admin.layout_preview import hidden_on, preview_sections
from components.admin.views_tab import preview_rows
from components.record_form import holds
from tests.conftest import Team


def _account(ql: ObjectQL, team: Team, **values: object) -> dict:
    return ql.insert(team.rep_a, "account", {"name": f"Acme {uuid4().hex[:8]}",
                                            "phone": "555-0100", **values})


def test_layout_preview_follows_the_unsaved_layout(ql: ObjectQL, team: Team) -> None:
    account = _account(ql, team, industry="finance")
    layout = {"sections": [
        {"label": "Basics", "columns": 1, "fields": ["phone", "name", "not_yet_a_field"]},
        {"label": "Finance only", "fields": ["industry"],
         "visible_when": "industry == 'finance'"},
        {"label": "Empty", "fields": []}]}
    obj = ql.object("account")
    sections = preview_sections(ql, team.rep_a, obj, layout)
    assert [(s.label, s.columns, [f.name for f in s.fields]) for s in sections] == [
        ("Basics", 1, ["phone", "name"]), ("Finance only", 2, ["industry"])]
    record = ql.get(team.rep_a, "account", account["id"])
    assert hidden_on(sections, record) == []
    other = ql.get(team.rep_a, "account", _account(ql, team, industry="retail")["id"])
    assert hidden_on(sections, other) == ["Finance only"]
    assert holds(sections[1].visible_when, {"industry": "finance"})


def test_formula_and_rule_tried_on_a_record(ql: ObjectQL, team: Team) -> None:
    known = set(ql.object("account").fields)
    assert check("annual_revenue * 2", known) is None
    assert "unknown" in (check("bogus_field + 1", known) or "").lower()
    record = ql.get(team.rep_a, "account",
                    _account(ql, team, annual_revenue=1500, industry="finance")["id"])
    assert evaluate("annual_revenue * 2", known, record, ql.today()) == (True, 3000)
    rule = "annual_revenue > 10000000 and ISBLANK(industry)"
    assert evaluate(rule, known, record, ql.today()) == (True, False)  # the rule passes
    ok, reason = evaluate("bogus + 1", set(), record, ql.today())
    assert not ok and "bogus" in str(reason)


def test_list_view_preview_shows_the_first_rows_of_the_unsaved_view(ql: ObjectQL,
                                                                    team: Team) -> None:
    for i in range(7):
        _account(ql, team, industry="finance" if i % 2 else "retail")
    editor = SimpleNamespace(services=SimpleNamespace(ql=ql), ctx=team.rep_a,
                             object_name="account")
    view = {"columns": ["name", "industry"], "filters": [["industry", "=", "finance"]],
            "sort": [["name", "desc"]]}
    rows = preview_rows(editor, view)  # type: ignore[arg-type]
    expected = ql.find(team.rep_a, "account", fields=["name"],
                       filters=[["industry", "=", "finance"]], sort=[["name", "desc"]],
                       limit=5).records
    assert [r["name"] for r in rows] == [r["name"] for r in expected]
    assert rows and all(r["industry"] == "finance" for r in rows) and len(rows) <= 5
