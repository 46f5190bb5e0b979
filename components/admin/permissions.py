"""Permission sets: per role a matrix object by create/read/edit/delete/view all/modify all,
and per object the fields a role may not read or edit. Saved as one studio version."""

from __future__ import annotations

import copy
from typing import Any

from nicegui import run, ui

from app.core import Services
from app.metadata.system_objects import ROLES
from app.objectql.context import Context
from components.admin.frame import (
    CARD,
    MUTED,
    flash,
    problem_box,
    section_heading,
    show_problem,
)
from components.admin.object_editor import UNFINISHED, diff_view
from components.admin.saving import save_permissions, studio

ACTIONS = (("create", "Create"), ("read", "Read"), ("edit", "Edit"), ("delete", "Delete"),
           ("view_all", "View all"), ("modify_all", "Modify all"))
CELL = "px-2 py-1 text-sm text-center align-middle"
HEAD = "px-2 py-2 text-xs font-medium uppercase tracking-wide " + MUTED


def rights(doc: dict[str, Any], obj: str) -> dict[str, bool]:
    objects = doc.get("objects") or {}
    entry = objects.get(obj) if obj in objects else objects.get("*") or {}
    return {a: bool((entry or {}).get(a)) for a, _ in ACTIONS}


def set_right(doc: dict[str, Any], obj: str, action: str, value: bool) -> dict[str, Any]:
    """A new document with one right changed; read is implied by the others and view all
    by modify all, as a Salesforce admin would expect."""
    new = copy.deepcopy(doc)
    current = rights(new, obj)
    current[action] = value
    if value and action in ("create", "edit", "delete", "view_all", "modify_all"):
        current["read"] = True
    if value and action == "modify_all":
        current.update(view_all=True, edit=True, delete=True)
    if not value and action == "read":
        current = {a: False for a, _ in ACTIONS}
    new.setdefault("objects", {})[obj] = {a: True for a, v in current.items() if v}
    return new


class PermissionsPanel:
    def __init__(self, services: Services, ctx: Context, role: str | None = None) -> None:
        self.services, self.ctx = services, ctx
        self.studio = studio(services)
        self.role = role if role in ROLES else "sales_rep"
        self.base_version = self.studio.version()
        self.doc: dict[str, Any] = self.studio.permissions_document(self.role)
        self.original = copy.deepcopy(self.doc)
        with ui.row().classes("w-full items-center gap-3"):
            section_heading("Permissions")
            ui.space()
            ui.select({r: r.replace("_", " ").capitalize() for r in ROLES}, label="Role",
                      value=self.role, on_change=lambda e: ui.navigate.to(
                          f"/admin/permissions?role={e.value}")).props(
                'outlined dense data-testid="permission-role"').classes("w-56")
        ui.label("Object rights per role; row visibility also follows each object's sharing "
                 "model and the manager chain. Fields are readable and editable unless "
                 "listed.").classes(f"text-sm {MUTED} -mt-2")
        if "*" in (self.doc.get("objects") or {}):
            ui.label("This role has every right on every object ('*').").classes(
                "text-sm font-medium").props('data-testid="permission-all"')
            return
        self.matrix = ui.card().classes(CARD + " p-0 overflow-x-auto")
        section_heading("Field restrictions")
        self.fields_box = ui.column().classes("w-full gap-2")
        self.problem = problem_box()
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Save permissions", icon="save", on_click=self.save).props(
                'unelevated no-caps color=primary data-testid="permission-save"')
        self.render()

    def objects(self) -> list[Any]:
        registry = self.services.ql.registry
        return sorted(registry.values(), key=lambda o: (o.system, o.display_plural.lower()))

    def render(self) -> None:
        self.matrix.clear()
        with self.matrix, ui.element("table").classes("w-full border-collapse").props(
                'data-testid="permission-matrix"'):
            with ui.element("thead"), ui.element("tr").classes(
                    "border-b border-slate-200 dark:border-slate-800"):
                with ui.element("th").classes(HEAD + " text-left").props('scope="col"'):
                    ui.label("Object")
                for _, label in ACTIONS:
                    with ui.element("th").classes(HEAD).props('scope="col"'):
                        ui.label(label)
            with ui.element("tbody"):
                for obj in self.objects():
                    current = rights(self.doc, obj.name)
                    with ui.element("tr").classes(
                            "border-b border-slate-100 dark:border-slate-800").props(
                            f'data-permission-object="{obj.name}"'):
                        with ui.element("th").classes(CELL + " text-left font-medium").props(
                                'scope="row"'):
                            ui.label(obj.display_plural)
                        for action, label in ACTIONS:
                            with ui.element("td").classes(CELL):
                                ui.checkbox(value=current[action], on_change=lambda e, o=obj.name,
                                            a=action: self.toggle(o, a, bool(e.value))).props(
                                    f'dense aria-label="{label} {obj.display_plural}" '
                                    f'data-testid="perm-{obj.name}-{action}"')
        self.render_fields()

    def toggle(self, obj: str, action: str, value: bool) -> None:
        updated = set_right(self.doc, obj, action, value)
        if updated != self.doc:
            self.doc = updated
            self.render()

    def render_fields(self) -> None:
        self.fields_box.clear()
        restricted = self.doc.get("fields") or {}
        with self.fields_box:
            for obj in self.objects():
                if obj.system or not rights(self.doc, obj.name)["read"]:
                    continue
                entries = restricted.get(obj.name) or {}
                with ui.expansion(f"{obj.display_plural}"
                                  f"{f' · {len(entries)} restricted' if entries else ''}"
                                  ).classes(CARD + " rounded").props(
                        f'dense data-field-permissions="{obj.name}"'):
                    with ui.element("table").classes("w-full border-collapse"):
                        with ui.element("tr"):
                            for title in ("Field", "Read", "Edit"):
                                with ui.element("th").classes(HEAD + " text-left").props(
                                        'scope="col"'):
                                    ui.label(title)
                        for fd in obj.fields.values():
                            entry = entries.get(fd.name) or {}
                            read = entry.get("read", True)
                            edit = entry.get("edit", True) and read
                            with ui.element("tr"):
                                with ui.element("th").classes(CELL + " text-left font-normal"
                                                              ).props('scope="row"'):
                                    ui.label(fd.display_label)
                                for key, value in (("read", read), ("edit", edit)):
                                    with ui.element("td").classes(CELL + " text-left"):
                                        ui.checkbox(value=bool(value), on_change=lambda e,
                                                    o=obj.name, f=fd.name, k=key:
                                                    self.toggle_field(o, f, k, bool(e.value))
                                                    ).props(f'dense aria-label="{key.title()} '
                                                            f'{fd.display_label}"')

    def toggle_field(self, obj: str, field: str, key: str, value: bool) -> None:
        doc = copy.deepcopy(self.doc)
        per_object = doc.setdefault("fields", {}).setdefault(obj, {})
        entry = dict(per_object.get(field) or {"read": True, "edit": True})
        entry[key] = value
        if key == "read" and not value:
            entry["edit"] = False
        if key == "edit" and value:
            entry["read"] = True
        if entry.get("read", True) and entry.get("edit", True):
            per_object.pop(field, None)  # full rights are the default: list exceptions only
        else:
            per_object[field] = entry
        if not per_object:
            doc["fields"].pop(obj)
        self.doc = doc

    async def save(self) -> None:
        outcome = await run.io_bound(save_permissions, self.services, self.ctx, self.role,
                                     self.doc, base_version=self.base_version,
                                     comment=f"Change permissions of {self.role}") or UNFINISHED
        if not outcome.ok:
            show_problem(self.problem, outcome.text())
            if outcome.conflict:
                with self.fields_box:
                    diff_view(outcome.conflict_diff or "")
            return
        flash(f"Permissions of {self.role.replace('_', ' ')} saved (version "
              f"{outcome.version})")
        ui.navigate.to(f"/admin/permissions?role={self.role}")
