"""Broken metadata is reported precisely (file, line, object, field) and never half-applied."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.metadata import MetadataError, load_registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def meta(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "metadata", tmp_path / "metadata")
    return tmp_path / "metadata"


def _edit(meta: Path, obj: str, old: str, new: str) -> Path:
    path = meta / "objects" / f"{obj}.object.yml"
    text = path.read_text()
    assert old in text, f"fixture text {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _problems(meta: Path) -> list:
    with pytest.raises(MetadataError) as caught:
        load_registry(meta)
    return caught.value.problems


def test_core_objects_load_with_every_field_of_objects_md() -> None:
    registry = load_registry(ROOT / "metadata")
    assert {o.name for o in registry.business_objects} == {
        "account", "contact", "opportunity", "contract", "activity", "email", "lead"}
    opp = registry["opportunity"]
    assert opp.field("stage").option("negotiation").extra("probability") == 80
    assert opp.field("expected_revenue").value_type == "currency"
    assert registry["account"].field("name").unique == "case_insensitive"
    assert registry["contact"].field("account").delete_behavior == "cascade"
    assert {r.name for r in opp.validation_rules} == {
        "require_loss_reason_when_lost", "close_date_in_future", "amount_required_when_won"}
    assert set(registry["account"].list_views) >= {"all", "my_accounts", "new_this_week",
                                                   "high_value", "technology"}
    sections = [s.label for s in registry["account"].page_layouts["default"].sections]
    assert sections == ["Basic information", "Financials", "Contact details",
                        "Billing address", "Shipping address", "Other"]
    # system fields exist on every object without being declared
    assert {"id", "owner", "created_at", "version"} <= set(registry["email"].all_fields)


def test_lead_object_of_design_md() -> None:
    registry = load_registry(ROOT / "metadata")
    lead = registry["lead"]
    assert lead.sharing_model == "private"
    assert {"name", "company", "title", "email", "phone", "status", "source", "rating",
            "industry", "owner", "converted_account", "converted_contact",
            "converted_opportunity", "converted_at"} <= set(lead.all_fields)
    assert lead.field("name").required
    assert lead.field("status").option_values == [
        "new", "working", "nurturing", "qualified", "unqualified", "converted"]
    assert all(o.color for o in lead.field("status").options)
    # the same industries as accounts, so converting never loses the value
    assert lead.field("industry").option_values == \
        registry["account"].field("industry").option_values
    assert lead.field("source").option_values == \
        registry["contact"].field("lead_source").option_values
    for name, target in [("converted_account", "account"), ("converted_contact", "contact"),
                         ("converted_opportunity", "opportunity")]:
        assert lead.field(name).reference_to == target and lead.field(name).readonly
    assert {"all", "my_leads", "open_leads"} <= set(lead.list_views)
    assert any(v.kanban and v.kanban.group_by == "status" for v in lead.list_views.values())
    assert {f.name for f in lead.searchable_fields} >= {"name", "company", "email"}
    for role in ("sales_manager", "sales_rep"):
        rights = registry.permissions[role].object("lead")
        assert rights.create and rights.read and rights.edit and not rights.view_all
    viewer = registry.permissions["viewer"].object("lead")
    assert viewer.read and viewer.view_all and not viewer.edit


def test_unknown_field_type_names_file_line_object_and_field(meta: Path) -> None:
    path = _edit(meta, "account", "type: currency", "type: curency")
    [problem] = _problems(meta)
    assert problem.file.endswith("account.object.yml")
    assert problem.object == "account"
    assert problem.field == "annual_revenue"
    assert problem.line == _line_of(path, "type: curency")
    assert "unknown field type 'curency'" in problem.message
    assert str(problem).startswith(f"{problem.file}:{problem.line}: account.annual_revenue:")


def test_unknown_key_is_an_error(meta: Path) -> None:
    path = _edit(meta, "contact", "    required: true", "    required: true\n    requird: true")
    [problem] = _problems(meta)
    assert "unknown key 'requird'" in problem.message
    assert problem.line == _line_of(path, "requird")


def test_bad_reference_and_bad_expression_are_each_reported(meta: Path) -> None:
    _edit(meta, "opportunity", "reference_to: account", "reference_to: acount")
    path = _edit(meta, "opportunity", "amount * probability / 100",
                 "amount * probabilty / 100")
    problems = _problems(meta)
    messages = [p.message for p in problems]
    assert any("unknown object 'acount'" in m for m in messages)
    formula = next(p for p in problems if "probabilty" in p.message)
    assert formula.field == "expected_revenue"
    assert formula.line == _line_of(path, "probabilty")


def test_duplicate_keys_and_broken_yaml(meta: Path) -> None:
    path = _edit(meta, "email", "fields:\n", "fields:\n  subject:\n    type: text\n")
    problems = _problems(meta)
    assert any("duplicate key 'subject'" in p.message and p.file == str(path)
               for p in problems)
    path.write_text("name: email\nfields: [unclosed\n")
    problems = _problems(meta)
    assert any("invalid YAML" in p.message and p.line for p in problems)


def test_list_view_with_unknown_operator_and_column(meta: Path) -> None:
    _edit(meta, "account", "[annual_revenue, \">\", 10000000]",
          "[annual_revenue, \"~=\", 10000000]")
    problems = _problems(meta)
    assert any("unknown operator '~='" in p.message for p in problems)


def test_validation_rule_naming_unknown_field(meta: Path) -> None:
    _edit(meta, "contract", "ISBLANK(end_date)", "ISBLANK(ending)")
    [problem] = _problems(meta)
    assert "ending" in problem.message and problem.object == "contract"


def test_check_metadata_cli_reports_and_exits_non_zero(meta: Path) -> None:
    _edit(meta, "account", "type: currency", "type: curency")
    result = subprocess.run([sys.executable, "-m", "app.cli", "check-metadata", "--dir",
                             str(meta)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert "account.object.yml:" in result.stderr
    assert "unknown field type 'curency'" in result.stderr
    good = subprocess.run([sys.executable, "-m", "app.cli", "check-metadata", "--dir",
                           str(ROOT / "metadata")], capture_output=True, text=True, cwd=ROOT)
    assert good.returncode == 0, good.stderr
    assert "7 objects" in good.stdout


def test_permission_sets_load_and_report_unknown_names(meta: Path) -> None:
    registry = load_registry(ROOT / "metadata")
    assert set(registry.permissions) == {"admin", "sales_manager", "sales_rep", "viewer"}
    assert registry.permissions["viewer"].field("account", "annual_revenue").read is False
    assert registry.permissions["sales_rep"].object("contract").create is False
    path = meta / "permissions" / "sales_rep.permission.yml"
    path.write_text(path.read_text().replace("probability:", "probabilty:")
                    .replace("  email: {", "  emial: {"))
    problems = _problems(meta)
    assert {p.message for p in problems} == {"unknown field 'opportunity.probabilty'",
                                             "unknown object 'emial'"}
    assert all(p.file == str(path) and p.line for p in problems)
