"""Which indexes an object needs, derived from its metadata, and how each backend spells them.

ObjectQL sorts ascending with empty values first and descending with them last, and
breaks ties by `id` (`app/objectql/compiler.py`). That is SQLite's native b-tree order;
on PostgreSQL every key column is declared `NULLS FIRST` so one index serves both
directions (a backward scan of `x ASC NULLS FIRST` is `x DESC NULLS LAST`) and the first
page of a list is read off the index instead of sorting the filtered set.

What gets an index (per object):
- every list view: (its equality filters, its sort fields); on `private` objects also
  prefixed by `owner`, because a rep's every query carries `owner = me`;
- every board: (filters, group, card date) covering the summed field, so columns count and
  sum from the index alone and each column's newest cards are the index's first entries;
- every lookup: (lookup, the child's default sort) — the related list on the parent page;
- `(owner, name field, id)`, unique fields, fields marked `index`, and `(field, id)` for
  fields marked `searchable`;
- every dashboard aggregate that joins (`group_by: [account.industry]`; its rollup answers
  it unless the caller's row rules hide some accounts, and then the records do): (owner,
  its equality filters, its date range, id) covering what it sums and the lookups it
  joins through, so the records' side is one index-only range scan.
An index whose columns start another's is dropped: the longer one serves it, and every
index costs each write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.metadata.models import ListView, ObjectDef

MAX_KEYS = 5
STAMP_LOOKUPS = ("owner", "created_by", "modified_by")


@dataclass(frozen=True)
class IndexSpec:
    """One b-tree index. `descending[i]` is relative to the first key (which is always
    ascending: a descending first sort key is served by scanning backwards)."""

    name: str
    keys: tuple[str, ...]
    descending: tuple[bool, ...]
    include: tuple[str, ...] = ()
    unique: bool = False

    def serves(self, other: IndexSpec) -> bool:
        """True if this index answers every query `other` answers (so other can go)."""
        n = len(other.keys)
        if self is other or other.unique or len(self.keys) < n:
            return False
        if self.keys[:n] != other.keys or self.descending[:n] != other.descending:
            return False
        return set(other.include) <= set(self.keys[n:]) | set(self.include)


def index_name(obj: str, keys: tuple[str, ...], descending: tuple[bool, ...],
               include: tuple[str, ...], unique: bool = False) -> str:
    parts = [f"{k}_desc" if d else k for k, d in zip(keys, descending, strict=True)]
    name = f"{'ux' if unique else 'ix'}_{obj}_{'_'.join(parts)}"
    if include:
        name += f"__{'_'.join(include)}"
    if len(name) > 63:  # PostgreSQL's limit; keep names distinct when cut
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = f"{name[:54]}_{digest}"
    return name


def default_sort(obj: ObjectDef) -> list[tuple[str, str]]:
    """The order of the object's related lists: its first list view with a sort, else
    newest first (the same rule as `components/related_list.py`)."""
    for view in obj.list_views.values():
        if view.sort:
            return [(name, direction) for name, direction in view.sort]
    return [("created_at", "desc")]


def board_date_field(obj: ObjectDef, view: ListView) -> str:
    """The date a board's cards are sorted by, newest first: the first date column of
    the view, else created_at (the same rule as `components/kanban_logic.py`)."""
    for column in view.columns:
        fd = obj.field(column)
        if fd is not None and fd.value_type == "date":
            return column
    return "created_at"


def equality_fields(obj: ObjectDef, filters: list[Any]) -> list[str]:
    """Fields a view's top-level filters pin to one value (`=` on a non-date field)."""
    names = []
    for item in filters:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)):
            continue
        fd = obj.field(item[0])
        if item[1] == "=" and item[2] is not None and fd is not None \
                and fd.value_type not in ("date", "datetime", "json", "multiselect"):
            names.append(item[0])
    return list(dict.fromkeys(names))


def _sort_keys(sort: Iterable[tuple[str, str]]) -> list[tuple[str, bool]]:
    """Plain-column prefix of a sort plus ObjectQL's tie-break (id, in the direction of the
    last sort key), with directions relative to the first key. With the tie-break in the
    index a page reads exactly its rows, not the whole first group of equal dates."""
    sort = list(sort)
    keys: list[tuple[str, bool]] = []
    first = sort[0][1] if sort else "asc"
    for name, direction in sort:
        if "." in name:
            return keys  # a dotted path lives in another table: the index stops here
        keys.append((name, direction != first))
    last = sort[-1][1] if sort else "asc"
    return [*keys, ("id", last != first)] if keys else keys


class _Collector:
    def __init__(self, obj: ObjectDef):
        self.obj = obj
        self.specs: dict[tuple[Any, ...], IndexSpec] = {}

    def add(self, keys: list[tuple[str, bool]], include: Iterable[str] = (),
            unique: bool = False) -> None:
        seen: dict[str, bool] = {}
        for name, desc in keys:
            if name not in seen and name in self.obj.all_fields \
                    and (name != "id" or seen):  # id alone is the primary key
                seen[name] = desc
        if not seen:
            return
        names = tuple(seen)[:MAX_KEYS]
        flags = tuple(seen[n] for n in names)
        if flags[0]:  # normalise: the first key ascending, the rest relative to it
            flags = tuple(not f for f in flags)
        extra = tuple(n for n in dict.fromkeys(include)
                      if n not in names and n in self.obj.all_fields)
        name = index_name(self.obj.name, names, flags, extra, unique)
        self.specs.setdefault((names, flags, extra, unique),
                              IndexSpec(name, names, flags, extra, unique))


def dashboard_queries(registry: Any, object_name: str) -> list[Any]:
    """The dashboards' aggregate queries on `object_name` that group through a lookup."""
    found = []
    for dashboard in getattr(registry, "dashboards", {}).values():
        for widget in dashboard.widgets:
            for query in [widget.query, *(m.query for m in widget.merge)]:
                if query.object == object_name and query.is_aggregate \
                        and any("." in g for g in query.group_by):
                    found.append(query)
    return found


def _dashboard_index(c: _Collector, query: Any) -> None:
    obj = c.obj
    eq, ranged, covered = [], [], []
    for item in query.filters:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)):
            continue
        name, op = item[0], item[1]
        fd = obj.field(name)
        if fd is None or name == "owner":
            continue
        if fd.value_type in ("date", "datetime"):
            ranged.append(name)
        elif op == "=":
            eq.append(name)
    for path in [*query.group_by, *(spec[1] for spec in query.aggregate.values())]:
        first = path.split(":")[0].split(".")[0]
        if first in obj.all_fields and first != "id":
            covered.append(first)
    keys = [*(["owner"] if "owner" in obj.all_fields else []), *eq, *ranged[:1], "id"]
    c.add([(k, False) for k in keys], covered)


def index_specs(obj: ObjectDef, dashboard: Iterable[Any] = ()) -> list[IndexSpec]:
    c = _Collector(obj)
    private = obj.sharing_model == "private"
    for fd in obj.all_fields.values():
        if fd.name == "id":
            continue
        if fd.unique is True:
            c.add([(fd.name, False)], unique=True)
        elif fd.is_lookup and fd.name not in STAMP_LOOKUPS:
            c.add([(fd.name, False), *_sort_keys(default_sort(obj))])
        elif fd.searchable:
            # With the tie-break: a page sorted by it (a column header clicked during a
            # quick search, read from app/storage/search_values.py's window) walks just
            # its rows instead of sorting a whole group of equal subjects by id.
            c.add([(fd.name, False), ("id", False)])
        elif fd.index or fd.is_lookup:
            c.add([(fd.name, False)])
    # With the tie-break: a rep's page sorted by the name field (a subject clicked during
    # a quick search) walks just its rows instead of sorting every row of one subject.
    c.add([("owner", False), (obj.name_field, False), ("id", False)])
    for view in obj.list_views.values():
        eq = [(name, False) for name in equality_fields(obj, view.filters)]
        sort = _sort_keys(view.sort)
        c.add([*eq, *sort])
        if private:
            c.add([("owner", False), *eq, *sort])
        if view.kanban:
            group = (view.kanban.group_by, False)
            cards = [(board_date_field(obj, view), False), ("id", False)]  # newest first
            summed = [view.kanban.sum] if view.kanban.sum else []
            # Managers see their team's records (owner IN team): covering owner too keeps
            # their board totals index-only.
            c.add([*eq, group, *cards], [*summed, *(["owner"] if private else [])])
            if private:
                c.add([("owner", False), *eq, group, *cards], summed)
    for query in dashboard:
        _dashboard_index(c, query)
    specs = list(c.specs.values())
    return [s for s in specs if not any(o.serves(s) for o in specs)]
