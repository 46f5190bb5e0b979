"""A server-side data grid over ObjectQL results: paging, header sorting, selection.

The grid never holds more than one page. It asks its `fetch` callback for
`(skip, limit, sort, with_total)` and renders the records with `field_format`; the
count is only recomputed when the query itself changes, never on a page turn.
Cells are rendered by data_grid.js, which interpolates text (`{{ }}`), never HTML.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nicegui import ui

from app import fieldtypes
from app.metadata.models import FieldDef, ObjectDef
from app.metadata.registry import Registry
from app.objectql.service import QueryResult
from components.field_format import chip_classes, format_value, option_color
from components.live import announce

PAGE_SIZES = (20, 50, 100)
SMALL_RESULT = 5_000  # rows any column may be sorted by
SEP = " \u203a "  # between the labels of a path through a lookup
DASH = "\u2013"
# A load that takes longer than this shows the loading bar. Not at once: setting the
# table's `loading` prop sends the whole table (every row of the page shown) to the
# browser, which renders it again, only to replace it with the next page a few dozen
# ms later — half of a page change's time. Below first_paint.WAIT.
LOADING_DELAY = 0.25
Fetch = Callable[[int, int, list[tuple[str, str]], bool], Awaitable[QueryResult]]

# Up/Down move focus to the same cell of the next/previous row (its link or checkbox), so
# a keyboard user walks the list like a spreadsheet instead of tabbing through every cell.
ROW_ARROWS_JS = """(e) => {
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
  const cell = e.target.closest('tbody td'), row = e.target.closest('tbody tr');
  if (!cell || !row) return;
  const next = e.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling;
  const target = next && next.children[[...row.children].indexOf(cell)];
  const focusable = target && target.querySelector('a[href], [tabindex="0"], button');
  if (focusable) { e.preventDefault(); focusable.focus(); }
}"""
ROW_CLICK_JS = """(evt, row) => {
  if (evt.target.closest('a, button, .q-checkbox') || !row._href) return;
  if (evt.metaKey || evt.ctrlKey) window.open(row._href, '_blank');
  else window.location.assign(row._href);
}"""


@dataclass(frozen=True)
class Column:
    path: str                   # ObjectQL path queried: "name", "account.name", "owner.name"
    label: str
    fd: FieldDef                # the field whose value is shown
    link_path: str | None = None    # id to link to: "account" for "account.name"
    link_object: str | None = None
    primary: bool = False       # the object's name field: links to the record itself

    @property
    def key(self) -> str:
        return self.path.replace(".", "__")

    @property
    def numeric(self) -> bool:
        return fieldtypes.is_numeric(self.fd)

    @property
    def sortable(self) -> bool:
        return fieldtypes.of(self.fd).sortable


def resolve_column(registry: Registry, obj: ObjectDef, path: str,
                   readable: Callable[[ObjectDef, FieldDef], bool]) -> Column | None:
    """A view column as shown: a lookup becomes its related record's name. None when
    the path is unknown or passes a field the user may not read."""
    current = obj
    labels: list[str] = []
    walked: list[str] = []
    parts = path.split(".")
    for i, part in enumerate(parts):
        fd = current.field(part)
        if fd is None or not readable(current, fd):
            return None
        walked.append(part)
        last = i == len(parts) - 1
        if fd.is_lookup and fd.reference_to and fd.reference_to in registry:
            target = registry[fd.reference_to]
            link_object = None if target.name == "user" else target.name
            if last:  # "owner" → "owner.name", linked to the owner's record
                name_fd = target.field(target.name_field)
                if name_fd is None or not readable(target, name_fd):
                    return None
                return Column(f"{path}.{target.name_field}", SEP.join([*labels,
                              fd.display_label]), name_fd, ".".join(walked), link_object)
            labels.append(fd.display_label)
            if parts[i + 1] == target.name_field and i + 1 == len(parts) - 1:
                name_fd = target.field(target.name_field)
                if name_fd is None or not readable(target, name_fd):
                    return None
                return Column(path, SEP.join(labels), name_fd, ".".join(walked),
                              link_object)
            current = target
            continue
        if not last:
            return None
        return Column(path, SEP.join([*labels, fd.display_label]), fd,
                      primary=(i == 0 and part == obj.name_field))
    return None


def to_rows(obj: ObjectDef, columns: list[Column], records: list[dict[str, Any]]
            ) -> list[dict[str, Any]]:
    """Records → display rows: formatted text, chip classes and link targets."""
    rows = []
    for record in records:
        href = f"/o/{obj.name}/{record['id']}"
        row: dict[str, Any] = {"id": record["id"], "_href": href,
                               "_name": str(record.get(obj.name_field) or "")}
        for col in columns:
            value = record.get(col.path)
            row[col.key] = format_value(col.fd, value)
            if col.fd.value_type == "select" and value is not None:
                row[f"_c_{col.key}"] = chip_classes(option_color(col.fd, value))
            if col.primary:
                row[f"_h_{col.key}"] = href
            elif col.link_object and col.link_path and record.get(col.link_path):
                row[f"_h_{col.key}"] = f"/o/{col.link_object}/{record[col.link_path]}"
        rows.append(row)
    return rows


def count_text(total: int | None, capped: bool, singular: str, plural: str) -> str:
    if total is None:
        return ""
    noun = singular if total == 1 and not capped else plural
    return f"{total:,}{'+' if capped else ''} {noun.lower()}"


class GridTable(ui.table, component="data_grid.js"):
    """`ui.table` whose cell, header and selection slots are data_grid.js's own: a cell is
    a plain <td> there, not a component per cell (see the comment in data_grid.js).

    The server alone sets the pagination (it pages, sorts and counts). `ui.table` listens
    for QTable's `update:pagination`, which QTable emits once on every mount: the server
    stored the same values and sent the whole table (all rows) back, and the browser
    rendered the grid a second time right after the first paint. Without that listener
    nothing goes back and forth; data_grid.js keeps QTable following the prop."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for key, listener in list(self._event_listeners.items()):
            if listener.type == "update:pagination":
                del self._event_listeners[key]


class DataTable:
    """`DataTable(obj, columns, fetch)`; call `await reload()` after the query changed."""

    def __init__(self, obj: ObjectDef, columns: list[Column], fetch: Fetch, *,
                 sort: list[tuple[str, str]] | None = None, page_size: int = 50,
                 selectable: bool = True, empty_text: str = "No records",
                 indexed: set[str] | None = None,
                 on_selection: Callable[[list[dict[str, Any]]], None] | None = None,
                 on_count: Callable[[int | None, bool], None] | None = None,
                 on_sort: Callable[[list[tuple[str, str]]], None] | None = None) -> None:
        self.obj, self.columns, self.fetch = obj, columns, fetch
        # Columns the database sorts through an index; others only while the result is
        # small enough to sort in memory (a full sort of 1M rows takes seconds).
        self.indexed = indexed
        self.sort: list[tuple[str, str]] = list(sort or [])
        self.page, self.page_size = 1, page_size if page_size in PAGE_SIZES else 50
        self.total: int | None = None
        self.capped = False
        self.row_count = 0
        self._on_selection, self._on_count, self._on_sort = on_selection, on_count, on_sort
        self._generation = 0
        self._shown_once = False
        with ui.column().classes("w-full gap-0 rounded-lg border border-slate-200 "
                                 "dark:border-slate-800 bg-[#fff] dark:bg-slate-900 "
                                 "overflow-hidden"):
            self.table = GridTable(rows=[], columns=[], row_key="id",
                                  selection="multiple" if selectable else None,
                                  pagination={"rowsPerPage": self.page_size, "page": 1,
                                              "rowsNumber": 0})
            self.table.props('flat dense hide-bottom binary-state-sort color=primary '
                             'table-header-class="text-slate-600 dark:text-slate-300" '
                             'data-testid="list-table"')
            self.table.classes("w-full hotcrm-grid")
            self.table.on("rowClick", js_handler=ROW_CLICK_JS)
            self.table.on("keydown", js_handler=ROW_ARROWS_JS)
            self.table.on("request", self._on_request)
            self.table.on_select(lambda e: self._selection_changed())
            with ui.column().classes("w-full items-center py-16 gap-2 text-slate-500 "
                                     "dark:text-slate-400") \
                    as self.empty:
                ui.icon("inbox", size="2.5rem").classes("text-slate-300")
                self.empty_label = ui.label(empty_text).classes("text-sm").props(
                    'data-testid="list-empty"')
            self.empty.visible = False
            self.loading_label = ui.label("Loading …").classes(
                "w-full text-center py-16 text-sm text-slate-500 dark:text-slate-400").props(
                'data-testid="list-loading"')
            self.loading_label.visible = False
            self._footer()
        self.set_columns(columns)

    # -- layout --------------------------------------------------------------------------
    def _footer(self) -> None:
        with ui.row().classes("w-full items-center justify-end gap-3 px-3 py-1.5 border-t "
                              "border-slate-100 dark:border-slate-800 text-sm text-slate-500 "
                              "dark:text-slate-400"):
            ui.label("Rows per page").classes("max-sm:hidden")
            self.size_select = ui.select(list(PAGE_SIZES), value=self.page_size,
                                         on_change=self._size_changed).props(
                'dense borderless options-dense data-testid="page-size"').classes("w-14")
            self.range_label = ui.label("").props('data-testid="list-range"').classes(
                "tabular-nums min-w-28 text-right")
            self.prev_button = ui.button(icon="chevron_left", on_click=self._prev).props(
                'flat round dense color=grey-8 aria-label="Previous page" data-testid="page-prev"')
            self.next_button = ui.button(icon="chevron_right", on_click=self._next).props(
                'flat round dense color=grey-8 aria-label="Next page" data-testid="page-next"')

    def can_sort(self, column: Column) -> bool:
        if not column.sortable:
            return False
        small = self.total is not None and not self.capped and self.total <= SMALL_RESULT
        return small or self.indexed is None or column.path in self.indexed

    def set_columns(self, columns: list[Column]) -> None:
        self.columns = columns
        self._sync_pagination()

    def _column_dicts(self) -> list[dict[str, Any]]:
        direction = {"asc": "ascending", "desc": "descending"}
        sorted_by = self.sort[0] if self.sort else None
        return [{
            "name": c.key, "label": c.label, "field": c.key, "sortable": self.can_sort(c),
            "ariaSort": direction[sorted_by[1]] if sorted_by and sorted_by[0] == c.path
            else "none",
            "align": "right" if c.numeric else "left", "chip": c.fd.value_type == "select",
            "primary": c.primary,
            "headerClasses": "font-medium", "classes": "tabular-nums" if c.numeric else "",
        } for c in self.columns]

    # -- data ----------------------------------------------------------------------------
    async def reload(self, *, recount: bool = True, first_page: bool = True) -> None:
        if first_page:
            self.page = 1
        self._generation += 1
        generation = self._generation
        fetching = asyncio.ensure_future(self.fetch(
            (self.page - 1) * self.page_size, self.page_size, self.sort,
            recount or self.total is None))
        try:
            await asyncio.wait({fetching}, timeout=LOADING_DELAY)
            if not fetching.done():
                self.table.props(add="loading")
                self.loading_label.visible = not self.table.rows
                if not self.table.rows:
                    self.empty.visible = False
            result = await fetching
        finally:
            fetching.cancel()  # when this load itself was cancelled (no-op once done)
            if generation == self._generation:
                self.table.props(remove="loading")
                self.loading_label.visible = False
        if generation != self._generation:  # a newer request superseded this one
            return
        if recount or self.total is None:
            sortable = [self.can_sort(c) for c in self.columns]
            self.total, self.capped = result.total, result.total_capped
            if self._on_count:
                self._on_count(self.total, self.capped)
            if sortable != [self.can_sort(c) for c in self.columns]:
                self.set_columns(self.columns)
        self.table.rows = to_rows(self.obj, self.columns, result.records)
        self.row_count = len(result.records)
        self.table.selected = []
        self._selection_changed()
        self.empty.visible = not result.records
        self._sync_pagination()
        if self._shown_once:  # later loads (sort, page, filter) are told to screen readers
            announce(f"Showing {self.range_label.text}" if self.row_count
                     else self.empty_label.text)
        self._shown_once = True

    def _sync_pagination(self) -> None:
        columns = self._column_dicts()
        if columns != self.table.columns:
            self.table.columns = columns
        sort_by = next((c.key for c in self.columns if self.sort and c.path == self.sort[0][0]),
                       None)
        self.table.pagination = {
            "page": self.page, "rowsPerPage": self.page_size, "rowsNumber": self.total or 0,
            "sortBy": sort_by, "descending": bool(self.sort and self.sort[0][1] == "desc")}
        start = (self.page - 1) * self.page_size
        if not self.row_count:
            self.range_label.text = ""
        else:
            total = f"{self.total:,}{'+' if self.capped else ''}" if self.total is not None \
                else "?"
            self.range_label.text = f"{start + 1:,}{DASH}{start + self.row_count:,} of {total}"
        self.prev_button.enabled = self.page > 1
        self.next_button.enabled = self.row_count == self.page_size and (
            self.capped or self.total is None or start + self.row_count < self.total)

    async def _on_request(self, e: Any) -> None:
        pagination = (e.args or {}).get("pagination") or {}
        sort_key, descending = pagination.get("sortBy"), bool(pagination.get("descending"))
        column = next((c for c in self.columns if c.key == sort_key), None)
        self.sort = [(column.path, "desc" if descending else "asc")] if column else []
        if self._on_sort:
            self._on_sort(self.sort)
        await self.reload(recount=False)

    async def _size_changed(self, e: Any) -> None:
        if e.value in PAGE_SIZES and e.value != self.page_size:
            self.page_size = int(e.value)
            await self.reload(recount=False)

    async def _prev(self) -> None:
        if self.page > 1:
            self.page -= 1
            await self.reload(recount=False, first_page=False)

    async def _next(self) -> None:
        self.page += 1
        await self.reload(recount=False, first_page=False)

    # -- selection -----------------------------------------------------------------------
    @property
    def selected(self) -> list[dict[str, Any]]:
        return list(self.table.selected)

    def clear_selection(self) -> None:
        self.table.selected = []
        self._selection_changed()

    def _selection_changed(self) -> None:
        if self._on_selection:
            self._on_selection(self.selected)
