"""The activity timeline of a record: activities and emails linked to it, newest first."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from nicegui import ui

from app.metadata.models import ObjectDef
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError, PermissionDenied
from app.objectql.service import ObjectQL
from components.field_format import format_value

PER_SOURCE = 50
# (object, date field, text field, type field)
SOURCES = (("activity", "activity_date", "description", "type"),
           ("email", "sent_at", "body", "direction"))
ICONS = {"call": "call", "meeting": "groups", "task": "task_alt", "email": "mail",
         "note": "sticky_note_2", "inbound": "call_received", "outbound": "send"}
BUBBLES = {"blue": "bg-blue-100 text-blue-700", "purple": "bg-violet-100 text-violet-700",
           "orange": "bg-orange-100 text-orange-700", "teal": "bg-teal-100 text-teal-700",
           "indigo": "bg-indigo-100 text-indigo-700", "grey": "bg-slate-100 text-slate-600"}
COLORS = {"call": "blue", "meeting": "purple", "task": "orange", "email": "teal",
          "note": "grey", "inbound": "teal", "outbound": "indigo"}


def link_field(obj: ObjectDef, parent: str) -> str | None:
    """The child's lookup to `parent` (None when it has none)."""
    return next((f.name for f in obj.fields.values()
                 if f.is_lookup and f.reference_to == parent), None)


def first_line(text: Any, limit: int = 160) -> str:
    if not text:
        return ""
    line = next((s.strip() for s in str(text).splitlines() if s.strip()), "")
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


def _sort_key(entry: dict[str, Any]) -> datetime:
    value = entry["at"]
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.min


def load_entries(ql: ObjectQL, ctx: Context, parent: ObjectDef, parent_id: str
                 ) -> list[dict[str, Any]]:
    """Merged entries {object, id, kind, subject, at, text, fd} the user may see."""
    entries: list[dict[str, Any]] = []
    for name, date_field, text_field, kind_field in SOURCES:
        child = ql.registry.get(name)
        via = link_field(child, parent.name) if child is not None else None
        if child is None or via is None:
            continue
        readable = set(ql.readable_fields(ctx, child))
        wanted = [f for f in (child.name_field, date_field, text_field, kind_field)
                  if f in readable]
        at_field = date_field if date_field in readable else "created_at"
        try:
            rows = ql.related(ctx, name, via, parent_id, fields=[*wanted, "created_at"],
                              sort=[[at_field, "desc"], ["created_at", "desc"]],
                              limit=PER_SOURCE).records
        except (PermissionDenied, ObjectQLError):
            continue
        for row in rows:
            kind = row.get(kind_field) or ("email" if name == "email" else "note")
            entries.append({
                "object": name, "id": row["id"], "kind": kind,
                "kind_label": format_value(child.fields[kind_field], kind)
                if kind_field in child.fields else kind,
                "subject": row.get(child.name_field) or "(no subject)",
                "at": row.get(at_field) or row.get("created_at"),
                "at_fd": child.all_fields[at_field],
                "text": first_line(row.get(text_field)),
            })
    entries.sort(key=_sort_key, reverse=True)
    return entries


def activity_timeline(ql: ObjectQL, ctx: Context, parent: ObjectDef, parent_id: str) -> None:
    entries = load_entries(ql, ctx, parent, parent_id)
    if not entries:
        ui.label("No activities or emails yet.").classes("text-sm text-slate-500 "
                                                         "dark:text-slate-400 p-2")
        return
    with ui.column().classes("w-full gap-0").props('data-testid="timeline"'):
        for index, entry in enumerate(entries):
            last = index == len(entries) - 1
            color = COLORS.get(entry["kind"], "grey")
            with ui.row().classes("w-full gap-3 no-wrap items-stretch").props(
                    f'data-testid="timeline-entry" data-object="{entry["object"]}"'):
                with ui.column().classes("items-center gap-0 shrink-0 w-7"):
                    with ui.element("div").classes(
                            f"rounded-full w-7 h-7 flex items-center justify-center "
                            f"{BUBBLES.get(color, BUBBLES['grey'])}"):
                        ui.icon(ICONS.get(entry["kind"], "event"), size="0.95rem")
                    if not last:
                        ui.element("div").classes("w-px grow bg-slate-200 dark:bg-slate-700")
                with ui.column().classes("gap-0 min-w-0 grow pb-4"):
                    with ui.row().classes("w-full items-baseline gap-2 no-wrap"):
                        ui.link(entry["subject"], f"/o/{entry['object']}/{entry['id']}"
                                ).classes("text-sm font-medium text-slate-800 "
                                          "dark:text-slate-100 no-underline hover:underline "
                                          "truncate")
                        ui.label(entry["kind_label"]).classes(
                            "text-xs text-slate-500 dark:text-slate-400 shrink-0")
                        ui.space()
                        ui.label(format_value(entry["at_fd"], entry["at"])).classes(
                            "text-xs text-slate-500 dark:text-slate-400 whitespace-nowrap shrink-0")
                    if entry["text"]:
                        ui.label(entry["text"]).classes(
                            "text-sm text-slate-600 dark:text-slate-300 truncate")
