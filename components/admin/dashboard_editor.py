"""Dashboards in the studio: the list, and one dashboard's editor with two tabs.

"Widgets" is the everyday edit — title, kind, position, size and order of each widget,
with a live preview of the 12-column grid; "YAML" is the whole definition (queries,
charts, filters) in a text editor that is checked while typing, the loader's messages
listed with their line numbers. Both save one studio version based on the version the
page loaded, so a second admin's change is never overwritten silently."""

from __future__ import annotations

import asyncio
from typing import Any

from nicegui import run, ui

from app.core import Services
from app.objectql.context import Context
from app.objectql.errors import NotFound
from components.admin import dashboard_docs as docs
from components.admin.frame import (
    CARD,
    MUTED,
    TITLE,
    flash,
    problem_box,
    section_heading,
    show_problem,
)
from components.admin.object_editor import UNFINISHED, show_conflict
from components.admin.saving import SaveOutcome, save_dashboard, studio

CHECK_DELAY = 0.4  # seconds of quiet typing before the YAML is checked


class DashboardsPanel:
    def __init__(self, services: Services, ctx: Context) -> None:
        live = studio(services)
        section_heading("Dashboards")
        ui.label("Change a dashboard's widgets here; it is served to everyone at once and "
                 "every change can be reverted in History.").classes(f"text-sm {MUTED} -mt-2")
        for name in live.dashboard_names():
            doc = live.dashboard_document(name)
            with ui.card().classes(CARD + " gap-1").props(f'data-dashboard-row="{name}"'):
                with ui.row().classes("w-full items-center gap-3"):
                    ui.icon(str(doc.get("icon") or "insights"), size="1.4rem").classes(
                        "text-indigo-600 dark:text-indigo-300").props('aria-hidden="true"')
                    ui.link(str(doc.get("label") or name), f"/admin/dashboards/{name}").classes(
                        "font-medium text-indigo-700 dark:text-indigo-300")
                    ui.label(f"{name} · {len(doc.get('widgets') or [])} widgets").classes(
                        f"text-xs font-mono {MUTED}")
                    ui.space()
                    ui.link("Open", f"/dashboard/{name}").classes("text-sm")
                if doc.get("description"):
                    ui.label(str(doc["description"])).classes(f"text-sm {MUTED}")


class DashboardEditor:
    def __init__(self, services: Services, ctx: Context, name: str,
                 tab: str | None = None) -> None:
        self.services, self.ctx, self.name = services, ctx, name
        self.studio = studio(services)
        self.base_version = self.studio.version()
        try:
            self.doc: dict[str, Any] = self.studio.dashboard_document(name)
        except NotFound:
            with ui.card().classes(CARD + " p-6").props('data-testid="admin-not-found"'):
                ui.label(f"There is no dashboard named '{name}'.").classes("text-lg")
                ui.link("All dashboards", "/admin/dashboards")
            return
        self.rows = docs.widget_rows(self.doc)
        self.conflict_box = ui.column().classes("w-full")
        self._header()
        tab = tab if tab in ("widgets", "yaml") else "widgets"
        with ui.tabs(value=tab).props('no-caps align=left dense active-color=primary '
                                      'indicator-color=primary').classes(
                "w-full border-b border-slate-200 dark:border-slate-800") as tabs:
            ui.tab("widgets", "Widgets").props('data-testid="dashboard-tab-widgets"')
            ui.tab("yaml", "YAML").props('data-testid="dashboard-tab-yaml"')
        with ui.tab_panels(tabs, value=tab).classes("w-full bg-transparent"):
            with ui.tab_panel("widgets").classes("p-0 pt-2 gap-3"):
                self._widgets_tab()
            with ui.tab_panel("yaml").classes("p-0 pt-2 gap-3"):
                self._yaml_tab()

    def _header(self) -> None:
        with ui.row().classes("w-full items-center gap-3"):
            ui.link("Dashboards", "/admin/dashboards").classes(
                f"text-sm {MUTED} no-underline hover:underline")
        with ui.row().classes("w-full items-center gap-3 -mt-2"):
            with ui.column().classes("gap-0"):
                ui.label(str(self.doc.get("label") or self.name)).classes(TITLE).props(
                    'role=heading aria-level=2 data-testid="dashboard-title"')
                ui.label(f"{self.name} · metadata version {self.base_version}").classes(
                    f"text-xs font-mono {MUTED}")
            ui.space()
            ui.link("Open dashboard", f"/dashboard/{self.name}").classes(
                "text-sm text-indigo-700 dark:text-indigo-300")

    # -- widgets tab -----------------------------------------------------------------------
    def _widgets_tab(self) -> None:
        ui.label("Positions are on a 12-column grid: x and w count columns, y and h rows. "
                 "Queries and charts are edited in the YAML tab.").classes(f"text-sm {MUTED}")
        self.rows_box = ui.column().classes("w-full gap-1")
        self.preview = ui.element("div").classes(
            "w-full grid gap-1 p-2 rounded border border-slate-200 dark:border-slate-700"
        ).style("grid-template-columns: repeat(12, minmax(0, 1fr)); grid-auto-rows: 2.2rem"
                ).props('data-testid="dashboard-preview" aria-label="Grid preview"')
        with ui.row().classes("w-full items-center gap-2"):
            self.widgets_comment = ui.input("Comment (optional)").props(
                'outlined dense maxlength=500 data-testid="dashboard-comment"').classes("grow")
            ui.button("Save", icon="save", on_click=self.save_widgets).props(
                'unelevated no-caps color=primary data-testid="dashboard-save"'
            ).mark("dashboard-save")
        self.widgets_problem = problem_box()
        self.widgets_problem.props('data-testid="dashboard-problem"')
        self.draw_rows()

    def draw_rows(self, loader_messages: dict[str, list[str]] | None = None) -> None:
        self.rows_box.clear()
        grid = docs.grid_problems(self.rows)
        with self.rows_box:
            for index, row in enumerate(self.rows):
                self._row(index, row, [m for m in [grid.get(row["name"])] if m]
                          + (loader_messages or {}).get(row["name"], []))
        self.draw_preview()

    def _row(self, index: int, row: dict[str, Any], messages: list[str]) -> None:
        name = row["name"]
        with ui.card().classes(CARD + " gap-1 py-2").props(f'data-widget-row="{name}"'):
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                with ui.column().classes("gap-0"):
                    ui.button(icon="keyboard_arrow_up", on_click=lambda i=index: self.move(
                        i, -1)).props(f'flat round dense size=sm aria-label="Move {name} up"'
                                      f' data-testid="widget-up-{name}"')
                    ui.button(icon="keyboard_arrow_down", on_click=lambda i=index: self.move(
                        i, 1)).props(f'flat round dense size=sm aria-label="Move {name} '
                                     f'down" data-testid="widget-down-{name}"')
                ui.label(str(name)).classes("font-mono text-xs w-32 truncate")
                ui.input("Title", value=row["title"], on_change=lambda e, r=row: self.edit(
                    r, "title", e.value)).props(f'outlined dense data-testid="widget-title-'
                                                f'{name}"').classes("grow min-w-40").mark(
                    f"widget-title-{name}")
                ui.select(list(docs.KINDS), label="Kind", value=row["kind"],
                          on_change=lambda e, r=row: self.edit(r, "kind", e.value)).props(
                    f'outlined dense data-testid="widget-kind-{name}"').classes("w-28")
                for key, low, high in (("x", 0, 11), ("y", 0, 200), ("w", 1, 12),
                                       ("h", 1, 12)):
                    ui.number(key, value=row[key], min=low, max=high, step=1, precision=0,
                              on_change=lambda e, r=row, k=key: self.edit(r, k, e.value)
                              ).props(f'outlined dense data-testid="widget-{key}-{name}"'
                                      ).classes("w-16").mark(f"widget-{key}-{name}")
                ui.button(icon="delete", on_click=lambda i=index: self.remove(i)).props(
                    f'flat round dense color=grey-8 aria-label="Remove widget {name}" '
                    f'data-testid="widget-remove-{name}"')
            for message in messages:
                ui.label(message).classes("text-sm text-red-700 dark:text-red-300").props(
                    f'role=alert data-testid="widget-problem-{name}"')

    def edit(self, row: dict[str, Any], key: str, value: Any) -> None:
        if key in ("x", "y", "w", "h"):
            value = docs._whole(value, row[key])
        row[key] = value
        self.draw_preview()

    def move(self, index: int, step: int) -> None:
        self.rows = docs.move(self.rows, index, step)
        self.draw_rows()

    def remove(self, index: int) -> None:
        self.rows = [r for i, r in enumerate(self.rows) if i != index]
        self.draw_rows()

    def draw_preview(self) -> None:
        """The grid as the dashboard page lays it out, one box per widget."""
        self.preview.clear()
        with self.preview:
            for row in self.rows:
                style = (f"grid-column: {row['x'] + 1} / span {max(row['w'], 1)}; "
                         f"grid-row: {row['y'] + 1} / span {max(row['h'], 1)};")
                with ui.element("div").classes(
                        "rounded px-2 py-1 overflow-hidden bg-indigo-100 text-indigo-900 "
                        "dark:bg-indigo-900 dark:text-indigo-100").style(style).props(
                        f'data-preview-widget="{row["name"]}"'):
                    ui.label(str(row["title"] or row["name"])).classes("text-xs truncate")

    async def save_widgets(self) -> None:
        grid = docs.grid_problems(self.rows)
        if grid:
            show_problem(self.widgets_problem, "Fix the positions marked below first.")
            self.draw_rows()
            return
        document = docs.apply_rows(self.doc, self.rows)
        comment = self.widgets_comment.value or f"Widgets of dashboard {self.name}"
        outcome = await self._save(document, comment)
        if outcome.ok:
            self._saved(outcome, "widgets")
            return
        messages: dict[str, list[str]] = {}
        for problem in outcome.problems:
            widget = (problem.object or "").partition(".")[2]
            messages.setdefault(widget, []).append(problem.message)
        self.draw_rows(messages)
        self._report(outcome, self.widgets_problem)

    # -- YAML tab --------------------------------------------------------------------------
    def _yaml_tab(self) -> None:
        ui.label("The whole definition as YAML: queries, charts, filters. It is checked "
                 "while you type; comments are not kept when saved.").classes(
            f"text-sm {MUTED}")
        self._check_task: asyncio.Task[None] | None = None
        with ui.row().classes("w-full gap-3 items-start no-wrap"):
            self.editor = ui.codemirror(docs.to_text(self.doc), language="YAML",
                                        on_change=self.text_changed).classes(
                "grow min-w-0 h-[32rem] border border-slate-200 dark:border-slate-700 "
                "rounded").props('data-testid="dashboard-yaml"').mark("dashboard-yaml")
            with ui.column().classes("w-80 shrink-0 gap-1"):
                ui.label("Checks").classes("font-medium")
                self.check_list = ui.column().classes("w-full gap-1").props(
                    'data-testid="dashboard-yaml-problems" aria-live="polite"')
        with ui.row().classes("w-full items-center gap-2"):
            self.yaml_comment = ui.input("Comment (optional)").props(
                'outlined dense maxlength=500 data-testid="dashboard-yaml-comment"'
            ).classes("grow")
            ui.button("Save", icon="save", on_click=self.save_yaml).props(
                'unelevated no-caps color=primary data-testid="dashboard-yaml-save"'
            ).mark("dashboard-yaml-save")
        self.yaml_problem = problem_box()
        self.show_checks([])

    def text_changed(self) -> None:
        if self._check_task is not None:
            self._check_task.cancel()
        self._check_task = asyncio.get_running_loop().create_task(self._check_later())

    async def _check_later(self) -> None:
        await asyncio.sleep(CHECK_DELAY)
        await self.check_text()

    async def check_text(self) -> list[docs.LineProblem]:
        text = str(self.editor.value or "")
        _doc, problems = docs.parse_text(text)
        if not problems:
            found = await run.io_bound(self.studio.check_dashboard_text, self.name, text)
            problems = docs.line_problems(found or [])
        self.show_checks(problems)
        return problems

    def show_checks(self, problems: list[docs.LineProblem]) -> None:
        self.check_list.clear()
        with self.check_list:
            if not problems:
                ui.label("No problems: the loader accepts this.").classes(
                    "text-sm text-green-800 dark:text-green-300").props(
                    'data-testid="dashboard-yaml-ok"')
            for problem in problems:
                ui.label(problem.text()).classes(
                    "text-sm text-red-800 dark:text-red-200 bg-red-50 dark:bg-red-950 "
                    "rounded px-2 py-1 w-full break-words").props(
                    f'data-line="{problem.line or ""}"')

    async def save_yaml(self) -> None:
        document, problems = docs.parse_text(str(self.editor.value or ""))
        if document is None:
            self.show_checks(problems)
            show_problem(self.yaml_problem, "The text is not valid YAML; see Checks.")
            return
        comment = self.yaml_comment.value or f"Dashboard {self.name} (YAML)"
        outcome = await self._save(document, comment)
        if outcome.ok:
            self._saved(outcome, "yaml")
            return
        await self.check_text()  # the messages with the text's own line numbers
        self._report(outcome, self.yaml_problem)

    # -- saving ----------------------------------------------------------------------------
    async def _save(self, document: dict[str, Any], comment: str) -> SaveOutcome:
        outcome = await run.io_bound(save_dashboard, self.services, self.ctx, self.name,
                                     document, base_version=self.base_version,
                                     comment=comment)
        return outcome or UNFINISHED

    def _report(self, outcome: SaveOutcome, box: ui.label) -> None:
        show_problem(box, outcome.text())
        if outcome.conflict:
            show_conflict(self.conflict_box, outcome)

    def _saved(self, outcome: SaveOutcome, tab: str) -> None:
        flash(f"Dashboard {self.name} saved (version {outcome.version})")
        ui.navigate.to(f"/admin/dashboards/{self.name}?tab={tab}")
