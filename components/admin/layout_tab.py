"""The record page layout: sections (label, one or two columns, fields in order, optional
`visible_when` checked live) and related lists. Fields move between sections with a
"Move to" menu or by drag and drop (between and within sections); "Preview as a record
page" draws the unsaved layout for a real record; the whole layout is saved as one
version."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from nicegui import ui

from app.metadata.models import SYSTEM_FIELD_NAMES
from components.admin.expression_input import ExpressionInput
from components.admin.frame import CARD, MUTED, problem_box, section_heading
from components.admin.ordered_picker import DragHub, OrderedPicker
from components.admin.views_tab import field_choices

if TYPE_CHECKING:
    from components.admin.object_editor import ObjectEditor

LAYOUT = "default"


def child_links(editor: ObjectEditor) -> dict[str, str]:
    """"object.field" of every lookup pointing at this object, for related lists."""
    result = {}
    for obj in editor.services.ql.registry.values():
        for fd in obj.fields.values():
            if fd.is_lookup and fd.reference_to == editor.object_name and not obj.system:
                result[f"{obj.name}.{fd.name}"] = f"{obj.display_plural} (by {fd.display_label})"
    return result


ICON = "flat round dense size=sm color=grey-7"


class LayoutTab:
    def __init__(self, editor: ObjectEditor) -> None:
        self.editor = editor
        layouts = copy.deepcopy(editor.doc.get("page_layouts") or {})
        self.layout: dict[str, Any] = layouts.get(LAYOUT) or {"sections": []}
        self.layout.setdefault("sections", [])
        self.layout.setdefault("related_lists", [])
        self.choices = field_choices(editor.doc)
        self.drag = DragHub()  # fields drag between (and within) the sections
        with ui.row().classes("w-full items-center gap-3"):
            section_heading("Page layout")
            ui.space()
            ui.button("Add section", icon="add", on_click=self.add_section).props(
                'flat no-caps color=primary data-testid="layout-add-section"')
            ui.button("Preview as a record page", icon="preview", on_click=self.preview
                      ).props('flat no-caps color=primary data-testid="layout-preview-open"'
                              ).mark("layout-preview-open")
            ui.button("Save layout", icon="save", on_click=self.save).props(
                'unelevated no-caps color=primary data-testid="layout-save"')
        self.problem = problem_box()
        self.problem.props('data-testid="layout-problems"')
        self.unplaced = ui.row().classes("w-full")
        self.sections_box = ui.element("div").classes(
            "w-full grid grid-cols-1 xl:grid-cols-2 gap-3 items-start")
        section_heading("Related lists")
        self.related_box = ui.element("div").classes(
            "w-full grid grid-cols-1 lg:grid-cols-2 2xl:grid-cols-3 gap-3 items-start")
        self.render()

    def preview(self) -> None:
        from components.admin.layout_preview import LayoutPreview

        LayoutPreview(self.editor.services.ql, self.editor.ctx, self.editor.object_name,
                      self.layout).open()

    # -- sections ---------------------------------------------------------------------------
    def render(self) -> None:
        self.sections_box.clear()
        self.unplaced.clear()
        with self.unplaced:
            placed = {f for s in self.layout["sections"] for f in s.get("fields") or []}
            unplaced = [n for n in (self.editor.doc.get("fields") or {}) if n not in placed]
            if unplaced:
                ui.label("Not on the page: " + ", ".join(self.choices.get(n, n)
                                                         for n in unplaced)).classes(
                    f"text-sm {MUTED}").props('data-testid="layout-unplaced"')
        with self.sections_box:
            for index, section in enumerate(self.layout["sections"]):
                self._section(index, section)
        self.related_box.clear()
        with self.related_box:
            self._related()

    def _section(self, index: int, section: dict[str, Any]) -> None:
        with ui.card().classes(CARD + " gap-2").props(
                f'data-layout-section="{section.get("label")}"'):
            with ui.row().classes("w-full items-center gap-2 no-wrap max-sm:flex-wrap"):
                label = ui.input("Section label", value=section.get("label") or "").props(
                    'outlined dense maxlength=80 data-testid="section-label"').classes("grow")
                label.on_value_change(lambda e, s=section: s.__setitem__("label", e.value))
                ui.toggle({1: "1 column", 2: "2 columns"}, value=section.get("columns", 2),
                          on_change=lambda e, s=section: s.__setitem__("columns", e.value)
                          ).props('dense no-caps')
                last = len(self.layout["sections"]) - 1
                ui.button(icon="arrow_upward", on_click=lambda i=index: self.move_section(
                    i, -1)).props(f'{ICON} aria-label="Move section up"'
                                  + (" disable" if index == 0 else ""))
                ui.button(icon="arrow_downward", on_click=lambda i=index: self.move_section(
                    i, 1)).props(f'{ICON} aria-label="Move section down"'
                                 + (" disable" if index == last else ""))
                ui.button(icon="delete", on_click=lambda i=index: self.remove_section(i)
                          ).props(f'{ICON} aria-label="Remove section"')

            def move_menu(name: str, s: dict[str, Any] = section) -> None:
                others = [o for o in self.layout["sections"] if o is not s]
                if not others:
                    return
                with ui.button(icon="drive_file_move").props(
                        f'{ICON} aria-label="Move {self.choices.get(name, name)}'
                        ' to another section"'), ui.menu():
                    for other in others:
                        ui.menu_item(str(other.get("label")), on_click=lambda o=other, n=name:
                                     self.move_field(n, s, o))

            OrderedPicker(list(section.get("fields") or []), self._free_for(section),
                          label="Fields", testid="section-fields",
                          on_change=lambda values, s=section: self._fields_changed(s, values),
                          extra_actions=move_menu, drag=self.drag)
            known = set(self.editor.doc.get("fields") or {}) | set(SYSTEM_FIELD_NAMES)
            visible = ExpressionInput("Show this section only when (optional)",
                                      section.get("visible_when"), known,
                                      ql=self.editor.services.ql, ctx=self.editor.ctx,
                                      object_name=self.editor.object_name,
                                      testid="section-visible-when")
            visible.input.on_value_change(
                lambda e, s=section: s.__setitem__("visible_when", str(e.value or "").strip()
                                                   or None))

    def _free_for(self, section: dict[str, Any]) -> dict[str, str]:
        """Choices for a section: its own fields and those no section has yet."""
        elsewhere = {f for s in self.layout["sections"] if s is not section
                     for f in s.get("fields") or []}
        return {n: lbl for n, lbl in self.choices.items() if n not in elsewhere
                and n not in ("id", "version")}

    def _fields_changed(self, section: dict[str, Any], values: list[str]) -> None:
        section["fields"] = values
        self.render()

    def move_field(self, name: str, source: dict[str, Any], target: dict[str, Any]) -> None:
        source["fields"] = [f for f in source.get("fields") or [] if f != name]
        target.setdefault("fields", []).append(name)
        self.render()

    def move_section(self, index: int, step: int) -> None:
        sections = self.layout["sections"]
        target = index + step
        if 0 <= target < len(sections):
            sections[index], sections[target] = sections[target], sections[index]
            self.render()

    def remove_section(self, index: int) -> None:
        self.layout["sections"].pop(index)
        self.render()

    def add_section(self) -> None:
        self.layout["sections"].append({"label": f"Section {len(self.layout['sections']) + 1}",
                                        "columns": 2, "fields": []})
        self.render()

    # -- related lists ------------------------------------------------------------------------
    def _related(self) -> None:
        links = child_links(self.editor)
        registry = self.editor.services.ql.registry
        for index, rel in enumerate(self.layout["related_lists"]):
            child = registry.get(rel.get("object")) if rel.get("object") in registry else None
            with ui.card().classes(CARD + " gap-2").props(
                    f'data-related-list="{rel.get("object")}.{rel.get("field")}"'):
                with ui.row().classes("w-full items-center gap-2"):
                    ui.label(links.get(f"{rel.get('object')}.{rel.get('field')}",
                                       f"{rel.get('object')}.{rel.get('field')}")).classes(
                        "font-medium grow")
                    ui.button(icon="delete", on_click=lambda i=index: self.remove_related(i)
                              ).props(f'{ICON} aria-label="Remove related list"')
                columns = {n: fd.display_label for n, fd in child.all_fields.items()
                           if n not in ("id", "version")} if child else {}
                OrderedPicker(list(rel.get("columns") or []), columns, label="Columns",
                              testid="related-columns",
                              on_change=lambda values, r=rel: r.__setitem__("columns", values))
        present = {f"{r.get('object')}.{r.get('field')}" for r in self.layout["related_lists"]}
        free = {k: v for k, v in links.items() if k not in present}
        if free:
            picker = ui.select(free, label="Add a related list…").props(
                'outlined dense data-testid="related-add"').classes("w-full")
            picker.on_value_change(lambda e: self.add_related(e.value))
        elif not self.layout["related_lists"]:
            ui.label("No object links to this one yet.").classes(f"text-sm {MUTED}")

    def add_related(self, key: str | None) -> None:
        if not key:
            return
        child_name, _, field = key.partition(".")
        registry = self.editor.services.ql.registry
        child = registry[child_name]
        columns = [child.name_field] if child.field(child.name_field) else []
        self.layout["related_lists"].append({"object": child_name, "field": field,
                                             "columns": [*columns, "owner"]})
        self.render()

    def remove_related(self, index: int) -> None:
        self.layout["related_lists"].pop(index)
        self.render()

    # -- saving -------------------------------------------------------------------------------
    async def save(self) -> None:
        doc = copy.deepcopy(self.editor.doc)
        layout = copy.deepcopy(self.layout)
        for section in layout["sections"]:
            if not section.get("visible_when"):
                section.pop("visible_when", None)
        doc.setdefault("page_layouts", {})[LAYOUT] = layout
        comment = (f"Change the page layout of "
                   f"{self.editor.object_name}")
        outcome = await self.editor.save_or_report(doc, comment, self.problem)
        if outcome is None:
            return
        self.editor.saved("Layout saved", outcome, tab="layout")
