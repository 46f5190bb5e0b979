"""List views: label, columns, filters (the list page's own filter builder), sort and
board settings, with a preview of the first rows as the admin sees them."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from nicegui import run, ui

from app import fieldtypes
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from components.admin.documents import snake_name
from components.admin.frame import CARD, MUTED, problem_box, section_heading, show_problem
from components.admin.ordered_picker import OrderedPicker
from components.filter_builder import FilterBuilder

if TYPE_CHECKING:
    from components.admin.object_editor import ObjectEditor

SYSTEM_LABELS = {"owner": "Owner", "created_at": "Created", "modified_at": "Modified",
                 "created_by": "Created by", "modified_by": "Modified by"}


def field_choices(doc: dict[str, Any]) -> dict[str, str]:
    own = {n: str(s.get("label") or n) for n, s in (doc.get("fields") or {}).items()}
    return {**own, **SYSTEM_LABELS}


def simple_filters(filters: list[Any]) -> bool:
    """Conditions only (implicitly ANDed): what the filter builder edits."""
    return all(isinstance(f, list) and len(f) == 3 and isinstance(f[0], str) for f in filters)


def preview_rows(editor: ObjectEditor, view: dict[str, Any]) -> list[dict[str, Any]]:
    ql = editor.services.ql
    return ql.find(editor.ctx, editor.object_name, fields=list(view.get("columns") or []),
                   filters=list(view.get("filters") or []),
                   sort=[list(s) for s in view.get("sort") or []] or None, limit=5).records


class ViewsTab:
    def __init__(self, editor: ObjectEditor) -> None:
        self.editor = editor
        views = dict(editor.doc.get("list_views") or {})
        choices = field_choices(editor.doc)
        with ui.row().classes("w-full items-center gap-3"):
            section_heading("List views")
            ui.space()
            ui.button("New view", icon="add", on_click=lambda: ViewDialog(editor, None).open()
                      ).props('unelevated no-caps color=primary data-testid="view-new"')
        self.problem = problem_box()
        for name, view in views.items():
            with ui.card().classes(CARD + " gap-1").props(f'data-view="{name}"'):
                with ui.row().classes("w-full items-center gap-2"):
                    ui.label(str(view.get("label") or name)).classes("font-medium")
                    ui.label(name).classes(f"text-xs font-mono {MUTED}")
                    if view.get("kanban"):
                        ui.label("board").classes("text-xs rounded bg-indigo-50 "
                                                  "dark:bg-slate-800 px-2")
                    ui.space()
                    ui.button(icon="edit", on_click=lambda n=name: ViewDialog(editor, n).open()
                              ).props(f'flat round dense color=grey-8 aria-label="Edit view '
                                      f'{view.get("label") or name}" data-testid="view-edit"').mark(
                        f"view-edit-{name}")
                    if name != "all":
                        ui.button(icon="delete", on_click=lambda n=name: self.remove(n)).props(
                            f'flat round dense color=grey-8 aria-label="Remove view '
                            f'{view.get("label") or name}" data-testid="view-remove"')
                ui.label(", ".join(choices.get(c, c) for c in view.get("columns") or [])
                         ).classes(f"text-sm {MUTED}")

    async def remove(self, name: str) -> None:
        doc = copy.deepcopy(self.editor.doc)
        doc["list_views"].pop(name, None)
        comment = f"Remove list view {name}"
        outcome = await self.editor.save_or_report(doc, comment, self.problem)
        if outcome is None:
            return
        self.editor.saved(f"View {name} removed", outcome, tab="views")


PREVIEW_DELAY = 0.4  # seconds


class ViewDialog:
    def __init__(self, editor: ObjectEditor, name: str | None) -> None:
        self.editor, self.name = editor, name
        views = editor.doc.get("list_views") or {}
        self.view: dict[str, Any] = copy.deepcopy(views.get(name or "") or {
            "columns": [editor.doc.get("name_field") or "name"], "filters": [], "sort": []})

    def open(self) -> None:
        editor, view = self.editor, self.view
        choices = field_choices(editor.doc)
        fields = editor.doc.get("fields") or {}
        self.dialog = ui.dialog().props('aria-label="List view"')
        with self.dialog, ui.card().classes(
                "p-5 gap-3 w-full max-w-3xl").props('data-testid="view-dialog"'):
            ui.label("New list view" if self.name is None else
                     f"List view · {view.get('label') or self.name}").classes(
                "text-lg font-semibold")
            self.label = ui.input("Label", value=view.get("label") or "").props(
                'outlined dense maxlength=80 data-testid="view-label"').classes("w-full")
            self.columns = OrderedPicker(list(view.get("columns") or []), choices,
                                         label="Columns", testid="view-columns",
                                         on_change=lambda _values: self.schedule_preview())
            ui.label("Filters").classes("text-sm font-medium")
            self.filters = list(view.get("filters") or [])
            if simple_filters(self.filters) and editor.object_name in editor.services.ql.registry:
                obj = editor.services.ql.object(editor.object_name)
                with ui.row().classes("w-full items-center gap-2"):
                    builder = FilterBuilder(
                        editor.services.ql.registry, obj,
                        [fd for fd in obj.all_fields.values() if fd.name != "id"],
                        lambda: _users(editor), on_change=self._filters_changed,
                        conditions=self.filters)
                builder.chips_row()
            else:
                ui.label(f"{self.filters!r} (grouped filters are kept as they are)").classes(
                    f"text-xs font-mono {MUTED}")
            sort = [list(s) for s in view.get("sort") or []][:2]
            sort += [[None, "asc"]] * (2 - len(sort))
            self.sort: list[tuple[Any, Any]] = []
            with ui.row().classes("w-full gap-3 no-wrap max-sm:flex-wrap"):
                for i, (field, direction) in enumerate(sort):
                    key = ui.select(choices, label=f"Sort {i + 1}", value=field,
                                    clearable=True, with_input=True).props(
                        f'outlined dense data-testid="view-sort-{i}"').classes("grow")
                    way = ui.select({"asc": "ascending", "desc": "descending"},
                                    value=direction or "asc", label="Direction").props(
                        'outlined dense').classes("w-40")
                    self.sort.append((key, way))
                    key.on_value_change(lambda _e: self.schedule_preview())
                    way.on_value_change(lambda _e: self.schedule_preview())
            selects = {n: str(s.get("label") or n) for n, s in fields.items()
                       if s.get("type") == "select"}
            numbers = {n: str(s.get("label") or n) for n, s in fields.items()
                       if _numeric(s)}
            kanban = view.get("kanban") or {}
            with ui.row().classes("w-full gap-3 no-wrap max-sm:flex-wrap"):
                self.group_by = ui.select(selects, label="Board: columns by (optional)",
                                          value=kanban.get("group_by"), clearable=True).props(
                    'outlined dense data-testid="view-kanban-group"').classes("grow")
                self.sum = ui.select(numbers, label="Board: sum of", value=kanban.get("sum"),
                                     clearable=True).props('outlined dense').classes("grow")
            with ui.row().classes("w-full items-center gap-2"):
                ui.button("Preview", icon="visibility", on_click=self.preview).props(
                    'flat no-caps color=primary data-testid="view-preview"')
                ui.label("The first rows as you would see them (saved fields only), "
                         "redrawn as you change columns, filters and sort.").classes(
                    f"text-xs {MUTED}")
            self.preview_box = ui.column().classes("w-full gap-0")
            self._timer_host = ui.element("div").classes("hidden")  # outlives redraws
            self._preview_timer: Any = None
            self.problem = problem_box()
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                ui.button("Save view", on_click=self.save).props(
                    'unelevated no-caps color=primary data-testid="view-save"')
        self.dialog.open()
        self.schedule_preview()

    def _filters_changed(self, conditions: list[Any]) -> None:
        self.filters = list(conditions)
        self.schedule_preview()

    def schedule_preview(self) -> None:
        """The live preview, redrawn once the admin pauses (a burst of clicks is one
        query)."""
        if getattr(self, "_timer_host", None) is None:
            return  # still being built
        if self._preview_timer is not None:
            self._preview_timer.cancel()
        with self._timer_host:
            self._preview_timer = ui.timer(PREVIEW_DELAY, self.preview, once=True)

    def collect(self) -> dict[str, Any]:
        view: dict[str, Any] = {"label": str(self.label.value or "").strip() or None,
                                "columns": list(self.columns.values),
                                "filters": list(self.filters),
                                "sort": [[k.value, w.value] for k, w in self.sort if k.value]}
        if self.group_by.value:
            view["kanban"] = {"group_by": self.group_by.value}
            if self.sum.value:
                view["kanban"]["sum"] = self.sum.value
        return {k: v for k, v in view.items() if v is not None}

    async def preview(self) -> None:
        view = self.collect()
        self.preview_box.clear()
        try:
            rows = await run.io_bound(preview_rows, self.editor, view)
        except ObjectQLError as exc:
            with self.preview_box:
                ui.label(exc.message).classes("text-sm text-red-700 dark:text-red-300")
            return
        with self.preview_box, ui.element("table").classes("w-full text-sm").props(
                'data-testid="view-preview-table"'):
            with ui.element("tr"):
                for column in view["columns"]:
                    with ui.element("th").classes(f"text-left text-xs {MUTED} px-2"):
                        ui.label(field_choices(self.editor.doc).get(column, column))
            for row in rows or []:
                with ui.element("tr").classes("border-t border-slate-100 dark:border-slate-800"):
                    for column in view["columns"]:
                        with ui.element("td").classes("px-2 py-1"):
                            ui.label("" if row.get(column) is None else str(row.get(column)))
            if not rows:
                ui.label("No records match.").classes(f"text-sm {MUTED}")

    async def save(self) -> None:
        view = self.collect()
        if not view.get("columns"):
            show_problem(self.problem, "A view needs at least one column.")
            return
        name = self.name or snake_name(str(view.get("label") or ""))
        if not name:
            show_problem(self.problem, "Give the view a label.")
            return
        doc = copy.deepcopy(self.editor.doc)
        if self.name is None and name in (doc.get("list_views") or {}):
            show_problem(self.problem, f"A view named '{name}' exists already.")
            return
        doc.setdefault("list_views", {})[name] = view
        comment = (f"{'Add' if self.name is None else 'Change'} "
                   f"list view {name}")
        outcome = await self.editor.save_or_report(doc, comment, self.problem)
        if outcome is None:
            return
        self.dialog.close()
        self.editor.saved(f"View {view.get('label') or name} saved", outcome, tab="views")


def _numeric(spec: dict[str, Any]) -> bool:
    kind = spec.get("format") if spec.get("type") == "formula" else spec.get("type")
    try:
        return bool(fieldtypes.get(str(kind)).numeric)
    except fieldtypes.UnknownFieldType:
        return False


def _users(editor: ObjectEditor) -> list[tuple[str, str]]:
    rows = editor.services.ql.find(Context.system(), "user", fields=["name"], sort="name",
                                   limit=500).records
    return [(str(r["id"]), str(r.get("name"))) for r in rows]

