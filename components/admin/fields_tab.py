"""The fields of one object: a table (label, API name, type, flags, where it shows), New
field, Edit, Hide (never drop) and the hidden fields with Restore (their data is kept)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nicegui import ui

from app import fieldtypes
from app.fieldtypes import UnknownFieldType
from components.admin import documents
from components.admin.field_dialog import FieldDialog
from components.admin.frame import CARD, MUTED, problem_box, section_heading, show_problem

if TYPE_CHECKING:
    from components.admin.object_editor import ObjectEditor

CELL = "px-3 py-2 text-sm text-left align-middle"
PHONE_HIDDEN = ("API name", "Settings", "Page section")
HEAD = "px-3 py-2 text-xs font-medium uppercase tracking-wide text-left " + MUTED


def type_label(name: str) -> str:
    try:
        return fieldtypes.get(name).label
    except UnknownFieldType:
        return name


def flags(spec: dict[str, Any]) -> str:
    words = []
    if spec.get("required"):
        words.append("required")
    if spec.get("unique"):
        words.append("unique")
    if spec.get("readonly"):
        words.append("read-only")
    if spec.get("reference_to"):
        words.append(f"→ {spec['reference_to']}")
    return ", ".join(words)


class FieldsTab:
    def __init__(self, editor: ObjectEditor) -> None:
        self.editor = editor
        doc = editor.doc
        with ui.row().classes("w-full items-center gap-3"):
            section_heading("Fields")
            ui.space()
            ui.button("New field", icon="add", on_click=lambda: FieldDialog(
                editor, None).open()).props('unelevated no-caps color=primary '
                                            'data-testid="field-new"')
        self.problem = problem_box()
        with ui.card().classes(CARD + " p-0 overflow-x-auto"), ui.element("table").classes(
                "w-full border-collapse").props('data-testid="field-table"'):
            with ui.element("thead"), ui.element("tr").classes(
                    "border-b border-slate-200 dark:border-slate-800"):
                for title in ("Field", "API name", "Type", "Settings", "Page section",
                              "Actions"):
                    narrow = " max-sm:hidden" if title in PHONE_HIDDEN else ""
                    with ui.element("th").classes(HEAD + narrow).props('scope="col"'):
                        ui.label(title)
            with ui.element("tbody"):
                for name, spec in (doc.get("fields") or {}).items():
                    self._row(name, spec)
        hidden = self._hidden()
        if hidden:
            section_heading("Hidden fields")
            ui.label("Hidden fields keep their column and data; restoring one brings both "
                     "back.").classes(f"text-sm {MUTED} -mt-2")
            with ui.card().classes(CARD + " p-0 overflow-x-auto"), ui.element(
                    "table").classes("w-full border-collapse").props(
                    'data-testid="hidden-field-table"'):
                with ui.element("tbody"):
                    for name, spec in hidden.items():
                        self._hidden_row(name, spec)

    def _hidden(self) -> dict[str, dict[str, Any]]:
        finder = getattr(self.editor.studio, "hidden_fields", None)
        return dict(finder(self.editor.object_name)) if finder else {}

    def _row(self, name: str, spec: dict[str, Any]) -> None:
        doc = self.editor.doc
        is_name = name == doc.get("name_field")
        label = str(spec.get("label") or name)
        with ui.element("tr").classes("border-b border-slate-100 dark:border-slate-800").props(
                f'data-field-row="{name}"'):
            with ui.element("td").classes(CELL + " font-medium"):
                ui.label(label + (" (name)" if is_name else ""))
            with ui.element("td").classes(CELL + " font-mono text-xs max-sm:hidden"):
                ui.label(name)
            with ui.element("td").classes(CELL):
                ui.label(type_label(str(spec.get("type"))))
            with ui.element("td").classes(CELL + f" text-xs {MUTED} max-sm:hidden"):
                ui.label(flags(spec))
            with ui.element("td").classes(CELL + f" text-xs {MUTED} max-sm:hidden"):
                ui.label(documents.section_of(doc, name) or "—")
            with ui.element("td").classes(CELL + " whitespace-nowrap"):
                ui.button(icon="edit", on_click=lambda n=name: FieldDialog(
                    self.editor, n).open()).props(
                    f'flat round dense color=grey-8 aria-label="Edit {label}" '
                    'data-testid="field-edit"').tooltip("Edit").mark(f"field-edit-{name}")
                if not is_name:
                    ui.button(icon="visibility_off", on_click=lambda n=name, lb=label:
                              self.confirm_hide(n, lb)).props(
                        f'flat round dense color=grey-8 aria-label="Hide {label}" '
                        'data-testid="field-hide"').tooltip("Hide")

    def _hidden_row(self, name: str, spec: dict[str, Any]) -> None:
        label = str(spec.get("label") or name)
        with ui.element("tr").classes("border-b border-slate-100 dark:border-slate-800").props(
                f'data-hidden-field="{name}"'):
            with ui.element("td").classes(CELL + " font-medium"):
                ui.label(label)
            with ui.element("td").classes(CELL + " font-mono text-xs"):
                ui.label(name)
            with ui.element("td").classes(CELL):
                ui.label(type_label(str(spec.get("type"))))
            with ui.element("td").classes(CELL + " text-right"):
                ui.button("Restore", icon="visibility", on_click=lambda n=name, s=spec:
                          FieldDialog(self.editor, n, restoring=s).open()).props(
                    f'flat dense no-caps color=primary aria-label="Restore {label}" '
                    'data-testid="field-restore"')

    def confirm_hide(self, name: str, label: str) -> None:
        dialog = ui.dialog().props('aria-label="Hide field"')
        with dialog, ui.card().classes("p-5 gap-3 max-w-md").props(
                'data-testid="field-hide-dialog"'):
            ui.label(f"Hide {label}?").classes("text-lg font-semibold")
            ui.label("It disappears from forms, lists and the API. Its column and every "
                     "stored value stay in the database: restore it, or revert this "
                     "version under History, and it comes back with its data.").classes(
                f"text-sm {MUTED}")
            box = problem_box()

            async def hide() -> None:
                doc = documents.hide_field(self.editor.doc, name)
                outcome = await self.editor.save(
                    doc, f"Hide field {self.editor.object_name}.{name}")
                if not outcome.ok:
                    show_problem(box, outcome.text())
                    if outcome.conflict:
                        self.editor.show_conflict(outcome)
                    return
                dialog.close()
                self.editor.saved(f"{label} hidden", outcome)

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
                ui.button("Hide field", on_click=hide).props(
                    'unelevated no-caps color=negative data-testid="field-hide-confirm"')
        dialog.open()
