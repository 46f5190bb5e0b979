""""Preview as a record page": the layout being edited (not yet saved) drawn exactly as
the record page draws its sections — the same field permissions, `visible_when`
conditions and value formats — for a real record the admin picks."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from app.metadata.models import ObjectDef
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from app.objectql.service import ObjectQL
from components.field_widgets import search_records
from components.record_form import (
    FieldSpec,
    SectionSpec,
    compile_condition,
    holds,
    is_editable,
)
from components.record_view import load_record, read_sections


def preview_sections(ql: ObjectQL, ctx: Context, obj: ObjectDef, layout: dict[str, Any]
                     ) -> list[SectionSpec]:
    """The edited layout's sections as the record page builds them for `ctx`: fields the
    user may not read, and names not (yet) on the live object, are left out."""
    sections = []
    for section in layout.get("sections") or []:
        specs = []
        for name in section.get("fields") or []:
            fd = obj.field(name)
            if fd is None or not ql.allowed(ctx, "read", obj, name):
                continue
            specs.append(FieldSpec(name, fd, is_editable(ql, ctx, obj, fd)))
        if specs:
            sections.append(SectionSpec(str(section.get("label") or ""),
                                        int(section.get("columns") or 2), tuple(specs),
                                        compile_condition(section.get("visible_when"))))
    return sections


def hidden_on(sections: list[SectionSpec], record: dict[str, Any]) -> list[str]:
    """Labels of the sections `visible_when` hides on this record (said in the preview,
    so an empty page is not a mystery)."""
    flat = {k: v.get("id") if isinstance(v, dict) else v for k, v in record.items()}
    return [s.label for s in sections if not holds(s.visible_when, flat)]


class LayoutPreview:
    """A dialog: pick a record, see the edited layout as its record page."""

    def __init__(self, ql: ObjectQL, ctx: Context, object_name: str,
                 layout: dict[str, Any]) -> None:
        self.ql, self.ctx, self.obj = ql, ctx, ql.object(object_name)
        self.sections = preview_sections(ql, ctx, self.obj, layout)
        self.related = [str(r.get("label") or r.get("object"))
                        for r in layout.get("related_lists") or []]
        self.dialog = ui.dialog().props('maximized=false aria-label="Layout preview"')
        with self.dialog, ui.card().classes("p-5 gap-3 w-full max-w-4xl").props(
                'data-testid="layout-preview"'):
            with ui.row().classes("w-full items-center"):
                ui.label("Preview as a record page").classes("text-lg font-semibold")
                ui.space()
                ui.button(icon="close", on_click=self.dialog.close).props(
                    'flat round dense aria-label="Close preview"')
            ui.label("Unsaved changes included; nothing is saved from here.").classes(
                "text-sm text-slate-500 dark:text-slate-400 -mt-2")
            self.record = ui.select(search_records(ql, ctx, self.obj, ""),
                                    label="Record", with_input=True).props(
                'outlined dense options-dense data-testid="layout-preview-record"'
            ).classes("w-full").mark("layout-preview-record")
            self.record.on("input-value", lambda e: self.record.set_options(
                search_records(ql, ctx, self.obj, e.args if isinstance(e.args, str) else ""),
                value=self.record.value), throttle=0.2)
            self.record.on_value_change(lambda _e: self.show())
            self.body = ui.column().classes("w-full gap-3").props(
                'data-testid="layout-preview-body"')
        options = self.record.options
        if isinstance(options, dict) and options:
            self.record.set_value(next(iter(options)))

    def open(self) -> None:
        self.dialog.open()

    async def show(self) -> None:
        self.body.clear()
        if not self.record.value:
            return
        try:
            record = await run.io_bound(load_record, self.ql, self.ctx, self.obj,
                                        str(self.record.value))
        except ObjectQLError as exc:
            with self.body:
                ui.label(exc.message).classes("text-sm text-red-700")
            return
        if record is None:  # shutting down
            return
        with self.body:
            hidden = hidden_on(self.sections, record)
            if hidden:
                ui.label("Hidden on this record by their condition: " + ", ".join(hidden)
                         ).classes("text-sm text-slate-500 dark:text-slate-400").props(
                    'data-testid="layout-preview-hidden"')
            read_sections(self.ql, self.sections, record)
            for label in self.related:
                with ui.row().classes("w-full items-center gap-2 text-sm text-slate-600 "
                                      "dark:text-slate-300"):
                    ui.icon("list", size="1.1rem").props('aria-hidden="true"')
                    ui.label(f"Related list: {label}")
