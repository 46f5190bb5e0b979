"""Picklist values: label, API value, colour, order (move up/down) and removal.

A value already stored on records keeps its API value (only its label and colour change),
so renaming a label never orphans data; new values get a value made from the label."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from components.admin.documents import COLORS, moved, options_from_rows, snake_name

SWATCH = {"grey": "#94a3b8", "blue": "#3b82f6", "green": "#22c55e", "red": "#ef4444",
          "orange": "#f97316", "amber": "#f59e0b", "yellow": "#eab308", "teal": "#14b8a6",
          "indigo": "#6366f1", "purple": "#a855f7", "pink": "#ec4899"}


ICON = "flat round dense size=sm color=grey-7"


class PicklistEditor:
    def __init__(self, options: list[dict[str, Any]] | None, colors: tuple[str, ...] = COLORS,
                 testid: str = "picklist") -> None:
        self.colors = tuple(colors) or COLORS
        self.testid = testid
        self.rows: list[dict[str, Any]] = [
            {**o, "key": i, "stored": True} for i, o in enumerate(options or [])]
        self._next_key = len(self.rows)
        with ui.column().classes("w-full gap-1").props(f'data-testid="{testid}"'):
            ui.label("Values").classes("text-sm font-medium")
            self.body = ui.column().classes("w-full gap-1")
            ui.button("Add value", icon="add", on_click=self.add).props(
                f'flat dense no-caps color=primary data-testid="{testid}-add"')
        self.render()

    def add(self, label: str = "") -> None:
        self.rows.append({"key": self._next_key, "label": label, "value": "",
                          "color": self.colors[len(self.rows) % len(self.colors)],
                          "stored": False})
        self._next_key += 1
        self.render()

    def move(self, index: int, step: int) -> None:
        target = index + step
        if 0 <= target < len(self.rows):
            self.rows[index], self.rows[target] = self.rows[target], self.rows[index]
            self.render()

    def drag_start(self, index: int) -> None:
        self._dragging = index

    def drop(self, index: int) -> None:
        """A value dragged onto row `index` takes its place (the others shift)."""
        source, self._dragging = getattr(self, "_dragging", None), None
        if source is None or source == index:
            return
        self.rows = moved(self.rows, source, index)
        self.render()

    def remove(self, index: int) -> None:
        self.rows.pop(index)
        self.render()

    @property
    def options(self) -> list[dict[str, Any]]:
        clean = [{k: v for k, v in r.items() if k != "stored"} for r in self.rows]
        return options_from_rows(clean)

    def render(self) -> None:
        self.body.clear()
        with self.body:
            for index, row in enumerate(self.rows):
                self._row(index, row)

    def _row(self, index: int, row: dict[str, Any]) -> None:
        with ui.row().classes("w-full items-center gap-1 no-wrap").props(
                f'data-testid="{self.testid}-row" draggable="true"').mark(
                f"{self.testid}-row-{index}") as line:
            # Drag a row onto another to reorder (the arrows do the same by keyboard).
            line.on("dragstart", lambda i=index: self.drag_start(i))
            line.on("dragover", js_handler="(e) => e.preventDefault()")  # a drop target
            line.on("drop.prevent", lambda i=index: self.drop(i))
            ui.icon("drag_indicator", size="1.1rem").classes(
                "text-slate-400 cursor-grab shrink-0").props('aria-hidden="true"')
            ui.element("span").classes("inline-block w-3 h-3 rounded-full shrink-0").style(
                f"background:{SWATCH.get(str(row.get('color')), '#94a3b8')}").props(
                'aria-hidden="true"')
            label = ui.input(value=row.get("label") or "", placeholder="Label").props(
                f'outlined dense aria-label="Label of value {index + 1}" '
                f'data-testid="{self.testid}-label"').classes("grow min-w-0")

            def set_label(e: Any, r: dict[str, Any] = row) -> None:
                r["label"] = e.value
                if not r["stored"]:
                    r["value"] = snake_name(str(e.value or ""))
                    value_box.value = r["value"]

            label.on_value_change(set_label)
            value_box = ui.input(value=row.get("value") or "", placeholder="api_value").props(
                f'outlined dense aria-label="API value of value {index + 1}" '
                f'data-testid="{self.testid}-value"').classes("w-32 font-mono")
            if row["stored"]:
                value_box.props("readonly").tooltip("Stored on records: the value stays; "
                                                    "change the label instead")
            value_box.on_value_change(lambda e, r=row: r.__setitem__("value", e.value))
            ui.select({c: c for c in self.colors}, value=row.get("color") or None).props(
                f'outlined dense options-dense aria-label="Colour of value {index + 1}"'
            ).classes("w-28").on_value_change(lambda e, r=row: self._recolor(r, e.value))
            ui.button(icon="arrow_upward", on_click=lambda i=index: self.move(i, -1)).props(
                f'{ICON} aria-label="Move value {index + 1} up"'
                + (" disable" if index == 0 else ""))
            ui.button(icon="arrow_downward", on_click=lambda i=index: self.move(i, 1)).props(
                f'{ICON} aria-label="Move value {index + 1} down"'
                + (" disable" if index == len(self.rows) - 1 else ""))
            ui.button(icon="close", on_click=lambda i=index: self.remove(i)).props(
                f'{ICON} aria-label="Remove value {index + 1}"')

    def _recolor(self, row: dict[str, Any], color: Any) -> None:
        row["color"] = color
        self.render()
