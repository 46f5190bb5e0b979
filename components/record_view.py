"""The record page body: header with key fields and actions, the layout's sections (read
mode, or the form in edit mode), related lists, the activity timeline and the history."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from nicegui import background_tasks, run, ui

from app import fieldtypes
from app.metadata.models import ObjectDef
from app.objectql.context import Context
from app.objectql.errors import NotFound, ObjectQLError, PermissionDenied
from app.objectql.service import ObjectQL
from components.field_widgets import display_value, lookup_expand, record_name
from components.lead_convert import can_convert, convert_button
from components.live import notify
from components.record_editor import RecordEditor, flatten, install_leave_guard, lookup_labels
from components.record_form import FormState, SectionSpec, form_sections, holds
from components.record_history import record_history
from components.record_live import follow
from components.related_list import load_related, show_related
from components.timeline import SOURCES, activity_timeline, link_field

CARD = ("w-full shadow-none border border-slate-200 dark:border-slate-800 "
        "bg-[#fff] dark:bg-slate-900 p-4 gap-3")
BUTTON = "no-caps unelevated dense padding='4px 12px'"


def can_edit_row(ql: ObjectQL, ctx: Context, obj: ObjectDef, record_id: str) -> bool:
    return ql.can_change(ctx, obj.name, record_id, "edit")


def not_found(obj: ObjectDef | None) -> None:
    with ui.card().classes(CARD + " items-center text-center py-12 max-w-xl mx-auto mt-8").props(
            'data-testid="not-found"'):
        ui.icon("search_off", size="2.5rem").classes("text-slate-300")
        ui.label("Record not found").classes("text-lg font-semibold text-slate-800 "
                                             "dark:text-slate-100")
        ui.label("It may have been deleted, or you may not have access to it.").classes(
            "text-sm text-slate-500 dark:text-slate-400")
        if obj is not None:
            ui.link(f"Back to {obj.display_plural.lower()}", f"/o/{obj.name}").classes(
                "text-indigo-600 no-underline hover:underline text-sm")
        else:
            ui.link("Back home", "/").classes("text-indigo-600 no-underline text-sm")


def load_record(ql: ObjectQL, ctx: Context, obj: ObjectDef, record_id: str) -> dict[str, Any]:
    """Every readable field, lookups expanded to their names; NotFound when hidden."""
    names = ql.readable_fields(ctx, obj)
    return ql.get(ctx, obj.name, record_id, fields=names,
                  expand=lookup_expand(ql, obj, names))


def key_fields(sections: list[SectionSpec], obj: ObjectDef, limit: int = 4) -> list[str]:
    """The first fields of the first section, except the name and long text."""
    names = {obj.name_field, "first_name", "last_name"}
    first = sections[0].fields if sections else ()
    return [f.name for f in first if f.name not in names
            and not fieldtypes.of(f.fd).multiline][:limit]


def read_sections(ql: ObjectQL, sections: list[SectionSpec], record: dict[str, Any]) -> None:
    flat = flatten(record)
    for section in sections:
        if not holds(section.visible_when, flat):
            continue
        shown = [f for f in section.fields if holds(f.fd.compiled_visible_when, flat)]
        if not shown:
            continue
        with ui.card().classes(CARD).props(f'data-testid="section-{section.slug}"'):
            ui.label(section.label).classes("text-sm font-semibold text-slate-700 "
                                            "dark:text-slate-200")
            columns = "grid-cols-1 md:grid-cols-2" if section.columns == 2 else "grid-cols-1"
            with ui.element("div").classes(f"grid {columns} gap-x-8 gap-y-2.5 w-full"):
                for spec in shown:
                    with ui.column().classes("gap-0.5 min-w-0"):
                        ui.label(spec.label).classes("text-xs text-slate-500 dark:text-slate-400")
                        with ui.element("div").classes(
                                "text-sm text-slate-900 dark:text-slate-100 min-h-5").props(
                                f'data-testid="field-{spec.name}"'):
                            display_value(ql, spec.fd, record.get(spec.name))


class RecordView:
    def __init__(self, ql: ObjectQL, ctx: Context, obj: ObjectDef, record: dict[str, Any]):
        self.ql, self.ctx, self.obj, self.record = ql, ctx, obj, record
        self.sections = form_sections(ql, ctx, obj)
        self.editor: RecordEditor | None = None
        self.loaded: set[str] = set()

    @property
    def record_id(self) -> str:
        return str(self.record["id"])

    def render(self, *, edit: bool = False) -> None:
        install_leave_guard()
        self.header_box = ui.column().classes("w-full gap-0")
        if self.obj.name == "account":
            self._briefing_slot()
        self._tabs()
        self.show(edit=edit and can_edit_row(self.ql, self.ctx, self.obj, self.record_id))
        self.follower = follow(self)

    def show(self, *, edit: bool) -> None:
        self.tabs.set_value("details")
        self._render_header(edit)
        self.details_box.clear()
        with self.details_box:
            if edit:
                state = FormState(self.obj, self.sections, flatten(self.record))
                self.editor = RecordEditor(self.ql, self.ctx, self.obj, state,
                                           labels=lookup_labels(self.ql, self.obj, self.record),
                                           on_saved=self._saved,
                                           on_cancel=lambda: self.show(edit=False),
                                           on_reload=self._reloaded)
                self.editor.render()
            else:
                self.editor = None
                self._read_details()

    def _read_details(self) -> None:
        read_sections(self.ql, self.sections, self.record)
        specs = self._related_lists()
        if specs:  # read in a worker thread, drawn when they arrive: the loop stays free
            box = ui.column().classes("w-full gap-4").props('data-testid="related-lists"')
            background_tasks.create(self._fill_related(box, specs), name="related-lists")

    async def _fill_related(self, box: ui.element, specs: list[Any]) -> None:
        ql, ctx, record_id = self.ql, self.ctx, self.record_id
        loaded = await run.io_bound(
            lambda: [load_related(ql, ctx, spec, record_id) for spec in specs])
        if box.is_deleted:
            return
        with box:
            for rows in loaded:
                if rows is not None:
                    show_related(ql, rows, record_id)

    def changed_elsewhere(self, fresh: dict[str, Any] | None, who: str) -> None:
        """`fresh` (None: deleted or hidden) was saved by `who` elsewhere (record_live)."""
        label = self.obj.label.lower()
        if self.editor is not None:
            self.editor.changed_elsewhere(who)
            return
        if fresh is None:
            self.header_box.clear()
            self.details_box.clear()
            with self.details_box:
                not_found(self.obj)
                notify(f"This {label} was deleted by {who}.", type="warning")
            return
        self.record = fresh
        self._render_header(False)
        self.details_box.clear()
        with self.details_box:
            self._read_details()
        open_tab = self.tabs.value
        self.loaded.clear()
        for panel in (self.timeline_panel, self.history_panel):
            if panel is not None:
                panel.clear()
        if open_tab in ("timeline", "history"):
            self._tab_changed(SimpleNamespace(value=open_tab))
        with self.details_box:
            notify(f"Updated by {who}.", type="info", timeout=2500)

    def _related_lists(self) -> list[Any]:
        layout = self.obj.page_layouts.get("default")
        return list(layout.related_lists) if layout else []

    # -- header ------------------------------------------------------------------------------
    def _render_header(self, editing: bool) -> None:
        """While editing the header (with Save and Cancel) stays in view under the app bar."""
        self.header_box.clear()
        self.header_box.classes(add="sticky top-14 z-10" if editing else "",
                                remove="" if editing else "sticky top-14 z-10")
        with self.header_box:
            self._header(editing)

    def _reloaded(self, record: dict[str, Any]) -> None:
        self.record = {**self.record, **record}
        self._render_header(True)

    def _header(self, editing: bool) -> None:
        obj, record = self.obj, self.record
        with ui.card().classes(CARD + " gap-2"):
            with ui.row().classes("w-full items-start gap-3").props(
                    'data-testid="page-header"'):
                with ui.element("div").classes(
                        "rounded-lg bg-indigo-50 dark:bg-slate-800 p-2 shrink-0"):
                    ui.icon(obj.icon or "description", size="1.6rem").classes("text-indigo-600")
                with ui.column().classes("gap-0 min-w-0 grow basis-56"):
                    ui.link(obj.display_plural, f"/o/{obj.name}").classes(
                        "text-xs text-slate-500 dark:text-slate-400 no-underline hover:underline")
                    ui.label(record_name(obj, record) or f"({obj.label})").classes(
                        "text-xl font-semibold text-slate-900 dark:text-white break-words"
                    ).props('data-testid="record-title"')
                with ui.row().classes(
                        "gap-2 shrink-0 sm:flex-nowrap max-sm:ml-14 max-sm:w-[calc(100%-3.5rem)]"):
                    self._actions(editing)
            with ui.row().classes("w-full gap-x-8 gap-y-2 sm:pl-14"):
                for name in key_fields(self.sections, obj):
                    fd = obj.all_fields[name]
                    with ui.column().classes("gap-0 min-w-0"):
                        ui.label(fd.display_label).classes("text-xs text-slate-500 "
                                                           "dark:text-slate-400")
                        with ui.element("div").classes("text-sm").props(
                                f'data-testid="key-{name}"'):
                            display_value(self.ql, fd, record.get(name))
                if record.get("owner"):
                    with ui.column().classes("gap-0 min-w-0"):
                        ui.label("Owner").classes("text-xs text-slate-500 dark:text-slate-400")
                        with ui.element("div").classes("text-sm").props(
                                'data-testid="record-owner"'):
                            display_value(self.ql, obj.all_fields["owner"], record.get("owner"))

    def _actions(self, editing: bool) -> None:
        if editing:
            editor = self.editor_proxy
            ui.button("Cancel", on_click=lambda: editor("cancel")).props(
                f'{BUTTON} flat data-testid="record-cancel"')
            ui.button("Save", icon="check", on_click=lambda: editor("save")).props(
                f'{BUTTON} color=primary data-testid="record-save"')
            return
        editable = can_edit_row(self.ql, self.ctx, self.obj, self.record_id)
        if editable:
            ui.button("Edit", icon="edit", on_click=lambda: self.show(edit=True)).props(
                f'{BUTTON} color=primary data-testid="record-edit"')
        if self.obj.name == "lead" and can_convert(self.record, editable):
            convert_button(self.ql, self.ctx, self.record, lambda: ui.navigate.to(
                f"/o/lead/{self.record_id}"))
        if self.ql.allowed(self.ctx, "create", self.obj):
            ui.button("Clone", icon="content_copy", on_click=lambda: ui.navigate.to(
                f"/o/{self.obj.name}/new?clone={self.record_id}")).props(
                f'{BUTTON} outline color=grey-8 data-testid="record-clone"')
        if editable and self.ql.allowed(self.ctx, "delete", self.obj):
            ui.button(icon="delete", on_click=self._confirm_delete).props(
                f'{BUTTON} flat color=grey-7 aria-label="Delete" data-testid="record-delete"'
            ).tooltip("Delete")

    def editor_proxy(self, action: str) -> None:
        if self.editor is not None:
            getattr(self.editor, action)()

    def _saved(self, record: dict[str, Any]) -> None:
        try:
            self.record = load_record(self.ql, self.ctx, self.obj, self.record_id)
        except NotFound:
            ui.navigate.to(f"/o/{self.obj.name}")
            return
        self.loaded.clear()
        for panel in (self.timeline_panel, self.history_panel):
            if panel is not None:
                panel.clear()
        self.show(edit=False)
        with self.details_box:  # the clicked Save button is gone: notify from a live element
            notify(f"Saved “{record_name(self.obj, self.record)}”.", type="positive",
                   timeout=1500)

    # -- delete ------------------------------------------------------------------------------
    def _confirm_delete(self) -> None:
        name = record_name(self.obj, self.record)
        with ui.dialog() as dialog, ui.card().classes("p-5 gap-3 min-w-96 max-w-lg").props(
                'data-testid="delete-dialog"'):
            dialog.props["aria-label"] = f"Delete this {self.obj.label.lower()}?"
            ui.label(f"Delete this {self.obj.label.lower()}?").classes("text-base font-medium")
            ui.label(f"“{name}” will be deleted. This cannot be undone.").classes(
                "text-sm text-slate-600 dark:text-slate-300 break-words")
            error = ui.label().classes("text-sm text-red-800 bg-red-50 dark:bg-red-950 "
                                       "dark:text-red-200 rounded px-3 py-2 w-full").props(
                'role=alert data-testid="delete-error"')
            error.set_visibility(False)
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps autofocus")

                def delete() -> None:
                    try:
                        self.ql.delete(self.ctx, self.obj.name, self.record_id,
                                       expected_version=self.record.get("version"))
                    except ObjectQLError as exc:
                        error.set_text(exc.message)
                        error.set_visibility(True)
                        confirm.disable()
                        return
                    dialog.close()
                    ui.notify(f"Deleted “{name}”", type="positive")
                    ui.navigate.to(f"/o/{self.obj.name}")

                confirm = ui.button("Delete", on_click=delete).props(
                    'unelevated no-caps color=negative data-testid="confirm-delete"')
        dialog.open()

    # -- tabs --------------------------------------------------------------------------------
    def _has_timeline(self) -> bool:
        for name, *_ in SOURCES:
            child = self.ql.registry.get(name)
            if child is not None and link_field(child, self.obj.name) \
                    and self.ql.allowed(self.ctx, "read", child):
                return True
        return False

    def _tabs(self) -> None:
        self.timeline_panel: ui.tab_panel | None = None
        self.history_panel: ui.tab_panel | None = None
        with ui.tabs().classes("text-slate-600 dark:text-slate-300").props(
                "dense no-caps inline-label align=left active-color=primary "
                "indicator-color=primary") as self.tabs:
            ui.tab("details", "Details").props('data-testid="tab-details"')
            if self._has_timeline():
                ui.tab("timeline", "Activity").props('data-testid="tab-timeline"')
            ui.tab("history", "History").props('data-testid="tab-history"')
        ui.separator().classes("-mt-4")
        with ui.tab_panels(self.tabs, value="details", on_change=self._tab_changed,
                           animated=False).classes(
                "w-full bg-transparent").props("keep-alive"):
            with ui.tab_panel("details").classes("p-0"):
                self.details_box = ui.column().classes("w-full gap-4")
            if self._has_timeline():
                with ui.tab_panel("timeline").classes("p-0") as self.timeline_panel:
                    pass
            with ui.tab_panel("history").classes("p-0") as self.history_panel:
                pass

    def _tab_changed(self, e: Any) -> None:
        name = e.value
        if name in self.loaded or name == "details":
            return
        panel = self.timeline_panel if name == "timeline" else self.history_panel
        if panel is None:
            return
        self.loaded.add(name)
        panel.clear()
        with panel, ui.card().classes(CARD):
            if name == "timeline":
                activity_timeline(self.ql, self.ctx, self.obj, self.record_id)
            else:
                record_history(self.ql, self.ctx, self.obj, self.record_id)

    def _briefing_slot(self) -> None:
        from components.briefing_card import briefing_card

        briefing_card(self.ql, self.ctx, self.record_id)


async def open_record(ql: ObjectQL, ctx: Context, obj: ObjectDef, record_id: str, *,
                      edit: bool = False) -> None:
    try:
        record = await run.io_bound(load_record, ql, ctx, obj, record_id)
    except (NotFound, PermissionDenied):
        not_found(obj)
        return
    ui.page_title(f"{record_name(obj, record) or obj.label} · HotCRM")
    RecordView(ql, ctx, obj, record).render(edit=edit)
