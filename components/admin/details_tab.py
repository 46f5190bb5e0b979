"""An object's own settings: labels, icon, description, name field and sharing model."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from nicegui import ui

from components.admin.documents import SHARING_MODELS
from components.admin.frame import CARD, MUTED, problem_box, section_heading

if TYPE_CHECKING:
    from components.admin.object_editor import ObjectEditor

NAME_TYPES = ("text", "autonumber", "email", "phone", "formula")


class DetailsTab:
    def __init__(self, editor: ObjectEditor) -> None:
        self.editor = editor
        doc = editor.doc
        section_heading("Details")
        with ui.card().classes(CARD + " gap-3 max-w-2xl"):
            with ui.row().classes("w-full gap-3 no-wrap max-sm:flex-wrap"):
                self.label = ui.input("Label", value=doc.get("label") or "").props(
                    'outlined dense maxlength=60 data-testid="details-label"').classes("grow")
                self.plural = ui.input("Plural label", value=doc.get("plural_label") or ""
                                       ).props('outlined dense maxlength=60').classes("grow")
            self.icon = ui.input("Icon (Material icon name)", value=doc.get("icon") or "").props(
                'outlined dense maxlength=60').classes("w-full")
            self.description = ui.textarea("Description", value=doc.get("description") or ""
                                           ).props('outlined dense autogrow').classes("w-full")
            names = {n: str(s.get("label") or n) for n, s in (doc.get("fields") or {}).items()
                     if s.get("type") in NAME_TYPES}
            self.name_field = ui.select(names, label="Name field (titles, lookups, search)",
                                        value=doc.get("name_field") or "name").props(
                'outlined dense').classes("w-full")
            self.sharing = ui.select(SHARING_MODELS, label="Sharing model",
                                     value=doc.get("sharing_model") or "private").props(
                'outlined dense data-testid="details-sharing"').classes("w-full")
            ui.label("Sharing decides who sees whose records; object and field rights per "
                     "role are under Permissions.").classes(f"text-xs {MUTED} -mt-2")
            self.problem = problem_box()
            with ui.row().classes("w-full justify-end"):
                ui.button("Save details", on_click=self.save).props(
                    'unelevated no-caps color=primary data-testid="details-save"')

    async def save(self) -> None:
        doc = copy.deepcopy(self.editor.doc)
        for key, widget in (("label", self.label), ("plural_label", self.plural),
                            ("icon", self.icon), ("description", self.description),
                            ("name_field", self.name_field), ("sharing_model", self.sharing)):
            value = str(widget.value or "").strip()
            if value:
                doc[key] = value
            else:
                doc.pop(key, None)
        comment = f"Change details of {self.editor.object_name}"
        outcome = await self.editor.save_or_report(doc, comment, self.problem)
        if outcome is None:
            return
        self.editor.saved("Details saved", outcome, tab="details")
