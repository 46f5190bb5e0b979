"""What the studio's dashboard editor does to a dashboard document (the YAML-shaped dict
of `studio.dashboard_document`), as plain functions tested without a browser: the widget
grid's rows (title, kind, position, size, order) in and out, and the YAML editor's text
parsed with the loader's messages tied to its lines."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import yaml

from app.dashboards.models import WidgetKind
from app.metadata.documents import dump

Document = dict[str, Any]
KINDS: tuple[str, ...] = WidgetKind.__args__  # type: ignore[attr-defined]
GRID_COLUMNS = 12


@dataclass
class LineProblem:
    """A loader message about the YAML text; `line` counts from 1 (None: the whole text)."""

    line: int | None
    where: str  # "sales.revenue" (dashboard.widget) or ""
    message: str

    def text(self) -> str:
        at = f"line {self.line}: " if self.line else ""
        return f"{at}{self.where + ': ' if self.where else ''}{self.message}"


def widget_rows(doc: Document) -> list[dict[str, Any]]:
    """One editable row per widget, in the document's order."""
    rows = []
    for widget in doc.get("widgets") or []:
        position = widget.get("position") or {}
        rows.append({"name": widget.get("name"), "title": widget.get("title") or "",
                     "kind": widget.get("kind"),
                     **{k: int(position.get(k) or 0) for k in ("x", "y", "w", "h")}})
    return rows


def apply_rows(doc: Document, rows: list[dict[str, Any]]) -> Document:
    """The document with the rows' titles, kinds, positions and sizes, in the rows' order;
    a widget without a row is removed. Everything else a widget holds (its query, chart,
    drill ...) is kept as it was."""
    new = copy.deepcopy(doc)
    by_name = {w.get("name"): w for w in new.get("widgets") or []}
    widgets = []
    for row in rows:
        widget = by_name.get(row.get("name"))
        if widget is None:
            continue
        widget["title"] = str(row.get("title") or "").strip() or widget.get("title")
        widget["kind"] = row.get("kind") or widget.get("kind")
        widget["position"] = {k: _whole(row.get(k), widget.get("position", {}).get(k))
                              for k in ("x", "y", "w", "h")}
        widgets.append(widget)
    new["widgets"] = widgets
    return new


def _whole(value: Any, fallback: Any) -> Any:
    """A whole number from a number input (which answers floats, or None when empty)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return fallback


def move(rows: list[dict[str, Any]], index: int, step: int) -> list[dict[str, Any]]:
    """The rows with row `index` moved up (-1) or down (+1); unchanged at either end."""
    target = index + step
    if not 0 <= index < len(rows) or not 0 <= target < len(rows):
        return list(rows)
    result = list(rows)
    result[index], result[target] = result[target], result[index]
    return result


def to_text(doc: Document) -> str:
    return dump(doc)


def parse_text(text: str) -> tuple[Document | None, list[LineProblem]]:
    """The YAML editor's text as a document, or the reason it is not one (with its line)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [LineProblem(mark.line + 1 if mark else None, "",
                                  f"invalid YAML: {reason}")]
    if not isinstance(data, dict):
        return None, [LineProblem(1, "", "the text must hold a mapping of keys "
                                         "(name, label, widgets ...)")]
    return data, []


def line_problems(problems: list[Any]) -> list[LineProblem]:
    """The loader's MetadataProblems as the editor shows them; problems elsewhere (none,
    unless the live metadata itself is broken) keep their file in the text."""
    return [LineProblem(getattr(p, "line", None),
                        ".".join(x for x in (getattr(p, "object", None),
                                             getattr(p, "field", None)) if x),
                        str(getattr(p, "message", p))) for p in problems]


def grid_problems(rows: list[dict[str, Any]]) -> dict[str, str]:
    """{widget name: message} for rows off the 12-column grid or overlapping another
    (said before saving; the loader refuses the first, the page would draw the second
    as a jumble)."""
    found: dict[str, str] = {}
    for row in rows:
        if row["w"] < 1 or row["h"] < 1:
            found[row["name"]] = "width and height must be at least 1"
        elif row["x"] < 0 or row["y"] < 0:
            found[row["name"]] = "x and y start at 0"
        elif row["x"] + row["w"] > GRID_COLUMNS:
            found[row["name"]] = f"x + w must fit the {GRID_COLUMNS}-column grid"
    cells: dict[tuple[int, int], str] = {}
    for row in rows:
        if row["name"] in found:
            continue
        for x in range(row["x"], row["x"] + row["w"]):
            for y in range(row["y"], row["y"] + row["h"]):
                other = cells.setdefault((x, y), row["name"])
                if other != row["name"] and row["name"] not in found:
                    found[row["name"]] = f"overlaps '{other}'"
    return found
