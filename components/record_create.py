"""The create form (`/o/{object}/new`): defaults, `?field=value` prefill, `?clone=<id>`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from nicegui import ui

from app.metadata.models import ObjectDef
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from app.objectql.service import ObjectQL
from components.field_widgets import name_fields, record_name
from components.record_editor import RecordEditor, flatten, install_leave_guard
from components.record_form import (
    FormState,
    clone_values,
    create_defaults,
    form_sections,
    prefill_from_params,
)
from components.record_view import BUTTON, CARD, load_record, not_found


def _label_lookups(ql: ObjectQL, ctx: Context, obj: ObjectDef, values: dict[str, Any]
                   ) -> dict[str, str]:
    """Names of prefilled lookup values; a value the user cannot see is dropped."""
    labels = {}
    for name, value in list(values.items()):
        fd = obj.field(name)
        if fd is None or not fd.is_lookup or not value:
            continue
        target = ql.registry[fd.reference_to or ""]
        try:
            row = ql.get(ctx, target.name, str(value), fields=name_fields(target))
        except ObjectQLError:
            values.pop(name)
            continue
        labels[name] = record_name(target, row)
    return labels


def _back_target(obj: ObjectDef, params: Mapping[str, str], values: dict[str, Any]) -> str:
    """Cancel returns where the user came from: the cloned record, the parent record the
    form was prefilled from, else the list."""
    if params.get("clone"):
        return f"/o/{obj.name}/{quote(params['clone'])}"
    for name in params:
        fd = obj.field(name)
        if fd is not None and fd.is_lookup and values.get(name):
            return f"/o/{fd.reference_to}/{quote(str(values[name]))}"
    return f"/o/{obj.name}"


def create_form(ql: ObjectQL, ctx: Context, obj: ObjectDef, params: Mapping[str, str]) -> None:
    if not ql.allowed(ctx, "create", obj):
        with ui.card().classes(CARD + " items-center text-center py-12 max-w-xl mx-auto mt-8"
                               ).props('data-testid="not-allowed"'):
            ui.icon("block", size="2.5rem").classes("text-slate-300")
            ui.label(f"You cannot create {obj.display_plural.lower()}").classes(
                "text-lg font-semibold")
            ui.link(f"Back to {obj.display_plural.lower()}", f"/o/{obj.name}").classes(
                "text-indigo-600 no-underline text-sm")
        return
    sections = form_sections(ql, ctx, obj)
    initial = create_defaults(obj, ctx, ql.today())
    source_id = params.get("clone")
    source: dict[str, Any] = {}
    if source_id:
        try:
            source = flatten(load_record(ql, ctx, obj, source_id))
        except ObjectQLError:
            not_found(obj)
            return
        initial.update(clone_values(obj, sections, source))
    initial.update(prefill_from_params(sections, params))
    labels = _label_lookups(ql, ctx, obj, initial)
    state = FormState.for_create(obj, sections, initial)
    back = _back_target(obj, params, initial)

    def saved(record: dict[str, Any]) -> None:
        ui.navigate.to(f"/o/{obj.name}/{record['id']}")

    editor = RecordEditor(ql, ctx, obj, state, labels=labels, on_saved=saved,
                          on_cancel=lambda: ui.navigate.to(back))
    install_leave_guard()
    with ui.card().classes(CARD + " gap-2 sticky top-14 z-10"), \
            ui.row().classes("w-full items-center gap-3"):
        with ui.element("div").classes("rounded-lg bg-indigo-50 dark:bg-slate-800 p-2"):
            ui.icon(obj.icon or "description", size="1.6rem").classes("text-indigo-600")
        with ui.column().classes("gap-0 grow min-w-0 basis-56"):
            ui.link(obj.display_plural, f"/o/{obj.name}").classes(
                "text-xs text-slate-500 dark:text-slate-400 no-underline hover:underline")
            title = f"Clone of {record_name(obj, source)}" if source_id else f"New {obj.label}"
            ui.label(title).classes("text-xl font-semibold text-slate-900 dark:text-white "
                                    "truncate").props('data-testid="record-title"')
        with ui.row().classes("gap-2 shrink-0 no-wrap max-sm:ml-14"):
            ui.button("Cancel", on_click=editor.cancel).props(
                f'{BUTTON} flat data-testid="record-cancel"')
            ui.button("Save", icon="check", on_click=editor.save).props(
                f'{BUTTON} color=primary data-testid="record-save"')
    editor.render()
