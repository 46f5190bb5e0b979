"""The History tab: the audit trail of one record (who, when, field, old → new)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nicegui import ui

from app.metadata.models import ObjectDef
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from app.objectql.service import ObjectQL
from components.field_format import format_value
from components.field_widgets import name_fields, record_name

ACTIONS = {"insert": "created this record", "update": "changed",
           "delete": "deleted this record", "bulk_insert": "imported this record"}


def _names(ql: ObjectQL, ctx: Context, target: str, ids: set[str]) -> dict[str, str]:
    """{id: name} of records of `target` the user can see (hidden ones stay ids)."""
    if not ids or target not in ql.registry:
        return {}
    obj = ql.registry[target]
    try:
        rows = ql.find(ctx, target, fields=name_fields(obj), filters=[["id", "in", sorted(ids)]],
                       limit=min(len(ids), 200)).records
    except ObjectQLError:
        return {}
    return {row["id"]: record_name(obj, row) for row in rows}


def resolve_names(ql: ObjectQL, ctx: Context, obj: ObjectDef,
                  entries: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """{(object, id): name} for the users who made the changes and every lookup value."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        if entry.get("user_id"):
            wanted["user"].add(entry["user_id"])
        for name, change in (entry.get("changes") or {}).items():
            fd = obj.field(name)
            if fd is not None and fd.is_lookup and fd.reference_to and isinstance(change, list):
                wanted[fd.reference_to].update(v for v in change if isinstance(v, str))
    names: dict[tuple[str, str], str] = {}
    for target, ids in wanted.items():
        for record_id, name in _names(ql, ctx, target, set(list(ids)[:200])).items():
            names[(target, record_id)] = name
    return names


def _show(obj: ObjectDef, name: str, value: Any, names: dict[tuple[str, str], str]) -> str:
    fd = obj.field(name)
    if value is None or value == "" or value == []:
        return "(empty)"
    if fd is None:
        return str(value)
    if fd.is_lookup and isinstance(value, str):
        return names.get((fd.reference_to or "", value), value)
    return format_value(fd, value) or "(empty)"


def record_history(ql: ObjectQL, ctx: Context, obj: ObjectDef, record_id: str) -> None:
    try:
        entries = ql.history(ctx, obj.name, record_id)
    except ObjectQLError as exc:
        ui.label(exc.message).classes("text-sm text-slate-500 dark:text-slate-400 p-2")
        return
    if not entries:
        ui.label("No changes recorded yet.").classes("text-sm text-slate-500 "
                                                     "dark:text-slate-400 p-2")
        return
    names = resolve_names(ql, ctx, obj, entries)
    with ui.column().classes("w-full gap-0").props('data-testid="history"'):
        for entry in entries:
            who = names.get(("user", entry.get("user_id") or ""), "System") \
                if entry.get("user_id") else "System"
            if entry.get("via"):  # made with more rights than the user's, on their behalf
                who = f"{who} (via {str(entry['via']).removeprefix('trigger:')})"
            changes = entry.get("changes") or {}
            action = entry.get("action") or "update"
            with ui.column().classes("w-full gap-1 py-3 border-b border-slate-100 "
                                     "dark:border-slate-800").props(
                    'data-testid="history-entry"'):
                with ui.row().classes("items-baseline gap-1 text-sm"):
                    ui.label(who).classes("font-medium text-slate-800 dark:text-slate-100")
                    ui.label(ACTIONS.get(action, action)).classes("text-slate-600 "
                                                                  "dark:text-slate-300")
                    ui.label("·").classes("text-slate-300")
                    ui.label(format_value(obj.all_fields["modified_at"], entry.get("at"))
                             ).classes("text-xs text-slate-500 dark:text-slate-400")
                if action != "update":
                    continue
                for name, change in changes.items():
                    if not isinstance(change, list) or len(change) != 2:
                        continue
                    fd = obj.field(name)
                    with ui.row().classes("items-baseline gap-2 text-sm pl-3 no-wrap"):
                        ui.label(fd.display_label if fd else name).classes(
                            "text-slate-500 dark:text-slate-400 w-40 shrink-0 truncate")
                        ui.label(_show(obj, name, change[0], names)).classes(
                            "text-slate-500 line-through decoration-slate-300 truncate")
                        ui.icon("arrow_forward", size="0.9rem").classes("text-slate-400")
                        ui.label(_show(obj, name, change[1], names)).classes(
                            "text-slate-800 dark:text-slate-100 truncate")
