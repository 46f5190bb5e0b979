"""Objects: every business object with its record count, and "New object"."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from app.core import Services
from app.objectql.context import Context
from components.admin import documents
from components.admin.frame import (
    CARD,
    MUTED,
    flash,
    problem_box,
    section_heading,
    show_problem,
)
from components.admin.saving import SaveOutcome, save_object, studio

CELL = "px-3 py-2 text-sm text-left align-middle"
HEAD = "px-3 py-2 text-xs font-medium uppercase tracking-wide text-left " + MUTED
ICONS = ("table_rows", "work", "folder", "assignment", "event", "inventory_2", "build",
         "campaign", "support_agent", "receipt_long", "local_shipping", "school", "star")


def object_rows(services: Services, ctx: Context) -> list[dict[str, Any]]:
    """Each business object with its record count (capped like every count)."""
    ql = services.ql
    rows = []
    for obj in sorted(ql.registry.business_objects, key=lambda o: o.display_plural.lower()):
        count, capped = ql.count(ctx, obj.name)
        rows.append({"name": obj.name, "label": obj.display_plural, "icon": obj.icon,
                     "count": f"{count:,}{'+' if capped else ''}", "fields": len(obj.fields),
                     "sharing": obj.sharing_model.replace("_", " "),
                     "description": obj.description or ""})
    return rows


class ObjectsPanel:
    def __init__(self, services: Services, ctx: Context) -> None:
        self.services, self.ctx = services, ctx
        with ui.row().classes("w-full items-center gap-3"):
            section_heading("Objects")
            ui.space()
            ui.button("New object", icon="add", on_click=lambda: NewObjectDialog(self).open()
                      ).props('unelevated no-caps color=primary data-testid="object-new"')
        ui.label("Click an object to change its fields, validation rules, list views and page "
                 "layout. Every save is a version you can revert under History.").classes(
            f"text-sm {MUTED} -mt-2")
        self.body = ui.card().classes(CARD + " p-0 overflow-x-auto")
        self.render()

    def render(self) -> None:
        self.body.clear()
        with self.body, ui.element("table").classes("w-full border-collapse").props(
                'data-testid="object-table"'):
            with ui.element("thead"), ui.element("tr").classes(
                    "border-b border-slate-200 dark:border-slate-800"):
                for title in ("Object", "API name", "Records", "Fields", "Sharing"):
                    narrow = " max-sm:hidden" if title in ("API name", "Sharing") else ""
                    with ui.element("th").classes(HEAD + narrow).props('scope="col"'):
                        ui.label(title)
            with ui.element("tbody"):
                for row in object_rows(self.services, self.ctx):
                    with ui.element("tr").classes(
                            "border-b border-slate-100 dark:border-slate-800").props(
                            f'data-object-row="{row["name"]}"'):
                        with ui.element("td").classes(CELL):
                            with ui.link(target=f"/admin/objects/{row['name']}").classes(
                                    "flex items-center gap-2 no-underline font-medium "
                                    "text-indigo-700 dark:text-indigo-300 hover:underline"):
                                ui.icon(row["icon"] or "table_rows", size="1.2rem").props(
                                    'aria-hidden="true"')
                                ui.label(row["label"])
                        for key in ("name", "count", "fields", "sharing"):
                            with ui.element("td").classes(CELL + (
                                    " tabular-nums" if key in ("count", "fields") else
                                    " max-sm:hidden")):
                                ui.label(str(row[key])).props(f'data-cell="{key}"')


class NewObjectDialog:
    """Name, label, plural, icon, name field and sharing model; the object gets its table,
    navigation entry, list views, layout and REST endpoints when saved."""

    def __init__(self, panel: ObjectsPanel) -> None:
        self.panel = panel

    def open(self) -> None:
        self.base_version = studio(self.panel.services).version()
        self.dialog = ui.dialog().props('aria-label="New object"')
        with self.dialog, ui.card().classes("p-5 gap-3 w-full max-w-lg").props(
                'data-testid="object-dialog"'):
            ui.label("New object").classes("text-lg font-semibold")
            self.label = ui.input("Label (singular)", placeholder="Project").props(
                'outlined dense maxlength=60 data-testid="object-label"').classes("w-full")
            self.plural = ui.input("Plural label", placeholder="Projects").props(
                'outlined dense maxlength=60 data-testid="object-plural"').classes("w-full")
            self.name = ui.input("API name", placeholder="project").props(
                'outlined dense maxlength=60 data-testid="object-name"').classes("w-full")
            self.label.on_value_change(self._suggest)
            self.name_label = ui.input("Name field label", placeholder="Project name").props(
                'outlined dense maxlength=60 data-testid="object-name-label"').classes("w-full")
            with ui.row().classes("w-full gap-3 no-wrap"):
                self.icon = ui.select({i: i.replace("_", " ") for i in ICONS}, label="Icon",
                                      value="table_rows", new_value_mode="add-unique").props(
                    'outlined dense data-testid="object-icon"').classes("grow")
                self.sharing = ui.select(documents.SHARING_MODELS, label="Sharing model",
                                         value="private").props(
                    'outlined dense data-testid="object-sharing"').classes("grow")
            self.description = ui.input("Description").props(
                'outlined dense maxlength=300').classes("w-full")
            self.problem = problem_box()
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                ui.button("Create object", on_click=self.save).props(
                    'unelevated no-caps color=primary data-testid="object-save"')
        self.dialog.open()

    def _suggest(self, event: Any) -> None:
        label = str(event.value or "").strip()
        if not label:
            return
        self.plural.props(f'placeholder="{label}s"')
        self.name.props(f'placeholder="{documents.snake_name(label)}"')
        self.name_label.props(f'placeholder="{label} name"')

    async def save(self) -> None:
        label = str(self.label.value or "").strip()
        if not label:
            show_problem(self.problem, "Give the object a label.")
            return
        name = str(self.name.value or "").strip() or documents.snake_name(label)
        existing = set(self.panel.services.ql.registry)
        problem = documents.check_new_object_name(name, existing)
        if problem:
            show_problem(self.problem, f"API name: {problem}")
            return
        doc = documents.new_object(
            name, label, str(self.plural.value or "").strip() or f"{label}s",
            str(self.icon.value or "table_rows"),
            str(self.name_label.value or "").strip() or f"{label} name",
            str(self.sharing.value), str(self.description.value or "").strip())
        outcome: SaveOutcome = await run.io_bound(
            save_object, self.panel.services, self.panel.ctx, name, doc,
            base_version=self.base_version, comment=f"Create object {name}") or SaveOutcome(
            False, message="The save did not finish; reload to see what is live.")
        if not outcome.ok:
            show_problem(self.problem, outcome.text())
            return
        self.dialog.close()
        flash(f"{label} created (version {outcome.version}): add its fields here")
        ui.navigate.to(f"/admin/objects/{name}")
