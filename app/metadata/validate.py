"""Cross-object checks of loaded metadata: references, expressions, views and layouts."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app import fieldtypes
from app.metadata.models import OPERATORS, FieldDef, ObjectDef, system_fields

if TYPE_CHECKING:
    from app.metadata.loader import ProblemCollector

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
Compile = Callable[[str, set[str], str, tuple[Any, ...], "ProblemCollector"], Any]


def finalize_object(obj: ObjectDef) -> None:
    """Give every field its name and build the declared + system field map."""
    for name, fd in obj.fields.items():
        fd.name = name
    all_fields = system_fields()
    all_fields.update(obj.fields)
    obj._all_fields = all_fields


def resolve_path(objects: dict[str, ObjectDef], obj: ObjectDef, path: str) -> FieldDef | None:
    """Follow a dotted path through lookups; None when any segment is unknown."""
    current = obj
    parts = path.split(".")
    for i, part in enumerate(parts):
        fd = current.field(part)
        if fd is None:
            return None
        if i == len(parts) - 1:
            return fd
        if not fd.is_lookup or fd.reference_to not in objects:
            return None
        current = objects[fd.reference_to]
    return None


def _broken_path(objects: dict[str, ObjectDef], obj: ObjectDef, path: str,
                 broken: set[str]) -> bool:
    """True when `path` does not resolve, unless it leads into an object whose own file
    failed to load (that file's problems are already reported; no cascade of echoes)."""
    if resolve_path(objects, obj, path) is not None:
        return False
    current = obj
    for part in path.split(".")[:-1]:
        fd = current.field(part)
        if fd is None or not fd.is_lookup:
            return True
        if fd.reference_to in broken:
            return False
        if fd.reference_to not in objects:
            return True
        current = objects[fd.reference_to]
    return True


def check_objects(objects: dict[str, ObjectDef], out: ProblemCollector,
                  compile_expr: Compile) -> None:
    for obj in objects.values():
        if obj.system:
            continue
        _check_fields(objects, obj, out, compile_expr)
        known = set(obj.all_fields)
        if obj.field(obj.name_field) is None:
            out.add(obj.name, ("name_field",), f"name_field '{obj.name_field}' is not a field")
        seen_rules: set[str] = set()
        for i, rule in enumerate(obj.validation_rules):
            if rule.name in seen_rules:
                out.add(obj.name, ("validation_rules", i, "name"),
                        f"duplicate validation rule '{rule.name}'")
            seen_rules.add(rule.name)
            before = len(out.problems)
            rule._condition = compile_expr(rule.condition, known, obj.name,
                                           ("validation_rules", i, "condition"), out)
            out.problems[before:] = [  # a rule's problem names the rule
                dataclasses.replace(p, message=f"validation rule '{rule.name}': {p.message}")
                for p in out.problems[before:]]
            if rule.field and rule.field not in known:
                out.add(obj.name, ("validation_rules", i, "field"),
                        f"validation rule '{rule.name}' names unknown field '{rule.field}'")
        for view_name, view in obj.list_views.items():
            _check_view(objects, obj, view_name, view, out)
        for layout_name, layout in obj.page_layouts.items():
            base = ("page_layouts", layout_name)
            for si, section in enumerate(layout.sections):
                for fi, fname in enumerate(section.fields):
                    if fname not in known:
                        out.add(obj.name, (*base, "sections", si, "fields", fi),
                                f"layout '{layout_name}' section '{section.label}' names "
                                f"unknown field '{fname}'")
                if section.visible_when:
                    compile_expr(section.visible_when, known, obj.name,
                                 (*base, "sections", si, "visible_when"), out)
            for ri, rel in enumerate(layout.related_lists):
                _check_related(objects, obj, rel, (*base, "related_lists", ri), out)


def _check_fields(objects: dict[str, ObjectDef], obj: ObjectDef, out: ProblemCollector,
                  compile_expr: Compile) -> None:
    known = set(obj.all_fields)
    for name, fd in obj.fields.items():
        at = ("fields", name)
        if fd.is_lookup:
            if not fd.reference_to:
                out.add(obj.name, (*at, "type"), f"{fd.type} fields need reference_to")
            elif fd.reference_to not in objects and fd.reference_to not in out.broken:
                out.add(obj.name, (*at, "reference_to"),
                        f"reference_to names unknown object '{fd.reference_to}'")
        elif fd.reference_to or fd.delete_behavior:
            out.add(obj.name, at, "reference_to/delete_behavior only apply to lookups")
        if fd.type == "master_detail" and fd.delete_behavior == "set_null":
            out.add(obj.name, (*at, "delete_behavior"),
                    "a master_detail field cannot use set_null (the detail needs its master)")
        if fd.type in ("select", "multiselect"):
            if not fd.options:
                out.add(obj.name, at, f"{fd.type} fields need options")
            values = fd.option_values
            for oi, value in enumerate(values):
                if not SNAKE.match(str(value)):
                    out.add(obj.name, (*at, "options", oi),
                            f"option value '{value}' must be lower snake_case")
                if values.count(value) > 1 and values.index(value) == oi:
                    out.add(obj.name, (*at, "options", oi), f"duplicate option '{value}'")
            if fd.default is not None and fd.type == "select" and fd.default not in values:
                out.add(obj.name, (*at, "default"),
                        f"default '{fd.default}' is not one of the options")
        elif fd.options:
            out.add(obj.name, (*at, "options"), "options only apply to select fields")
        if fd.type == "formula":
            if not fd.formula:
                out.add(obj.name, at, "formula fields need a formula")
            else:
                fd._formula = compile_expr(fd.formula, known - {name}, obj.name,
                                           (*at, "formula"), out)
        elif fd.formula:
            out.add(obj.name, (*at, "formula"), "only formula fields take a formula")
        if fd.type == "autonumber" and (not fd.format or "{0" not in fd.format):
            out.add(obj.name, (*at, "format"),
                    "autonumber fields need a format with a counter such as {0000}")
        if fd.visible_when:
            fd._visible_when = compile_expr(fd.visible_when, known, obj.name,
                                            (*at, "visible_when"), out)
        if fd.min is not None and fd.max is not None and fd.min > fd.max:
            out.add(obj.name, (*at, "min"), "min is greater than max")


def _check_view(objects: dict[str, ObjectDef], obj: ObjectDef, view_name: str, view: Any,
                out: ProblemCollector) -> None:
    base = ("list_views", view_name)
    for ci, column in enumerate(view.columns):
        if _broken_path(objects, obj, column, out.broken):
            out.add(obj.name, (*base, "columns", ci),
                    f"list view '{view_name}' column '{column}' is not a field")
    for si, (field_name, _direction) in enumerate(view.sort):
        if _broken_path(objects, obj, field_name, out.broken):
            out.add(obj.name, (*base, "sort", si),
                    f"list view '{view_name}' sorts by unknown field '{field_name}'")
    _check_filters(objects, obj, view.filters, (*base, "filters"), view_name, out)
    if view.kanban:
        group = obj.field(view.kanban.group_by)
        if group is None or group.type != "select":
            out.add(obj.name, (*base, "kanban", "group_by"),
                    f"kanban group_by '{view.kanban.group_by}' must be a select field")
        if view.kanban.sum:
            summed = obj.field(view.kanban.sum)
            if not fieldtypes.is_numeric(summed):
                out.add(obj.name, (*base, "kanban", "sum"),
                        f"kanban sum '{view.kanban.sum}' must be a numeric field")


def _check_filters(objects: dict[str, ObjectDef], obj: ObjectDef, filters: Any,
                   path: tuple[Any, ...], view_name: str, out: ProblemCollector) -> None:
    if not isinstance(filters, list):
        out.add(obj.name, path, f"list view '{view_name}' filters must be a list")
        return
    for i, item in enumerate(filters):
        at = (*path, i)
        if isinstance(item, str):
            if item not in ("and", "or"):
                out.add(obj.name, at, f"unknown connector '{item}' (use 'and' or 'or')")
        elif isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) \
                and isinstance(item[1], str) and item[1].lower() in (*OPERATORS, "not_in"):
            if _broken_path(objects, obj, item[0], out.broken):
                out.add(obj.name, at, f"list view '{view_name}' filters on unknown field "
                        f"'{item[0]}'")
        elif isinstance(item, list) and len(item) == 3 and isinstance(item[1], str) \
                and isinstance(item[0], str):
            out.add(obj.name, at, f"unknown operator '{item[1]}'; expected one of "
                    f"{', '.join(OPERATORS)}")
        elif isinstance(item, list):
            _check_filters(objects, obj, item, at, view_name, out)
        else:
            out.add(obj.name, at, f"list view '{view_name}' has a malformed filter {item!r}")


def _check_related(objects: dict[str, ObjectDef], obj: ObjectDef, rel: Any,
                   at: tuple[Any, ...], out: ProblemCollector) -> None:
    child = objects.get(rel.object)
    if child is None and rel.object in out.broken:
        return
    if child is None:
        out.add(obj.name, (*at, "object"), f"related list names unknown object '{rel.object}'")
        return
    link = child.field(rel.field)
    if link is None or not link.is_lookup or link.reference_to != obj.name:
        out.add(obj.name, (*at, "field"),
                f"related list field '{rel.object}.{rel.field}' is not a lookup to {obj.name}")
    for ci, column in enumerate(rel.columns):
        if _broken_path(objects, child, column, out.broken):
            out.add(obj.name, (*at, "columns", ci),
                    f"related list column '{rel.object}.{column}' is not a field")
