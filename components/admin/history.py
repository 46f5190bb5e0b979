"""Metadata history: every version with who, when, comment and summary; its diff on
demand; "Revert to this version" (itself a new version, so it can be undone too)."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from app.core import Services
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from components.admin.frame import (
    CARD,
    MUTED,
    flash,
    problem_box,
    section_heading,
    show_problem,
)
from components.admin.object_editor import UNFINISHED, diff_view
from components.admin.saving import revert, studio


def when(at: Any) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at is not None else "shipped"


class HistoryPanel:
    def __init__(self, services: Services, ctx: Context) -> None:
        self.services, self.ctx = services, ctx
        self.studio = studio(services)
        live = self.studio.version()
        section_heading("History")
        ui.label(f"Metadata version {live} is live. Reverting makes an older version live "
                 "again as a new version; fields hidden since then come back with their "
                 "data.").classes(f"text-sm {MUTED} -mt-2")
        self.problem = problem_box()
        self.problem.props('data-testid="history-problem"')
        self.diffs: dict[int, ui.column] = {}
        for info in self.studio.versions(limit=100):
            self._version(info, live)

    def _version(self, info: Any, live: int) -> None:
        number = int(info.number)
        with ui.card().classes(CARD + " gap-1").props(f'data-version="{number}"'):
            with ui.row().classes("w-full items-center gap-2"):
                ui.label(f"Version {number}").classes("font-semibold")
                if number == live:
                    ui.label("live").classes("text-xs rounded-full px-2 bg-green-100 "
                                             "text-green-800 dark:bg-green-900 "
                                             "dark:text-green-100")
                who = getattr(info, "author_name", "") or ("—" if number == 0
                                                           else "command line")
                ui.label(f"{who} · {when(info.at)}").classes(f"text-sm {MUTED}")
                ui.space()
                if number:
                    ui.button("Show changes", icon="difference",
                              on_click=lambda n=number: self.toggle_diff(n)).props(
                        f'flat dense no-caps color=primary data-testid="version-diff-{number}"')
                if number != live:
                    ui.button("Revert to this version", icon="undo",
                              on_click=lambda n=number: self.confirm(n, live)).props(
                        f'flat dense no-caps color=primary data-testid="version-revert-{number}"')
            if info.comment:
                ui.label(str(info.comment)).classes("text-sm")
            if info.summary:
                ui.label(str(info.summary)).classes(f"text-xs font-mono {MUTED} break-all")
            self.diffs[number] = ui.column().classes("w-full")

    def toggle_diff(self, number: int) -> None:
        box = self.diffs[number]
        if box.default_slot.children:
            box.clear()
            return
        try:
            text = self.studio.diff(number)
        except ObjectQLError as exc:
            text = exc.message
        with box:
            diff_view(text, testid=f"version-diff-text-{number}")

    def confirm(self, number: int, live: int) -> None:
        dialog = ui.dialog().props('aria-label="Revert"')
        with dialog, ui.card().classes("p-5 gap-3 max-w-lg").props(
                'data-testid="revert-dialog"'):
            ui.label(f"Revert to version {number}?").classes("text-lg font-semibold")
            ui.label(f"The metadata of version {number} becomes live for everyone at once, "
                     f"as version {live + 1}. Nothing is deleted: fields added since then are "
                     "hidden with their data kept, and you can revert this revert.").classes(
                f"text-sm {MUTED}")
            comment = ui.input("Comment", value=f"Revert to version {number}").props(
                'outlined dense maxlength=200 data-testid="revert-comment"').classes("w-full")
            box = problem_box()

            async def go() -> None:
                outcome = await run.io_bound(revert, self.services, self.ctx, number,
                                             str(comment.value or "")) or UNFINISHED
                if not outcome.ok:
                    show_problem(box, outcome.text())
                    return
                dialog.close()
                flash(f"Version {number} is live again (as version {outcome.version})")
                ui.navigate.reload()

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
                ui.button("Revert", on_click=go).props(
                    'unelevated no-caps color=primary data-testid="revert-confirm"')
        dialog.open()
        show_problem(self.problem, None)
