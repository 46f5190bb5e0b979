"""What the studio's editors do to an object document (the YAML-shaped dict of
`studio.object_document`), as plain functions tested without a browser.

Every function returns a new document (the one on screen stays as loaded, so a refused
save changes nothing) and keeps references consistent: a field that is hidden leaves the
layouts, views and related lists that named it, since the loader refuses dangling names.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

Document = dict[str, Any]
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
SHARING_MODELS = {"private": "Private: owners and their managers",
                  "public_read": "Public read: everyone reads, owners edit",
                  "public_read_write": "Public read/write: everyone reads and edits",
                  "controlled_by_parent": "Controlled by parent (master-detail)"}
COLORS = ("grey", "blue", "green", "red", "orange", "amber", "yellow", "teal", "indigo",
          "purple", "pink")
# Keys a field editor manages; anything else a field carries (index, searchable ...) is
# kept as it was when the admin saves.
EDITED_KEYS = ("type", "label", "required", "unique", "help", "track_history", "options",
               "reference_to", "delete_behavior", "default", "max_length", "precision",
               "scale", "min", "max", "formula", "format", "visible_when", "readonly")


def snake_name(label: str) -> str:
    """An API name from a label: "Project phase" -> "project_phase"."""
    name = re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")
    if name and not name[0].isalpha():
        name = f"f_{name}"
    return name[:60]


def put_field(doc: Document, name: str, spec: dict[str, Any],
              managed: Iterable[str] = EDITED_KEYS) -> Document:
    """Add the field, or replace the keys an editor manages on an existing one (others,
    such as `index`, stay as they were)."""
    new = copy.deepcopy(doc)
    fields = new.setdefault("fields", {})
    managed = set(managed)
    kept = {k: v for k, v in (fields.get(name) or {}).items() if k not in managed}
    kept.update({k: v for k, v in spec.items() if v is not None and v != "" and v != []})
    fields[name] = kept
    return new


def hide_field(doc: Document, name: str) -> Document:
    """Leave the field out of the document (the studio keeps its column and data and
    brings it back on revert) and out of every layout, view and sort naming it."""
    new = copy.deepcopy(doc)
    new.get("fields", {}).pop(name, None)
    for layout in (new.get("page_layouts") or {}).values():
        for section in layout.get("sections") or []:
            section["fields"] = [f for f in section.get("fields") or [] if f != name]
    for view in (new.get("list_views") or {}).values():
        view["columns"] = [c for c in view.get("columns") or [] if c.split(".")[0] != name]
        view["sort"] = [s for s in view.get("sort") or [] if s[0].split(".")[0] != name]
        view["filters"] = _without_field(view.get("filters") or [], name)
        kanban = view.get("kanban")
        if kanban and name in (kanban.get("group_by"), kanban.get("sum")):
            view.pop("kanban")
    return new


def _without_field(filters: list[Any], name: str) -> list[Any]:
    result: list[Any] = []
    for item in filters:
        if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) \
                and isinstance(item[1], str):
            if item[0].split(".")[0] == name:
                if result and isinstance(result[-1], str):
                    result.pop()  # its connector goes with it
                continue
            result.append(item)
        elif isinstance(item, list):
            inner = _without_field(item, name)
            if inner:
                result.append(inner)
        else:
            result.append(item)
    while result and isinstance(result[0], str):
        result.pop(0)
    return result


def layout_sections(doc: Document, layout: str = "default") -> list[str]:
    return [str(s.get("label")) for s in
            ((doc.get("page_layouts") or {}).get(layout) or {}).get("sections") or []]


def place_in_layout(doc: Document, field: str, section_label: str | None,
                    layout: str = "default") -> Document:
    """Put `field` at the end of a section (created when new), nowhere else; None takes it
    out of the layout."""
    new = copy.deepcopy(doc)
    page = new.setdefault("page_layouts", {}).setdefault(layout, {"sections": []})
    sections = page.setdefault("sections", [])
    for section in sections:
        section["fields"] = [f for f in section.get("fields") or [] if f != field]
    if section_label:
        target = next((s for s in sections if s.get("label") == section_label), None)
        if target is None:
            target = {"label": section_label, "columns": 2, "fields": []}
            sections.append(target)
        target["fields"].append(field)
    return new


def section_of(doc: Document, field: str, layout: str = "default") -> str | None:
    for section in ((doc.get("page_layouts") or {}).get(layout) or {}).get("sections") or []:
        if field in (section.get("fields") or []):
            return str(section.get("label"))
    return None


def views_showing(doc: Document, field: str) -> list[str]:
    return [name for name, view in (doc.get("list_views") or {}).items()
            if field in (view.get("columns") or [])]


def show_in_views(doc: Document, field: str, views: list[str]) -> Document:
    """`field` becomes a column (at the end) of exactly the named views."""
    new = copy.deepcopy(doc)
    for name, view in (new.get("list_views") or {}).items():
        columns = view.setdefault("columns", [])
        if name in views and field not in columns:
            columns.append(field)
        elif name not in views and field in columns:
            columns.remove(field)
    return new


def add_related_list(parent: Document, child: str, field: str, columns: list[str],
                     label: str | None = None, layout: str = "default") -> Document:
    """The parent's record page lists the child's records linked by `field` (once)."""
    new = copy.deepcopy(parent)
    page = new.setdefault("page_layouts", {}).setdefault(layout, {"sections": []})
    related = page.setdefault("related_lists", [])
    if not any(r.get("object") == child and r.get("field") == field for r in related):
        entry: dict[str, Any] = {"object": child, "field": field, "columns": columns}
        if label:
            entry["label"] = label
        related.append(entry)
    return new


def new_object(name: str, label: str, plural: str, icon: str, name_label: str,
               sharing_model: str, description: str = "") -> Document:
    """A custom object ready to use: its name field, an "All" list view and a layout."""
    doc: Document = {
        "name": name, "label": label, "plural_label": plural or f"{label}s",
        "icon": icon or "table_rows", "name_field": "name", "sharing_model": sharing_model,
        "fields": {"name": {"type": "text", "label": name_label or f"{label} name",
                            "required": True, "max_length": 255, "searchable": True,
                            "index": True}},
        "list_views": {"all": {"label": f"All {(plural or label + 's').lower()}",
                               "columns": ["name", "owner", "created_at"], "filters": [],
                               "sort": [["name", "asc"]]},
                       "mine": {"label": f"My {(plural or label + 's').lower()}",
                                "columns": ["name", "created_at"],
                                "filters": [["owner", "=", "$user"]],
                                "sort": [["name", "asc"]]}},
        "page_layouts": {"default": {"sections": [{"label": "Details", "columns": 2,
                                                   "fields": ["name"]}],
                                     "related_lists": []}},
    }
    if description:
        doc["description"] = description
    return doc


def check_new_object_name(name: str, existing: set[str]) -> str | None:
    if not SNAKE.match(name or ""):
        return "Use lower snake_case: letters, digits and _, starting with a letter."
    if name in existing:
        return f"An object named '{name}' exists already."
    return None


def options_from_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Picklist rows from the editor (label, value, colour, kept extras) in their order;
    blank rows are dropped and a missing value is made from the label."""
    result = []
    for row in rows:
        label = str(row.get("label") or "").strip()
        value = str(row.get("value") or "").strip() or snake_name(label)
        if not label and not value:
            continue
        option = {k: v for k, v in row.items() if k not in ("label", "value", "color", "key")}
        option.update({"value": value, "label": label or value})
        if row.get("color"):
            option["color"] = row["color"]
        result.append(option)
    return result


def moved(items: list[Any], source: int, target: int) -> list[Any]:
    """`items` with the one at `source` dropped at `target` (drag and drop); unchanged
    when either index is outside the list."""
    if not (0 <= source < len(items) and 0 <= target < len(items)):
        return list(items)
    result = list(items)
    result.insert(target, result.pop(source))
    return result
