"""An ordered list of field names (list view columns, a layout section's fields, related
list columns): each as a row with move up/down and remove, plus "Add" from the rest.
Keyboard and screen-reader friendly; order changes are plain buttons (and, where a
DragHub is given, drag and drop too)."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

ICON = "flat round dense size=sm color=grey-7"


class DragHub:
    """Shared by the pickers of one editor (a layout's sections): a row dragged from one
    picker drops onto a row of another — or of the same one — and lands before it, or at
    the end when dropped on the picker itself. The arrows and "Move to" do the same by
    keyboard."""

    def __init__(self) -> None:
        self.source: tuple[OrderedPicker, str] | None = None

    def start(self, picker: OrderedPicker, name: str) -> None:
        self.source = (picker, name)

    def drop(self, target: OrderedPicker, index: int) -> None:
        source, self.source = self.source, None
        if source is None:
            return
        picker, name = source
        if picker is target:
            values = [v for v in target.values if v != name]
            at = index - (1 if name in target.values[:index] else 0)
            values.insert(max(0, min(at, len(values))), name)
            if values != target.values:
                target.set_values(values)
            return
        if name not in picker.values or name in target.values:
            return
        moved = list(target.values)
        moved.insert(max(0, min(index, len(moved))), name)
        target.values = moved  # before the source redraws the editor from its callback
        picker.set_values([v for v in picker.values if v != name])
        target.set_values(moved)


class OrderedPicker:
    def __init__(self, values: list[str], choices: dict[str, str], *, label: str,
                 testid: str, on_change: Callable[[list[str]], None] | None = None,
                 extra_actions: Callable[[str], None] | None = None,
                 drag: DragHub | None = None) -> None:
        """`choices` maps names to labels; `extra_actions(name)` may add buttons per row;
        `drag` lets rows be dragged within and between the pickers sharing it."""
        self.values = [v for v in values]
        self.choices, self.label, self.testid = choices, label, testid
        self.on_change, self.extra_actions, self.drag = on_change, extra_actions, drag
        self.box = ui.column().classes("w-full gap-1").props(f'data-testid="{testid}"')
        if drag is not None:  # dropped on the list itself (an empty section): at the end
            self.box.on("dragover", js_handler="(e) => e.preventDefault()")
            self.box.on("drop.prevent", lambda: drag.drop(self, len(self.values)))
        self.render()

    def label_of(self, name: str) -> str:
        return self.choices.get(name, name)

    def set_values(self, values: list[str]) -> None:
        self.values = list(values)
        self.render()
        if self.on_change:
            self.on_change(list(self.values))

    def move(self, index: int, step: int) -> None:
        target = index + step
        if 0 <= target < len(self.values):
            values = list(self.values)
            values[index], values[target] = values[target], values[index]
            self.set_values(values)

    def remove(self, index: int) -> None:
        self.set_values([v for i, v in enumerate(self.values) if i != index])

    def add(self, name: str | None) -> None:
        if name and name not in self.values:
            self.set_values([*self.values, name])

    def _draggable(self, row: ui.row, index: int, name: str) -> None:
        drag = self.drag
        assert drag is not None
        row.props('draggable="true"').classes("cursor-grab").mark(
            f"{self.testid}-item-{name}")
        row.on("dragstart", lambda: drag.start(self, name))
        row.on("dragover", js_handler="(e) => e.preventDefault()")
        row.on("drop.prevent.stop", lambda: drag.drop(self, index))
        ui.icon("drag_indicator", size="1.1rem").classes(
            "text-slate-400 shrink-0").props('aria-hidden="true"')

    def render(self) -> None:
        self.box.clear()
        with self.box:
            ui.label(self.label).classes("text-sm font-medium")
            last = len(self.values) - 1
            for index, name in enumerate(self.values):
                text = self.label_of(name)
                with ui.row().classes(
                        "w-full items-center gap-1 no-wrap rounded border border-slate-200 "
                        "dark:border-slate-700 px-2 py-0.5").props(
                        f'data-testid="{self.testid}-item" data-name="{name}"') as row:
                    if self.drag is not None:
                        self._draggable(row, index, name)
                    ui.label(text).classes("grow text-sm truncate")
                    ui.label(name).classes("text-xs font-mono text-slate-500 "
                                           "dark:text-slate-400 max-sm:hidden")
                    if self.extra_actions:
                        self.extra_actions(name)
                    ui.button(icon="arrow_upward", on_click=lambda i=index: self.move(i, -1)
                              ).props(f'{ICON} aria-label="Move {text} up"'
                                      + (" disable" if index == 0 else ""))
                    ui.button(icon="arrow_downward", on_click=lambda i=index: self.move(i, 1)
                              ).props(f'{ICON} aria-label="Move {text} down"'
                                      + (" disable" if index == last else ""))
                    ui.button(icon="close", on_click=lambda i=index: self.remove(i)).props(
                        f'{ICON} aria-label="Remove {text}"')
            rest = {n: f"{lbl} ({n})" for n, lbl in self.choices.items() if n not in self.values}
            if rest:
                picker = ui.select(rest, label="Add…", with_input=True).props(
                    f'outlined dense options-dense data-testid="{self.testid}-add"').classes(
                    "w-full max-w-sm")
                picker.on_value_change(lambda e: self.add(e.value))
