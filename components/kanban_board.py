"""A kanban board for any object whose list view has `kanban` settings.

One column per option of the group-by picklist. Each column is one NiceGUI element whose
cards are rendered in the browser by `kanban_column.js` (a 350-card board is 7 elements,
not ~3,500). Dragging a card (HTML5 drag and drop, in the browser until the drop) onto
another column saves the new value through ObjectQL with the card's version, so
validation, triggers and audit run as for any save. The logic is in `kanban_logic.py`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from nicegui import events, run, ui

from app import fieldtypes, runtime
from app.events import ChangeEvent
from app.metadata.models import FieldDef, ObjectDef
from app.objectql.context import Context
from components.kanban_logic import (
    BoardSpec,
    ColumnState,
    apply_move,
    column_view,
    dialog_testid,
    follow_up_record,
    load_board,
    move_card,
    view_choices,
)
from components.live import announce, notify
from components.live_updates import LiveUpdates

# Seconds during which a change event for a card this board just moved is its own echo.
OWN_MOVE_SECONDS = 5.0

# `.kb-col` is positioned so the screen-reader text in it (`sr-only`, absolutely placed)
# stays inside the board's scroll box: otherwise the columns scrolled out of view widen
# the document, and a phone scrolls the whole page sideways.
CSS = """
.kb-board { display: flex; gap: 12px; width: 100%; overflow-x: auto; align-items: stretch;
  padding-bottom: 4px; }
.kb-col { flex: 1 0 200px; max-width: 320px; display: flex; flex-direction: column;
  border: 1px solid #e2e8f0; border-top: 3px solid #94a3b8; border-radius: 8px;
  background: #f1f5f9; overflow: hidden; position: relative; }
.kb-over { outline: 2px solid #6366f1; outline-offset: -2px; background: #eef2ff; }
.kb-head { display: flex; align-items: center; gap: 8px; padding: 8px 12px; margin: 0;
  font-size: 13px; line-height: 1.4; letter-spacing: normal; font-weight: 400; }
.kb-label { font-size: 13px; font-weight: 500; color: #334155; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
.kb-count { font-size: 12px; color: #475569; font-variant-numeric: tabular-nums; }
.kb-spacer { flex: 1; }
.kb-sum { font-size: 12px; font-weight: 500; color: #475569;
  font-variant-numeric: tabular-nums; }
.kb-body { flex: 1; overflow-y: auto; padding: 0 8px 8px; display: flex;
  flex-direction: column; gap: 6px; }
.kb-card { background: #fff; border: 1px solid #e2e8f0; border-radius: 6px;
  padding: 8px 10px; box-shadow: 0 1px 1px rgb(15 23 42 / .04); }
.kb-card:hover, .kb-card:focus-within { border-color: #94a3b8; }
.kb-card[draggable=true] { cursor: grab; }
.kb-dragging { opacity: .45; }
.kb-top { display: flex; align-items: flex-start; gap: 6px; }
.kb-title { flex: 1; min-width: 0; font-size: 13px; font-weight: 500; line-height: 1.35;
  color: #1e293b; text-decoration: none; display: -webkit-box; -webkit-line-clamp: 2;
  -webkit-box-orient: vertical; overflow: hidden; }
.kb-title:hover { text-decoration: underline; }
.kb-owner { flex: none; width: 20px; height: 20px; border-radius: 9999px; background: #e2e8f0;
  color: #475569; font-size: 9px; font-weight: 600; display: flex; align-items: center;
  justify-content: center; }
.kb-move { flex: none; width: 22px; height: 20px; border: 0; border-radius: 4px; padding: 0;
  background: transparent; color: #475569; cursor: pointer; display: flex;
  align-items: center; justify-content: center; }
.kb-move .q-icon { font-size: 18px; }
.kb-move:hover, .kb-move[aria-expanded=true] { background: #e2e8f0; color: #1e293b; }
.kb-menu { margin-top: 6px; border-top: 1px solid #e2e8f0; padding-top: 4px;
  display: flex; flex-direction: column; }
.kb-menu-title { font-size: 11px; color: #475569; padding: 2px 6px; }
.kb-menu-item { text-align: left; border: 0; background: transparent; border-radius: 4px;
  padding: 4px 6px; font-size: 13px; color: #1e293b; cursor: pointer; }
.kb-menu-item:hover, .kb-menu-item:focus { background: #eef2ff; color: #312e81; }
.kb-sub { font-size: 12px; color: #64748b; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.kb-foot { display: flex; align-items: center; gap: 8px; margin-top: 4px;
  white-space: nowrap; font-size: 12px; font-variant-numeric: tabular-nums; }
.kb-amount { font-weight: 600; color: #334155; }
.kb-date { color: #64748b; }
.kb-note { font-size: 12px; color: #475569; padding: 4px; }
.body--dark .kb-col { background: #0f172a; border-color: #1e293b; }
.body--dark .kb-over { background: #1e1b4b; }
.body--dark .kb-label, .body--dark .kb-amount { color: #e2e8f0; }
.body--dark .kb-count, .body--dark .kb-sum, .body--dark .kb-note,
.body--dark .kb-sub, .body--dark .kb-date, .body--dark .kb-menu-title { color: #94a3b8; }
.body--dark .kb-card { background: #1e293b; border-color: #334155; }
.body--dark .kb-card:hover, .body--dark .kb-card:focus-within { border-color: #64748b; }
.body--dark .kb-title, .body--dark .kb-menu-item { color: #f1f5f9; }
.body--dark .kb-owner { background: #334155; color: #e2e8f0; }
.body--dark .kb-move { color: #cbd5e1; }
.body--dark .kb-move:hover, .body--dark .kb-move[aria-expanded=true] { background: #334155;
  color: #f8fafc; }
.body--dark .kb-menu { border-color: #334155; }
.body--dark .kb-menu-item:hover, .body--dark .kb-menu-item:focus { background: #312e81;
  color: #fff; }
@media (prefers-reduced-motion: reduce) { .kb-board, .kb-body { scroll-behavior: auto; } }
"""


class KanbanColumn(ui.element, component="kanban_column.js"):
    """One column; its cards are props rendered by the Vue component."""

    def __init__(self, state: ColumnState, spec: BoardSpec, *, draggable: bool,
                 empty_text: str, stages: list[dict[str, str]]) -> None:
        super().__init__()
        self._props.update(value=state.value, label=state.label, color=state.color,
                           showSum=bool(spec.sum_field), draggable=draggable,
                           emptyText=empty_text, stages=stages)
        self.spec = spec
        self.show(state)

    def show(self, state: ColumnState) -> None:
        self._props.update(column_view(state, self.spec))
        self.update()


def board_toolbar(obj: ObjectDef, spec: BoardSpec) -> None:
    """Title, view picker and the List ↔ Board switch. The row wraps (like the list
    page's title row): on a phone the switch goes to a second line, not off screen."""
    with ui.row().classes("w-full items-center gap-x-2 gap-y-1").props(
            'data-testid="page-header"'):
        ui.icon(obj.icon or "view_kanban", size="1.5rem").classes("text-slate-400")
        ui.label(obj.display_plural).classes(
            "text-xl font-semibold text-slate-900 dark:text-white")
        choices = view_choices(obj)
        if len(choices) > 1:
            ui.select(choices, value=spec.view_name,
                      on_change=lambda e: ui.navigate.to(
                          f"/o/{obj.name}/kanban?view={e.value}")).props(
                'dense borderless options-dense data-testid="kanban-view"').classes(
                "min-w-40 text-slate-600")
        else:
            ui.label(choices[spec.view_name]).classes("text-slate-500 dark:text-slate-400")
        ui.space()
        with ui.row().classes("gap-0 rounded-md border border-slate-200 dark:border-slate-700 "
                              "overflow-hidden text-sm"):
            list_link = ui.link("List", f"/o/{obj.name}?view={spec.view_name}").classes(
                "px-3 py-1 no-underline text-slate-600 dark:text-slate-300 "
                "hover:bg-slate-100 dark:hover:bg-slate-800")
            list_link.props('data-testid="view-list"')
            ui.label("Board").classes(
                "px-3 py-1 bg-slate-100 dark:bg-slate-800 font-medium text-slate-800 "
                "dark:text-slate-100").props('data-testid="view-board" aria-current=page')


def board_unavailable(title: str, message: str) -> None:
    with ui.column().classes("w-full items-center py-16 gap-2").props(
            'data-testid="not-found"'):
        ui.icon("view_kanban", size="2.5rem").classes("text-slate-300")
        ui.label(title).classes("text-lg font-medium text-slate-700 dark:text-slate-200")
        ui.label(message).classes("text-sm text-slate-500 dark:text-slate-400")


class KanbanBoard:
    """Build with `await KanbanBoard.load(ctx, spec)`: the queries run in a worker thread,
    so a slow aggregate on a big table never blocks other users' pages."""

    @classmethod
    async def load(cls, ctx: Context, spec: BoardSpec) -> KanbanBoard | None:
        if KanbanColumn.component is None:  # an install without components/*.js
            board_unavailable("Board unavailable",
                              "kanban_column.js is missing from this installation.")
            return None
        ql = runtime.services().ql
        states = await run.io_bound(load_board, ql, ctx, spec)
        board = cls(ctx, spec, states)
        board.live = LiveUpdates(board._shows, board.refresh)
        return board

    def __init__(self, ctx: Context, spec: BoardSpec, states: list[ColumnState]) -> None:
        self.ctx = ctx
        self.spec = spec
        self.ql = runtime.services().ql
        self.obj = self.ql.object(spec.object_name)
        self.can_edit = self._can_edit()
        ui.add_css(CSS)
        self.states = {s.value: s for s in states}
        self.where = {card["id"]: s.value for s in self.states.values() for card in s.cards}
        self.columns: dict[str, KanbanColumn] = {}
        self._own_moves: dict[str, float] = {}
        self.live: LiveUpdates | None = None
        empty = f"No {self.obj.display_plural.lower()}"
        stages = [{"value": s.value, "label": s.label} for s in self.states.values()]
        with ui.element("div").classes("kb-board").style(
                "height: calc(100vh - 164px); min-height: 420px"):
            for state in self.states.values():
                column = KanbanColumn(state, spec, draggable=self.can_edit, empty_text=empty,
                                      stages=stages)
                column.on("move", lambda e, v=state.value: self._on_drop(v, e))
                column.on("move_to", self._on_move_to)
                self.columns[state.value] = column

    # -- live: saves made elsewhere (another tab, the API, a trigger, another process) ----
    def _shows(self, event: ChangeEvent) -> bool:
        """A change to this board's object, other than the moves made on this board
        (those are already drawn, and a reload would only move the keyboard focus)."""
        if event.object != self.spec.object_name:
            return False
        moved_here = self._own_moves.get(event.record_id)
        return moved_here is None or time.monotonic() - moved_here > OWN_MOVE_SECONDS

    async def refresh(self) -> None:
        """Reload counts, sums and cards in a worker thread and redraw the columns."""
        states = await run.io_bound(load_board, self.ql, self.ctx, self.spec)
        fresh = {s.value: s for s in states}
        if set(fresh) != set(self.states):  # the picklist itself changed: keep this page
            return
        self.states = fresh
        self.where = {card["id"]: s.value for s in fresh.values() for card in s.cards}
        for value, state in fresh.items():
            self.columns[value].show(state)

    def _can_edit(self) -> bool:
        return self.ql.allowed(self.ctx, "edit", self.obj) and \
            self.ql.allowed(self.ctx, "edit", self.obj, self.spec.group_by)

    # -- moving: a drop, or the card's "Move to…" menu -----------------------------------
    async def _on_drop(self, target: str, e: events.GenericEventArguments) -> None:
        card_id = e.args[0] if isinstance(e.args, list) and e.args else e.args
        if isinstance(card_id, str):
            await self.move(card_id, target)

    async def _on_move_to(self, e: events.GenericEventArguments) -> None:
        args = e.args if isinstance(e.args, list) else []
        if len(args) == 2 and all(isinstance(a, str) for a in args):
            await self.move(args[0], args[1], keyboard=True)

    async def move(self, card_id: str, target: str, *, keyboard: bool = False) -> None:
        """Save the card in the `target` column: one path for drops and the menu, so the
        trigger, the dialog for what the stage needs and the announcement are the same.
        From the keyboard, focus follows the card (or returns to it when it stays)."""
        if card_id not in self.where or not self.can_edit:
            return
        source = self.where[card_id]
        if source == target or target not in self.states:
            return
        card = next((c for c in self.states[source].cards if c["id"] == card_id), None)
        if card is None:
            return
        title = str(card.get(self.spec.title_field) or "")
        self._own_moves[card_id] = time.monotonic()
        result = move_card(self.ql, self.ctx, self.spec, card, target)
        if not result.ok and result.ask:
            extra = await self._ask(card, target, result.ask)
            if extra is None:
                notify(f"Not moved: “{title}” stays in {self.states[source].label}.",
                       type="info", position="bottom")
                self._focus_card(card_id, keyboard)
                return
            self._own_moves[card_id] = time.monotonic()
            result = move_card(self.ql, self.ctx, self.spec, card, target, extra)
        if not result.ok or result.record is None:
            notify(result.message, type="negative", position="bottom", multi_line=True)
            self._focus_card(card_id, keyboard)
            return
        apply_move(list(self.states.values()), card_id, source, target, result.record,
                   self.spec.sum_field)
        self.where[card_id] = target
        self.columns[source].show(self.states[source])
        self.columns[target].show(self.states[target])
        message = f"Moved “{title}” to {self.states[target].label}."
        booked = follow_up_record(self.ql, self.ctx, self.spec, target, card_id)
        if booked is not None:
            number = next((str(v) for k, v in booked.items() if k != "id" and v), "")
            ui.notify(f"Contract created{': ' + number if number else ''}",
                      type="positive", position="bottom", attrs={"aria-hidden": "true"})
            message += f" Contract created{': ' + number if number else ''}."
        announce(message)
        self._focus_card(card_id, keyboard)

    def _focus_card(self, card_id: str, keyboard: bool) -> None:
        """Put focus on the card's menu button, wherever the card now is: the element that
        had focus was re-rendered (or the dialog that had it is gone)."""
        if keyboard:
            selector = json.dumps(f'[data-card-id="{card_id}"] .kb-move')
            ui.run_javascript(f"setTimeout(() => document.querySelector({selector})"
                              "?.focus(), 80)")

    async def _ask(self, card: dict[str, Any], target: str, fields: list[FieldDef]
                   ) -> dict[str, Any] | None:
        """A small dialog for what the new stage needs (e.g. the loss reason)."""
        label = self.states[target].label
        names = [fd.name for fd in fields]
        values: dict[str, Any] = {}
        with ui.dialog() as dialog, ui.card().classes("w-96 gap-3 p-5") as box:
            dialog.props["aria-label"] = f"Move to {label}"
            box.props["data-testid"] = dialog_testid(fields)
            ui.label(f"Move to {label}").classes("text-base font-semibold")
            ui.label(str(card.get(self.spec.title_field) or "")).classes(
                "text-sm text-slate-500 dark:text-slate-400 -mt-2")

            def changed(name: str, value: Any) -> None:
                values[name] = value
                save.set_enabled(all(values.get(n) not in (None, "") for n in names))

            for index, fd in enumerate(fields):
                _field_input(fd, changed, autofocus=index == 0)
            with ui.row().classes("w-full justify-end gap-2 pt-1"):
                ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
                save = ui.button("Save", on_click=lambda: dialog.submit(dict(values))).props(
                    'unelevated color=primary data-testid="dialog-save"')
                save.disable()
        result = await dialog
        dialog.delete()
        if not result:
            return None
        return {n: result.get(n) for n in names}


def _field_input(fd: FieldDef, changed: Callable[[str, Any], None], *,
                 autofocus: bool = False) -> None:
    def store(e: events.ValueChangeEventArguments) -> None:
        changed(fd.name, e.value)

    label = fd.display_label
    if fd.type == "select":
        element: ui.element = ui.select({o.value: o.label for o in fd.options}, label=label,
                                        on_change=store)
    elif fieldtypes.is_numeric(fd):
        element = ui.number(label, on_change=store, min=fd.min, max=fd.max)
    elif fd.value_type == "date":
        element = ui.input(label, on_change=store).props("type=date stack-label")
    else:
        element = ui.input(label, on_change=store)
    element.props("outlined dense").classes("w-full")
    element.props["data-testid"] = f"dialog-field-{fd.name}"
    if autofocus:  # the dialog opens where the answer goes (Quasar traps focus inside)
        element.props("autofocus")
