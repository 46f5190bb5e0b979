"""`/o/{object}`: a list view — view switcher, search, filters, columns, paging, sorting,
mass actions and export. State lives in the URL (`view, q, filters, sort`)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app as nicegui_app
from nicegui import run, ui

from app import fieldtypes
from app.metadata.models import FieldDef, ObjectDef
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from app.objectql.query import parse_filters_param, parse_sort
from app.objectql.service import QueryResult
from components import first_paint
from components.column_chooser import ColumnChooser
from components.data_table import Column, DataTable, count_text, resolve_column
from components.filter_builder import FilterBuilder, filter_fields
from components.kanban_logic import kanban_views
from components.lazy_menu import LazyMenu
from components.mass_actions import MassActions
from components.shell import frame
from pages.common import ObjectPage, object_page, services

log = logging.getLogger(__name__)


class ListState:
    """What the list shows; everything the URL and the export link carry."""

    def __init__(self, ctx: Context, obj: ObjectDef, view: str | None, q: str,
                 filters: list[Any], sort: list[tuple[str, str]]) -> None:
        self.ctx, self.obj = ctx, obj
        self.ql = services().ql
        self.view, self.q, self.filters, self.sort = view, q, filters, sort
        self.readable = set(self.ql.readable_fields(ctx, obj))
        self.columns: list[Column] = []
        self.problems: list[str] = []  # readable notes about the URL, shown above the list

    def is_readable(self, target: ObjectDef, fd: FieldDef) -> bool:
        return self.ql.allowed(self.ctx, "read", target, fd.name)

    def resolve(self, paths: list[str]) -> list[Column]:
        columns = [resolve_column(self.ql.registry, self.obj, p, self.is_readable)
                   for p in paths]
        return list({c.path: c for c in columns if c is not None}.values())

    def view_columns(self) -> list[Column]:
        list_view = self.obj.list_views.get(self.view or "")
        paths = list_view.columns if list_view and list_view.columns else [
            self.obj.name_field, "owner", "created_at"]
        return self.resolve(paths)

    def column_options(self) -> dict[str, str]:
        names = [n for n in self.ql.readable_fields(self.ctx, self.obj)
                 if n not in ("id", "version")]
        columns = self.view_columns() + self.resolve(names)
        return {c.path: c.label for c in columns if c.fd.value_type != "json"}

    def query_fields(self) -> list[str]:
        fields = [c.path for c in self.columns] + [c.link_path for c in self.columns
                                                   if c.link_path and c.link_object]
        if self.obj.name_field in self.readable:
            fields.append(self.obj.name_field)
        return list(dict.fromkeys(fields))

    def find(self, skip: int, limit: int, sort: list[tuple[str, str]],
             with_total: bool) -> QueryResult:
        started = time.perf_counter()
        with self.ql.replica_reads(self.ctx):  # a list: the read replica may serve it
            result = self.ql.find(self.ctx, self.obj.name, fields=self.query_fields(),
                                  filters=self.filters or None, sort=sort or None,
                                  limit=limit, skip=skip, search=self.q or None,
                                  view=self.view, with_total=with_total)
        log.debug("list %s skip=%s sort=%s total=%s: %.1f ms", self.obj.name, skip, sort,
                  with_total, (time.perf_counter() - started) * 1000)
        return result

    def query_string(self, *, export: bool = False) -> str:
        params: dict[str, str] = {}
        if self.view:
            params["view"] = self.view
        if self.q:
            params["search" if export else "q"] = self.q
        if self.filters:
            params["filters"] = json.dumps(self.filters, separators=(",", ":"))
        if self.sort:
            params["sort"] = ",".join(("-" if d == "desc" else "") + p for p, d in self.sort)
        if export:
            params["fields"] = ",".join(c.path for c in self.columns)
        return urlencode(params)

    def users(self) -> list[tuple[str, str]]:
        records = self.ql.find(self.ctx, "user", fields=["name"], filters=[["active", "=", True]],
                               sort="name", limit=1000).records
        return [(r["id"], r["name"]) for r in records]

    def indexed(self) -> set[str]:
        """Fields the database can sort any number of rows by: they lead an index and
        have many distinct values. (A picklist has a handful, and ObjectQL breaks ties by
        id, so sorting by one sorts each huge group of equal values in memory.)"""
        table = self.ql.schema.table(self.obj.name)
        leading = {next(iter(ix.columns)).name for ix in table.indexes if ix.columns}
        return {"id"} | {n for n in leading if (fd := self.obj.field(n)) is not None
                         and fd.value_type not in ("select", "boolean")}

    def usable_views(self) -> dict[str, str]:
        """The object's list views (name → label) whose filters this user may apply: a
        view filtering on a field the role cannot read would only ever fail."""
        return {name: v.label or name.replace("_", " ").capitalize()
                for name, v in self.obj.list_views.items()
                if all(self.ql.allowed(self.ctx, "read", self.obj, p)
                       for p in _filter_paths(v.filters))}

    def may(self, action: str) -> bool:
        return self.ql.allowed(self.ctx, action, self.obj)


def _filter_paths(filters: Any) -> list[str]:
    if isinstance(filters, list) and len(filters) == 3 and isinstance(filters[0], str) \
            and isinstance(filters[1], str) and filters[0].lower() not in ("and", "or"):
        return [filters[0]]
    if isinstance(filters, list):
        return [p for item in filters for p in _filter_paths(item)]
    return []


def _sortable(state: ListState, path: str) -> bool:
    """A sort path from the URL names a field this user may read and sort by."""
    current: ObjectDef | None = state.obj
    parts = path.split(".") if isinstance(path, str) and path else [""]
    for i, part in enumerate(parts):
        fd = current.field(part) if current is not None else None
        if fd is None or not state.is_readable(current, fd):  # type: ignore[arg-type]
            return False
        if i == len(parts) - 1:
            return fieldtypes.of(fd).sortable
        target = fd.reference_to if fd.is_lookup else None
        current = state.ql.registry[target] if target and target in state.ql.registry \
            else None
    return False


def _column_prefs(ctx: Context) -> dict[str, list[str]]:
    prefs = nicegui_app.storage.user.get("list_columns")
    return prefs if isinstance(prefs, dict) else {}


def _parse_filters(raw: str | None, problems: list[str]) -> list[Any]:
    try:
        return parse_filters_param(raw)
    except ObjectQLError as exc:
        problems.append(f"The filters in the address were ignored: {exc.message}")
        return []


@ui.page("/o/{object_name}")
async def list_page(request: Request, object_name: str, view: str | None = None, q: str = "",
                    filters: str | None = None, sort: str | None = None
                    ) -> RedirectResponse | None:
    page = object_page(request, object_name, lambda: ui.label(
        "This list does not exist or you may not see it.").classes("text-slate-600").props(
        'data-testid="list-missing"'))
    if not isinstance(page, ObjectPage):
        return page
    ctx, obj = page.ctx, page.obj
    problems: list[str] = []
    try:
        sort_spec = parse_sort(sort) if sort else []
    except ObjectQLError as exc:
        sort_spec, problems = [], [f"The sort in the address was ignored: {exc.message}"]
    state = ListState(ctx, obj, view, q[:200], _parse_filters(filters, problems), sort_spec)
    unsortable = [p for p, _ in sort_spec if not _sortable(state, p)]
    if unsortable:
        state.sort = [(p, d) for p, d in sort_spec if p not in unsortable]
        problems.append(f"Cannot sort by {', '.join(repr(p) for p in unsortable)}: "
                        "no such column.")
    state.problems = problems
    views = state.usable_views()
    if state.view not in views:
        state.view = "all" if "all" in views else next(iter(views), None)
    with frame(ctx, obj.display_plural, active=obj.name):
        table = _list_body(state)
    # Usually the first page (and the header's notification count) is in the initial
    # HTML; a slow query must not hold the page (or hit the page timeout): after a moment
    # it is sent with the loading bar instead and the rows follow over the websocket.
    first_paint.start(table.reload(), name=f"list-{obj.name}")
    await first_paint.settle()
    return None


def _list_body(state: ListState) -> DataTable:
    obj, ql = state.obj, state.ql
    prefs_key = f"{state.ctx.user_id}:{obj.name}:{state.view}"
    options = state.column_options()
    default_paths = [c.path for c in state.view_columns()]
    chosen = [p for p in _column_prefs(state.ctx).get(prefs_key, default_paths) if p in options]
    state.columns = state.resolve(chosen or default_paths)
    users_cache: list[tuple[str, str]] = []

    def users() -> list[tuple[str, str]]:
        if not users_cache:
            users_cache.extend(state.users())
        return users_cache

    def sync_url() -> None:
        query = state.query_string()
        ui.navigate.history.replace(f"/o/{obj.name}" + (f"?{query}" if query else ""))

    def show_problem(text: str) -> None:
        # A label, not ui.notify: the first page loads in a background task that may run
        # before the browser is connected, where a notification has no client to go to.
        problem.text = text
        problem.visible = bool(text)

    async def fetch(skip: int, limit: int, sort: list[tuple[str, str]], with_total: bool
                    ) -> QueryResult:
        try:
            result = await run.io_bound(state.find, skip, limit, sort, with_total)
        except ObjectQLError as exc:
            if not (sort or state.filters):
                show_problem(f"This list could not be loaded: {exc.message}")
                return QueryResult([], 0)
            # The URL's sort or filters do not work for this user: show the view as
            # declared, and say what was left out.
            show_problem(f"Showing the list without your sort and filters: {exc.message}")
            state.filters, state.sort = [], []
            try:
                result = await run.io_bound(state.find, skip, limit, [], with_total)
            except ObjectQLError as again:
                show_problem(f"This list could not be loaded: {again.message}")
                return QueryResult([], 0)
        return result or QueryResult([], 0)  # None when the app shuts down

    # -- title row: object, view switcher, New ---------------------------------------------
    with ui.row().classes("w-full items-center gap-x-2 gap-y-1").props(
            'data-testid="page-header"'):
        ui.icon(obj.icon or "table_rows", size="1.5rem").classes("text-slate-400")
        ui.label(obj.display_plural).classes("text-xl font-semibold text-slate-900 "
                                             "dark:text-white")
        if state.usable_views():
            _view_switcher(obj, state.usable_views(), state.view)
        ui.space()
        if kanban_views(obj):  # the board is one Tab away, not only a typed URL
            ui.link("Board", f"/o/{obj.name}/kanban").classes(
                "px-3 py-1 rounded-md text-sm no-underline text-slate-700 dark:text-slate-200 "
                "border border-slate-200 dark:border-slate-700").props(
                'data-testid="view-board-link"')
        if state.may("create"):
            ui.button("New", icon="add").props(
                f'unelevated no-caps no-wrap color=primary href="/o/{obj.name}/new" '
                'data-testid="new-record"')

    # -- toolbar: search, filter, count, mass actions, columns, export --------------------
    with ui.row().classes("w-full items-center gap-x-2 gap-y-1").props(
            'data-testid="page-header"'):
        search = ui.input(placeholder=f"Search {obj.display_plural.lower()}", value=state.q
                          ).props('dense outlined clearable debounce=300 '
                                  'data-testid="list-search"').classes("w-64 max-sm:w-full")
        with search.add_slot("prepend"):
            ui.icon("search", size="1.1rem").classes("text-slate-400")
        filter_builder = FilterBuilder(ql.registry, obj,
                                       filter_fields(obj, ql.readable_fields(state.ctx, obj)),
                                       users, on_change=lambda f: filters_changed(f),
                                       conditions=state.filters)
        ui.space()
        mass = MassActions(ql, state.ctx, obj, selected=lambda: table.selected, users=users,
                           can_edit=state.may("edit"), can_delete=state.may("delete"),
                           on_done=lambda: table.reload())
        count = ui.label("").classes("text-sm text-slate-500 "
                                     "dark:text-slate-400 tabular-nums whitespace-nowrap"
                                     ).props('data-testid="list-count"')
        ColumnChooser(options, [c.path for c in state.columns], default_paths,
                      on_change=lambda paths: columns_changed(paths))
        with ui.button("Export", icon="download").props(
                'flat dense no-caps color=grey-8 data-testid="export-menu"').classes("px-2"):
            with ui.menu():
                ui.menu_item("CSV", on_click=lambda: export("csv")).props(
                    'data-testid="export-csv"')
                ui.menu_item("Excel (.xlsx)", on_click=lambda: export("xlsx")).props(
                    'data-testid="export-xlsx"')

    filter_builder.chips_row()
    problem = ui.label(" ".join(state.problems)).classes(
        "text-sm text-amber-800 bg-amber-50 dark:bg-amber-900 dark:text-amber-100 "
        "rounded px-3 py-2").props('data-testid="list-problem"')
    problem.visible = bool(state.problems)

    def show_count(total: int | None, capped: bool) -> None:
        count.text = count_text(total, capped, obj.label, obj.display_plural)

    def sort_changed(sort: list[tuple[str, str]]) -> None:
        state.sort = sort
        sync_url()

    table = DataTable(obj, state.columns, fetch, sort=state.sort or _view_sort(state),
                      page_size=int(nicegui_app.storage.user.get("page_size", 50)),
                      selectable=state.may("edit") or state.may("delete"),
                      indexed=state.indexed(),
                      empty_text=f"No {obj.display_plural.lower()} match this view",
                      on_selection=mass.show, on_count=show_count, on_sort=sort_changed)
    table.size_select.on_value_change(
        lambda e: nicegui_app.storage.user.update(page_size=e.value))

    async def filters_changed(conditions: list[Any]) -> None:
        state.filters = conditions
        sync_url()
        await table.reload()

    async def search_for(value: str | None) -> None:
        q = (value or "").strip()[:200]
        if q != state.q:
            state.q = q
            sync_url()
            await table.reload()

    async def columns_changed(paths: list[str]) -> None:
        state.columns = state.resolve(paths)
        prefs = dict(_column_prefs(state.ctx))
        prefs[prefs_key] = [c.path for c in state.columns]
        nicegui_app.storage.user["list_columns"] = prefs
        table.set_columns(state.columns)
        await table.reload(recount=False, first_page=False)

    def export(fmt: str) -> None:
        ui.download.from_url(f"/export/{obj.name}.{fmt}?{state.query_string(export=True)}")

    search.on_value_change(lambda e: search_for(e.value))
    # Enter searches at once, without waiting for the debounce.
    search.on("keydown.enter",
              lambda e: search_for(e.args if isinstance(e.args, str) else search.value),
              js_handler="(e) => emit(e.target.value)")
    return table


def _view_switcher(obj: ObjectDef, labels: dict[str, str], current: str | None) -> None:
    with ui.button(labels.get(current or "", "Views")).props(
            'flat dense no-caps color=grey-8 icon-right=expand_more '
            'data-testid="list-view-switcher"').classes(
            "px-2 text-base font-normal"):
        LazyMenu(lambda: _view_items(obj, labels, current)).classes("min-w-56")


def _view_items(obj: ObjectDef, labels: dict[str, str], current: str | None) -> None:
    for name, label in labels.items():
        with ui.menu_item(on_click=lambda n=name: ui.navigate.to(
                f"/o/{obj.name}?{urlencode({'view': n})}")).props(
                f'data-view="{name}"').classes("items-center gap-2"):
            ui.icon("check", size="1rem").classes(
                "text-indigo-600" if name == current else "invisible")
            ui.label(label)


def _view_sort(state: ListState) -> list[tuple[str, str]]:
    list_view = state.obj.list_views.get(state.view or "")
    return [tuple(s) for s in list_view.sort] if list_view else []  # type: ignore[misc]
