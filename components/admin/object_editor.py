"""One object in the studio: its document as loaded (with the version it was loaded at)
and tabs for fields, validation rules, list views, the page layout and its details.

Every tab edits a copy of the document and saves through `save()`: one studio version
with the loaded version as base, so a second admin's save is never overwritten."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from nicegui import run, ui

from app.core import Services
from app.objectql.context import Context
from app.objectql.errors import NotFound
from components.admin import documents
from components.admin.frame import CARD, MUTED, TITLE, flash, show_problem
from components.admin.saving import SaveOutcome, save_object, studio
from components.live import notify

# run.io_bound answers None when the app shuts down mid-save.
UNFINISHED = SaveOutcome(False, message="The save did not finish; reload to see what is live.")
TABS = (("fields", "Fields"), ("rules", "Validation rules"), ("views", "List views"),
        ("layout", "Page layout"), ("details", "Details"))


class ObjectEditor:
    def __init__(self, services: Services, ctx: Context, object_name: str,
                 tab: str | None = None) -> None:
        self.services, self.ctx, self.object_name = services, ctx, object_name
        self.studio = studio(services)
        self.base_version = self.studio.version()
        try:
            self.doc: dict[str, Any] = self.studio.object_document(object_name)
        except NotFound:
            with ui.card().classes(CARD + " p-6").props('data-testid="admin-not-found"'):
                ui.label(f"There is no object named '{object_name}'.").classes("text-lg")
                ui.link("All objects", "/admin")
            return
        self.conflict_box = ui.column().classes("w-full")
        self._header()
        tab = tab if tab in dict(TABS) else "fields"
        # At phone width the last tabs scroll inside the tab bar; `mobile-arrows` keeps the
        # arrows that say so on touch screens too (Quasar hides them there by default).
        with ui.tabs(value=tab).props('no-caps align=left inline-label dense mobile-arrows '
                                      'active-color=primary indicator-color=primary').classes(
                "w-full border-b border-slate-200 dark:border-slate-800 text-slate-700 "
                "dark:text-slate-200") as tabs:
            for key, label in TABS:
                ui.tab(key, label).props(f'data-testid="object-tab-{key}"')
        tabs.on_value_change(lambda e: ui.run_javascript(
            f"history.replaceState(null, '', '?tab={quote(str(e.value))}')"))
        from components.admin.details_tab import DetailsTab
        from components.admin.fields_tab import FieldsTab
        from components.admin.layout_tab import LayoutTab
        from components.admin.rules_tab import RulesTab
        from components.admin.views_tab import ViewsTab

        with ui.tab_panels(tabs, value=tab).classes("w-full bg-transparent").props(
                "keep-alive=false"):
            for key, builder in (("fields", FieldsTab), ("rules", RulesTab),
                                 ("views", ViewsTab), ("layout", LayoutTab),
                                 ("details", DetailsTab)):
                with ui.tab_panel(key).classes("p-0 pt-2 gap-3"):
                    builder(self)

    def _header(self) -> None:
        doc = self.doc
        with ui.row().classes("w-full items-center gap-3"):
            ui.link("Objects", "/admin").classes(f"text-sm {MUTED} no-underline "
                                                 "hover:underline")
            ui.label("/").classes(MUTED).props('aria-hidden="true"')
        with ui.row().classes("w-full items-center gap-3 -mt-2").props(
                'data-testid="object-header"'):
            ui.icon(str(doc.get("icon") or "table_rows"), size="1.8rem").classes(
                "text-indigo-600 dark:text-indigo-300").props('aria-hidden="true"')
            with ui.column().classes("gap-0"):
                ui.label(str(doc.get("plural_label") or doc.get("label"))).classes(
                    TITLE).props('role=heading aria-level=2 data-testid="object-title"')
                sharing = str(doc.get("sharing_model") or "private").replace("_", " ")
                ui.label(f"{self.object_name} · {sharing} · metadata version "
                         f"{self.base_version}").classes(
                    f"text-xs font-mono {MUTED}")
            ui.space()
            ui.link("Open list", f"/o/{self.object_name}").classes(
                "text-sm text-indigo-700 dark:text-indigo-300")

    # -- saving, shared by the tabs --------------------------------------------------------
    async def save(self, doc: dict[str, Any], comment: str) -> SaveOutcome:
        outcome = await run.io_bound(save_object, self.services, self.ctx, self.object_name,
                                     doc, base_version=self.base_version, comment=comment)
        return outcome or UNFINISHED

    async def save_or_report(self, doc: dict[str, Any], comment: str, problem: ui.label
                             ) -> SaveOutcome | None:
        """Save; on a refusal show its messages in `problem` (and a conflict's diff above
        everything) and answer None."""
        outcome = await self.save(doc, comment)
        if outcome.ok:
            return outcome
        show_problem(problem, outcome.text())
        if outcome.conflict:
            self.show_conflict(outcome)
        return None

    async def add_related_list(self, parent: str, field: str) -> None:
        """After a new lookup to `parent` was saved: list these records on its page."""
        live = self.studio
        try:
            parent_doc = live.object_document(parent)
        except NotFound:
            return
        columns = ["name"] if "name" in (self.doc.get("fields") or {}) else []
        updated = documents.add_related_list(parent_doc, self.object_name, field,
                                             [*columns, "owner", "created_at"],
                                             label=str(self.doc.get("plural_label") or ""))
        if updated == parent_doc:
            return
        outcome = await run.io_bound(
            save_object, self.services, self.ctx, parent, updated,
            base_version=live.version(),
            comment=f"Related list of {self.object_name} on {parent}") or UNFINISHED
        if not outcome.ok:
            notify(f"The related list on {parent} was not added: {outcome.text()}",
                   type="warning")

    def saved(self, message: str, outcome: SaveOutcome, tab: str | None = None) -> None:
        flash(f"{message} (version {outcome.version})")
        target = f"/admin/objects/{self.object_name}"
        ui.navigate.to(f"{target}?tab={tab}" if tab else target)

    def show_conflict(self, outcome: SaveOutcome) -> None:
        show_conflict(self.conflict_box, outcome)


def show_conflict(box: ui.column, outcome: SaveOutcome) -> None:
    """The other admin's change, above everything, with a way to start again from it."""
    box.clear()
    with box, ui.card().classes(
            "w-full shadow-none border border-amber-300 bg-amber-50 dark:bg-amber-950 "
            "dark:border-amber-700 gap-2").props('role=alert data-testid="conflict"'):
        ui.label("Someone else changed the metadata first").classes("font-semibold")
        ui.label(outcome.message or "").classes("text-sm")
        diff_view(outcome.conflict_diff or "")
        ui.button("Reload and start from their version", icon="refresh",
                  on_click=lambda: ui.navigate.reload()).props(
            'unelevated no-caps color=primary data-testid="conflict-reload"')


def diff_view(diff: str, testid: str = "diff") -> None:
    """A unified diff, added lines green and removed ones red (text, never HTML)."""
    with ui.element("pre").classes(
            "w-full text-xs font-mono overflow-x-auto rounded border border-slate-200 "
            "dark:border-slate-700 bg-slate-50 dark:bg-slate-950 p-2 m-0 max-h-96").props(
            f'data-testid="{testid}" tabindex="0" aria-label="Changes"'):
        for line in (diff or "(no changes)").splitlines():
            color = ("text-green-800 dark:text-green-300" if line.startswith("+")
                     and not line.startswith("+++") else
                     "text-red-800 dark:text-red-300" if line.startswith("-")
                     and not line.startswith("---") else
                     "text-indigo-800 dark:text-indigo-300" if line.startswith("@@") or
                     line.startswith("#") else "text-slate-700 dark:text-slate-300")
            ui.label(line or " ").classes(f"block whitespace-pre {color}")
