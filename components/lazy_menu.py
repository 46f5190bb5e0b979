"""A menu whose content is built when it first opens.

A list page carries several menus (views, columns) that most visits never open; their
items were a third of the page's server time and of the HTML the browser parses. The
first open builds them (one websocket round trip; Quasar sizes the menu once they
arrive) and later opens show the same elements.
"""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui


class LazyMenu(ui.menu):
    """`ui.menu` that calls `build` inside itself the first time it opens."""

    def __init__(self, build: Callable[[], None]) -> None:
        super().__init__()
        self._build = build
        self._built = False
        self.on_value_change(lambda e: self.build() if e.value else None)

    def build(self) -> None:
        """Build the content now (idempotent)."""
        if self._built:
            return
        self._built = True
        with self:
            self._build()

    def rebuild(self) -> None:
        """The content's data changed: build it again if it was built (else on opening)."""
        if self._built:
            self.clear()
            self._built = False
            self.build()
