"""The "Columns" menu of a list: which readable fields are shown, in view order first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from components.lazy_menu import LazyMenu


class ColumnChooser:
    """`options` maps a column path to its label; `on_change` gets the chosen paths."""

    def __init__(self, options: dict[str, str], chosen: list[str], default: list[str],
                 on_change: Callable[[list[str]], Any]) -> None:
        self.options, self.default, self.on_change = options, default, on_change
        self.chosen = [p for p in chosen if p in options]
        self.list: ui.column | None = None
        with ui.button("Columns", icon="view_column").props(
                'flat dense no-caps color=grey-8 data-testid="column-chooser"').classes("px-2"):
            LazyMenu(self._build).props("auto-close=false").classes("min-w-60")

    def _build(self) -> None:
        with ui.row().classes("w-full items-center justify-between px-3 pt-2"):
            ui.label("Columns").classes("text-xs uppercase tracking-wide "
                                        "text-slate-500 dark:text-slate-400")
            ui.button("Reset", on_click=self._reset).props(
                'flat dense no-caps size=sm color=primary data-testid="columns-reset"')
        self.list = ui.column().classes("gap-0 px-1 pb-2 max-h-96 overflow-auto flex-nowrap")
        self._render()

    def _ordered(self) -> list[str]:
        rest = sorted((p for p in self.options if p not in self.chosen),
                      key=lambda p: self.options[p].lower())
        return [*self.chosen, *rest]

    def _render(self) -> None:
        if self.list is None:
            return
        self.list.clear()
        with self.list:
            for path in self._ordered():
                ui.checkbox(self.options[path], value=path in self.chosen,
                            on_change=lambda e, p=path: self._toggle(p, e.value)).props(
                    f'dense data-column="{path}"').classes("text-sm py-0.5")

    async def _toggle(self, path: str, on: bool) -> None:
        if on and path not in self.chosen:
            self.chosen.append(path)
        elif not on and path in self.chosen:
            if len(self.chosen) == 1:  # keep at least one column
                self._render()
                return
            self.chosen.remove(path)
        await _maybe_await(self.on_change(list(self.chosen)))

    async def _reset(self) -> None:
        self.chosen = [p for p in self.default if p in self.options]
        self._render()
        await _maybe_await(self.on_change(list(self.chosen)))


async def _maybe_await(result: Any) -> None:
    if hasattr(result, "__await__"):
        await result
