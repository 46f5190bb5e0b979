"""Global search: the type-ahead box in the header and the queries behind it.

Type-ahead matches the *beginning* of the text fields an object marks searchable (name,
account number, first/last name, subject ...) with index range conditions
(`name >= 'Acm' and name < 'Acn'`) for the usual spellings of the term, so it stays
within a few milliseconds on 100k+ rows. The results page (`/search?q=`) uses ObjectQL's
full `search` (substring over every searchable field), which scans and is slower.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from nicegui import app as nicegui_app
from nicegui import run, ui

from app import runtime
from app.metadata.models import FieldDef, ObjectDef
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from components.field_format import format_value

PER_OBJECT = 5
MAX_TERM = 100


@dataclass
class Hit:
    title: str
    subtitle: str
    href: str


@dataclass
class Group:
    obj: ObjectDef
    hits: list[Hit] = field(default_factory=list)
    more: bool = False


def searchable_objects(ctx: Context) -> list[ObjectDef]:
    return [obj for obj in runtime.services().ql.readable_objects(ctx)
            if obj.features.searchable]


def _readable(ctx: Context, obj: ObjectDef, fd: FieldDef | None) -> bool:
    return fd is not None and runtime.services().ql.allowed(ctx, "read", obj, fd.name)


def display_fields(ctx: Context, obj: ObjectDef) -> tuple[list[str], str | None]:
    """(title fields, secondary path) of a search hit: name (first + last for people) and
    the first other column of the object's main list view."""
    ql = runtime.services().ql
    title = [n for n in ("first_name", obj.name_field) if _readable(ctx, obj, obj.field(n))]
    title = list(dict.fromkeys(title)) if "first_name" in title else [obj.name_field]
    views = list(obj.list_views.values())
    for path in (views[0].columns if views else []):
        if path in (obj.name_field, "first_name", "last_name"):
            continue
        fd = obj.field(path.split(".")[0])
        if fd is None or not ql.allowed(ctx, "read", obj, path):
            continue
        target = fd.reference_to
        if fd.is_lookup and "." not in path and target and target in ql.registry:
            path = f"{path}.{ql.registry[target].name_field}"
        return title, path
    return title, None


def _leaf(obj: ObjectDef, path: str) -> FieldDef | None:
    ql = runtime.services().ql
    current: ObjectDef = obj
    fd = None
    for part in path.split("."):
        fd = current.field(part)
        if fd is None:
            return None
        if fd.reference_to and fd.reference_to in ql.registry:
            current = ql.registry[fd.reference_to]
    return fd


def _spellings(term: str) -> list[str]:
    return list(dict.fromkeys([term, term.lower(), term[:1].upper() + term[1:], term.title(),
                               term.upper()]))


def _range(path: str, spelling: str) -> list[Any]:
    upper = spelling[:-1] + chr(ord(spelling[-1]) + 1)
    return [[path, ">=", spelling], [path, "<", upper]]


def prefix_queries(ctx: Context, obj: ObjectDef, term: str) -> list[tuple[list[Any], str]]:
    """(filters, sort field) per searchable text field and spelling of `term`.

    Each is one range on one index, sorted by that field, so the database walks the
    index in order and stops after a handful of rows, however many records match.
    """
    fields = [f for f in obj.searchable_fields if f.value_type in ("text", "autonumber")
              and _readable(ctx, obj, f) and len(term) <= (f.max_length or 255)]
    queries = [(_range(fd.name, spelling), fd.name) for fd in fields
               for spelling in _spellings(term)]
    words = term.split()
    first, last = obj.field("first_name"), obj.field("last_name")
    if len(words) == 2 and fd_ok(ctx, obj, first) and fd_ok(ctx, obj, last):
        for a, b in dict.fromkeys([(words[0], words[1]),
                                   (words[0].capitalize(), words[1].capitalize())]):
            queries.append(([*_range("first_name", a), *_range("last_name", b)], "last_name"))
    return queries


def fd_ok(ctx: Context, obj: ObjectDef, fd: FieldDef | None) -> bool:
    return fd is not None and fd.searchable and _readable(ctx, obj, fd)


def _hits(ctx: Context, obj: ObjectDef, records: list[dict[str, Any]]) -> list[Hit]:
    title_fields, secondary = display_fields(ctx, obj)
    secondary_fd = _leaf(obj, secondary) if secondary else None
    hits = []
    for record in records:
        title = " ".join(str(record.get(n) or "") for n in title_fields).strip() or "(no name)"
        subtitle = format_value(secondary_fd, record.get(secondary)) \
            if secondary and secondary_fd else ""
        hits.append(Hit(title, subtitle, f"/o/{obj.name}/{record['id']}"))
    return hits


def search_object(ctx: Context, obj: ObjectDef, term: str, *, limit: int = PER_OBJECT,
                  prefix: bool = True) -> Group:
    """One object's hits: prefix matching (type-ahead) or ObjectQL substring search."""
    ql = runtime.services().ql
    term = term.strip()[:MAX_TERM]
    group = Group(obj)
    title_fields, secondary = display_fields(ctx, obj)
    fields = [*title_fields, *([secondary] if secondary else [])]
    try:
        with ql.replica_reads(ctx):  # search may be served by the read replica
            if prefix:
                found: dict[str, dict[str, Any]] = {}
                for filters, sort in prefix_queries(ctx, obj, term):
                    for record in ql.find(ctx, obj.name, fields=title_fields, filters=filters,
                                          sort=[(sort, "asc")], limit=limit + 1).records:
                        found.setdefault(record["id"], record)
                ranked = sorted(found.values(), key=lambda r: " ".join(
                    str(r.get(n) or "") for n in reversed(title_fields)).casefold())
                records = ranked[:limit + 1]
                if secondary and records:  # one join for the few hits, not one per query
                    extra = {r["id"]: r for r in ql.find(
                        ctx, obj.name, fields=[secondary],
                        filters=[["id", "in", [r["id"] for r in records]]],
                        limit=limit + 1).records}
                    records = [{**r, **extra.get(r["id"], {})} for r in records]
            else:
                # Newest first (ids are time-ordered): the database can stop after the
                # first few matches instead of sorting every match by title.
                records = ql.find(ctx, obj.name, fields=fields, search=term,
                                  sort=[("id", "desc")], limit=limit + 1).records
    except ObjectQLError:
        return group
    group.more = len(records) > limit
    group.hits = _hits(ctx, obj, records[:limit])
    return group


def typeahead(ctx: Context, term: str) -> list[Group]:
    if not term.strip():
        return []
    groups = [search_object(ctx, obj, term) for obj in searchable_objects(ctx)]
    return [g for g in groups if g.hits]


class GlobalSearch:
    """The header box: debounced type-ahead, grouped results, arrows + Enter."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.hits: list[Hit] = []
        self.items: list[ui.link] = []
        self.index = -1
        self.generation = 0
        self._quiet = False
        with ui.element("div").classes("relative ml-4"):
            # The combobox pattern: the input owns the suggestion list and points at the
            # highlighted option (aria-activedescendant), so focus stays in the box.
            self.box = ui.input(placeholder="Search").props(
                'dense borderless clearable type=search debounce=200 autocomplete=off '
                'aria-label="Search" role=combobox aria-autocomplete=list '
                'aria-controls="global-search-list" aria-expanded=false '
                'data-testid="global-search"').classes(
                "w-80 max-sm:w-40 bg-slate-100 dark:bg-slate-800 rounded-lg px-2")
            with self.box.add_slot("prepend"):
                ui.icon("search", size="1.1rem").classes("text-slate-400")
            self.panel = ui.element("div").classes(
                "absolute left-0 top-full mt-1 w-[30rem] max-w-[90vw] z-50 rounded-lg border "
                "border-slate-200 dark:border-slate-700 bg-[#fff] dark:bg-slate-900 shadow-lg "
                "py-1 max-h-[70vh] overflow-auto").props(
                'data-testid="global-search-results"')
            # Clicking a result must not blur the box first (which would close the panel).
            self.panel.on("mousedown", js_handler="(e) => e.preventDefault()")
        self.panel.visible = False
        self.box.on_value_change(lambda e: None if self._quiet else self.search(e.value))
        value_js = "(e) => emit(e.target.value)"
        self.box.on("keydown.enter", self.enter, js_handler=value_js)
        self.box.on("keydown.down.prevent", lambda: self.move(1))
        self.box.on("keydown.up.prevent", lambda: self.move(-1))
        self.box.on("keydown.esc", self.close)
        self.box.on("blur", self.close)
        self.box.on("focus", lambda: self._show(bool(self.hits)))

    def prefill(self, value: str) -> None:
        """Show `value` in the box without searching (the results page's own query)."""
        self._quiet = True
        try:
            self.box.value = value
        finally:
            self._quiet = False

    def _show(self, on: bool) -> None:
        self.panel.visible = on
        self.box.props(f"aria-expanded={'true' if on else 'false'}")
        if not on:
            self.box.props(remove="aria-activedescendant")

    def close(self) -> None:
        self._show(False)

    async def search(self, value: str | None) -> None:
        term = (value or "").strip()[:MAX_TERM]
        self.generation += 1
        generation = self.generation
        if not term:
            self._render([], term)
            return
        groups = await run.io_bound(typeahead, self.ctx, term)
        if generation == self.generation and groups is not None:
            self._render(groups, term)

    def _render(self, groups: list[Group], term: str) -> None:
        self.panel.clear()
        self.hits, self.items, self.index = [], [], -1
        if not term:
            self._show(False)
            return
        with self.panel:
            if not groups:
                ui.label(f"No matches for “{term}”").classes("px-3 py-2 text-sm text-slate-500 "
                                                             "dark:text-slate-400")
            with ui.element("div").props('id="global-search-list" role=listbox '
                                         'aria-label="Suggestions"'):
                for group in groups:
                    with ui.element("div").props("role=group") as box:
                        box.props["aria-label"] = group.obj.display_plural
                        ui.label(group.obj.display_plural).classes(
                            "px-3 pt-2 pb-0.5 text-[11px] uppercase tracking-wide "
                            "text-slate-500 dark:text-slate-400").props('aria-hidden="true"')
                        for hit in group.hits:
                            self._item(hit, group.obj)
            with ui.link(target=f"/search?q={quote(term)}").classes(
                    "flex items-center gap-2 px-3 py-2 mt-1 border-t border-slate-100 "
                    "dark:border-slate-800 text-sm text-indigo-700 dark:text-indigo-300 "
                    "no-underline hover:bg-slate-50 dark:hover:bg-slate-800").props(
                    'data-testid="global-search-all"'):
                ui.icon("search", size="1rem")
                ui.label(f"All results for “{term}”")
        self._show(True)

    def _item(self, hit: Hit, obj: ObjectDef) -> None:
        with ui.link(target=hit.href).classes(
                "flex items-center gap-3 px-3 py-1.5 no-underline text-inherit "
                "hover:bg-slate-50 dark:hover:bg-slate-800").props(
                'data-testid="global-search-item" role=option tabindex=-1') as item:
            ui.icon(obj.icon or "table_rows", size="1.1rem").classes("text-slate-400")
            with ui.column().classes("gap-0 min-w-0"):
                ui.label(hit.title).classes("text-sm text-slate-800 dark:text-slate-100 "
                                            "truncate")
                if hit.subtitle:
                    ui.label(hit.subtitle).classes("text-xs text-slate-500 "
                                                   "dark:text-slate-400 truncate")
        self.hits.append(hit)
        self.items.append(item)

    def move(self, step: int) -> None:
        if not self.items:
            return
        if self.index >= 0:
            self.items[self.index].classes(remove="bg-indigo-50 dark:bg-slate-800")
            self.items[self.index].props(remove="aria-selected")
        self.index = (self.index + step) % len(self.items)
        self.items[self.index].classes(add="bg-indigo-50 dark:bg-slate-800")
        self.items[self.index].props("aria-selected=true")
        self.box.props(f'aria-activedescendant="c{self.items[self.index].id}"')
        ui.run_javascript(f"getHtmlElement({self.items[self.index].id})"
                          ".scrollIntoView({block: 'nearest'})")
        self._show(True)

    def enter(self, e: Any) -> None:
        value = e.args if isinstance(e.args, str) else (self.box.value or "")
        if 0 <= self.index < len(self.hits) and self.panel.visible:
            ui.navigate.to(self.hits[self.index].href)
            return
        term = value.strip()
        if term:
            ui.navigate.to(f"/search?q={quote(term)}")


def global_search(ctx: Context) -> GlobalSearch:
    box = GlobalSearch(ctx)
    nicegui_app.storage.client["global_search"] = box  # per connection: pages may prefill it
    return box


def current_global_search() -> GlobalSearch | None:
    box = nicegui_app.storage.client.get("global_search")
    return box if isinstance(box, GlobalSearch) else None
