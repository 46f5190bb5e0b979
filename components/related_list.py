"""A related list on a record page: a compact table of child records with a count and a
"New" button that opens the child's create form prefilled with the parent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from nicegui import ui

from app import fieldtypes
from app.metadata.models import FieldDef, ObjectDef, RelatedList
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from app.objectql.service import ObjectQL, QueryResult
from components.field_format import format_value, select_chip
from components.field_widgets import lookup_expand, name_fields, record_name

ROWS = 10
CARD = ("w-full shadow-none border border-slate-200 dark:border-slate-800 "
        "bg-[#fff] dark:bg-slate-900 p-0 gap-0 overflow-hidden")


@dataclass
class RelatedRows:
    """What one related list shows, read by `load_related` (a worker thread may run it)."""

    spec: RelatedList
    child: ObjectDef
    columns: list[tuple[str, FieldDef]]
    result: QueryResult
    can_create: bool


def load_related(ql: ObjectQL, ctx: Context, spec: RelatedList,
                 parent_id: str) -> RelatedRows | None:
    """None when the user may not read the child object (the list is not shown at all)."""
    child = ql.registry.get(spec.object)
    if child is None or child.field(spec.field) is None or not ql.allowed(ctx, "read", child):
        return None
    columns = _columns(ql, ctx, child, spec)
    plain = [c for c, _ in columns if "." not in c]
    dotted = [c for c, _ in columns if "." in c]
    fields = list(dict.fromkeys([*name_fields(child), *plain, *dotted]))
    order = _sort(child, set(ql.readable_fields(ctx, child)))
    try:
        result = ql.related(ctx, child.name, spec.field, parent_id, fields=fields,
                            expand=lookup_expand(ql, child, plain), sort=order,
                            limit=ROWS, with_total=True)
    except ObjectQLError:
        return None
    return RelatedRows(spec, child, columns, result, ql.allowed(ctx, "create", child))


def related_list(ql: ObjectQL, ctx: Context, spec: RelatedList, parent_id: str) -> None:
    """Read and draw in one go (on the caller's thread)."""
    rows = load_related(ql, ctx, spec, parent_id)
    if rows is not None:
        show_related(ql, rows, parent_id)


def show_related(ql: ObjectQL, rows: RelatedRows, parent_id: str) -> None:
    spec, child, columns, result = rows.spec, rows.child, rows.columns, rows.result
    total = result.total or 0
    title = spec.label or child.display_plural
    with ui.card().classes(CARD).props(f'data-testid="related-{child.name}"'):
        with ui.row().classes("w-full items-center px-4 py-2 gap-2 border-b border-slate-100 "
                              "dark:border-slate-800"):
            ui.icon(child.icon or "table_rows", size="1.1rem").classes("text-slate-400")
            ui.label(title).classes("text-sm font-semibold text-slate-700 dark:text-slate-200")
            ui.label(f"{total:,}{'+' if result.total_capped else ''}").classes(
                "text-xs text-slate-600 dark:text-slate-300 bg-slate-100 dark:bg-slate-800 "
                "rounded-full px-2"
            ).props(f'data-testid="related-count-{child.name}"')
            ui.space()
            if rows.can_create:
                new = ui.button("New", icon="add").props(
                    f'flat dense no-caps size=sm data-testid="related-new-{child.name}"')
                target = f"/o/{child.name}/new?{quote(spec.field)}={quote(parent_id)}"
                new.on_click(lambda t=target: ui.navigate.to(t))
        if not result.records:
            ui.label(f"No {title.lower()} yet.").classes("px-4 py-3 text-sm text-slate-500 "
                                                         "dark:text-slate-400")
            return
        _table(ql, child, columns, result.records)
        if total > len(result.records):
            ui.label(f"Showing {len(result.records)} of {total:,}").classes(
                "px-4 py-2 text-xs text-slate-500 dark:text-slate-400")


def _sort(child: ObjectDef, readable: set[str]) -> list[list[str]]:
    """The child's own default order (its first list view with a sort), else newest first."""
    for view in child.list_views.values():
        if view.sort and all(name in readable for name, _ in view.sort):
            return [[name, direction] for name, direction in view.sort]
    return [["created_at", "desc"]]


def _columns(ql: ObjectQL, ctx: Context, child: ObjectDef, spec: RelatedList
             ) -> list[tuple[str, FieldDef]]:
    """(path, field) of each readable column; dotted paths are followed to their field."""
    result = []
    for path in spec.columns or name_fields(child):
        if not ql.allowed(ctx, "read", child, path):
            continue
        fd = _leaf(ql, child, path)
        if fd is not None:
            result.append((path, fd))
    return result


def _table(ql: ObjectQL, child: ObjectDef, columns: list[tuple[str, FieldDef]],
           records: list[dict[str, Any]]) -> None:
    head = ("text-left text-xs font-medium text-slate-500 dark:text-slate-400 px-4 py-1.5 "
            "whitespace-nowrap")
    with ui.element("div").classes("w-full overflow-x-auto"), \
            ui.element("table").classes("w-full text-sm"):
        with ui.element("thead"), ui.element("tr").classes("bg-slate-50 dark:bg-slate-800/50"):
            for path, fd in columns:
                label = fd.display_label if "." not in path else \
                    f"{child.field(path.split('.')[0]).display_label}"  # type: ignore[union-attr]
                with ui.element("th").classes(head + (" text-right" if _numeric(fd) else "")):
                    ui.label(label)
        with ui.element("tbody"):
            for record in records:
                with ui.element("tr").classes(
                        "border-t border-slate-100 dark:border-slate-800 hover:bg-slate-50 "
                        "dark:hover:bg-slate-800/40").props(f'data-record-id="{record["id"]}"'):
                    for index, (path, fd) in enumerate(columns):
                        cell = "px-4 py-1.5 align-middle max-w-72 truncate"
                        with ui.element("td").classes(cell + (" text-right tabular-nums"
                                                              if _numeric(fd) else "")):
                            _cell(ql, child, path, fd, record, first=index == 0)


def _leaf(ql: ObjectQL, obj: ObjectDef, path: str) -> FieldDef | None:
    """The field a (dotted) path ends at."""
    current, fd = obj, None
    for part in path.split("."):
        fd = current.field(part)
        if fd is None:
            return None
        if fd.is_lookup and fd.reference_to in ql.registry:
            current = ql.registry[fd.reference_to or ""]
    return fd


def _numeric(fd: FieldDef) -> bool:
    return fieldtypes.is_numeric(fd)


def _cell(ql: ObjectQL, child: ObjectDef, path: str, fd: FieldDef, record: dict[str, Any],
          *, first: bool) -> None:
    value = record.get(path)
    if first:
        text = format_value(fd, value) or record_name(child, record) or "(no name)"
        ui.link(text, f"/o/{child.name}/{record['id']}").classes(
            "text-indigo-600 dark:text-indigo-300 no-underline hover:underline font-medium")
        return
    if fd.value_type == "select" and value:
        select_chip(fd, value)
        return
    if fd.is_lookup and isinstance(value, dict):
        target = ql.registry[fd.reference_to or ""]
        ui.link(record_name(target, value), f"/o/{target.name}/{value['id']}").classes(
            "text-slate-700 dark:text-slate-200 no-underline hover:underline")
        return
    ui.label(format_value(fd, value)).classes("truncate")
