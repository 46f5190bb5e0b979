"""Dashboard files are checked by the one metadata loader: each problem names the file,
the line, the widget and the field, and every problem is reported at once."""

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


def _edit(meta: Path, old: str, new: str) -> Path:
    path = meta / "dashboards" / "sales.dashboard.yml"
    text = path.read_text()
    assert old in text, f"fixture text {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))
    return path


def _problems(meta: Path) -> list:
    with pytest.raises(MetadataError) as caught:
        load_registry(meta)
    return caught.value.problems


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_shipped_dashboards_load():
    registry = load_registry(ROOT / "metadata")
    assert {"sales", "my_day"} <= set(registry.dashboards)
    sales = registry.dashboards["sales"]
    assert sales.objects_read(sales.widget("revenue")) == {"opportunity", "account"}  # type: ignore[arg-type]
    assert sales.objects_read(sales.widget("leaderboard")) == {"opportunity", "activity",  # type: ignore[arg-type]
                                                               "account"}


def test_every_problem_names_file_line_widget_and_field(meta: Path):
    path = _edit(meta, "aggregate: {amount: [sum, amount], count: [count, id]}",
                 "aggregate: {amount: [sum, amout], count: [count, id]}")
    _edit(meta, "group_by: [loss_reason]", "group_by: [loss_reasons]")
    _edit(meta, "rate: \"closed_won_n / (closed_won_n + closed_lost_n) * 100\"",
          "rate: \"closed_won_n / (closed_won_n + closed_lostn) * 100\"")
    _edit(meta, "chart: {type: donut, x: account.industry, y: revenue}",
          "chart: {type: donut, x: account.industry, y: revenu}")
    _edit(meta, "- [activity_date, \"=\", $period]", "- [activity_date, \"=\", $perod]")
    with pytest.raises(MetadataError) as caught:
        load_registry(meta)
    problems = {(p.object, p.field): p for p in caught.value.problems}
    assert set(problems) == {("sales.funnel", "amout"),
                             ("sales.loss_reasons", "loss_reasons"),
                             ("sales.loss_reasons", "loss_reason"),  # chart x no longer a column
                             ("sales.win_rate", "rate"), ("sales.revenue_by_industry", "revenu"),
                             ("sales.leaderboard", "activity_date")}
    assert all(p.file == str(path) for p in problems.values())
    assert problems[("sales.funnel", "amout")].line == _line_of(path, "[sum, amout]")
    amout = problems[("sales.funnel", "amout")]
    assert "unknown field 'amout' on opportunity" in amout.message
    assert problems[("sales.loss_reasons", "loss_reasons")].line == _line_of(path, "[loss_reasons]")
    assert "closed_lostn" in problems[("sales.win_rate", "rate")].message
    perod = problems[("sales.leaderboard", "activity_date")]
    assert "unknown placeholder '$perod'" in perod.message


def test_structure_error_names_the_widget(meta: Path):
    path = _edit(meta, "kind: chart\n    title: Pipeline by stage",
                 "kind: gauge\n    title: Pipeline by stage")
    [problem] = _problems(meta)
    assert (problem.file, problem.object) == (str(path), "sales.funnel")
    assert problem.line == _line_of(path, "kind: gauge")


def test_bucket_on_a_non_date_field(meta: Path):
    path = _edit(meta, 'group_by: ["close_date:month"]', 'group_by: ["amount:month"]')
    problems = _problems(meta)
    assert [(p.object, p.field, p.line) for p in problems
            if "date buckets need a date field" in p.message] == [
        ("sales.revenue_by_month", "amount:month", _line_of(path, '"amount:month"'))]


def test_check_metadata_command_reports_dashboards(meta: Path):
    _edit(meta, "object: contract", "object: contracts")
    result = subprocess.run([sys.executable, "-m", "app.cli", "check-metadata", "--dir", str(meta)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert "sales.dashboard.yml" in result.stderr
    assert "sales.contracts_booked: unknown object 'contracts'" in result.stderr
