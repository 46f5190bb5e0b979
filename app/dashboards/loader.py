"""Load and check `metadata/dashboards/*.dashboard.yml` against the object metadata.

Called by the one metadata loader (`load_registry`), so `hotcrm check-metadata` reports a
dashboard's problems with the file, line, widget and field next to the objects' ones.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app import fieldtypes
from app.dashboards.models import DashboardDef, QueryDef, WidgetDef
from app.expressions import ExpressionError, compile_expression
from app.metadata.models import FieldDef, ObjectDef
from app.objectql.buckets import BUCKETS
from app.objectql.query import AGG_FUNCTIONS

if TYPE_CHECKING:
    from app.metadata.loader import ProblemCollector

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
# Placeholders every dashboard knows, besides its own filters ($<filter name>).
BUILTIN_PLACEHOLDERS = ("$user", "$today", "$period", "$previous_period")
TRAILING = re.compile(r"^\$last_n_months:(\d{1,3})$")


class _Checker:
    def __init__(self, dashboard: DashboardDef, objects: dict[str, ObjectDef],
                 collector: ProblemCollector, key: str):
        self.d = dashboard
        self.objects = objects
        self.collector = collector
        self.key = key

    def problem(self, path: tuple[Any, ...], message: str, *, widget: str | None = None,
                field: str | None = None) -> None:
        from app.metadata.loader import MetadataProblem

        source = self.collector.sources.get(self.key)
        line = source.line(path) if source else None
        where = f"{self.d.name}.{widget}" if widget else self.d.name
        self.collector.problems.append(MetadataProblem(
            self.d.source_file or "?", line, where, field, message))

    # -- paths ---------------------------------------------------------------------------
    def resolve(self, obj: ObjectDef, path: str) -> tuple[ObjectDef, FieldDef, set[str]] | str:
        """(object holding the field, field, objects passed) or a message."""
        name, _, unit = path.partition(":")
        current, passed = obj, {obj.name}
        parts = name.split(".")
        for i, part in enumerate(parts):
            fd = current.field(part)
            if fd is None:
                return f"unknown field '{part}' on {current.name}"
            if i == len(parts) - 1:
                if unit and unit not in BUCKETS:
                    return f"unknown date bucket '{unit}'; expected one of {', '.join(BUCKETS)}"
                if unit and not fieldtypes.of(fd).temporal:
                    return f"date buckets need a date field, '{name}' is {fd.value_type}"
                return current, fd, passed
            if fd.reference_to in self.collector.broken:
                return current, fd, passed  # reported with its own file
            if not fd.reference_to or fd.reference_to not in self.objects:
                return f"'{part}' on {current.name} is not a lookup"
            current = self.objects[fd.reference_to]
            passed.add(current.name)
        return f"bad field path '{path}'"  # pragma: no cover

    def filters(self, obj: ObjectDef, items: Any, base: tuple[Any, ...], widget: str,
                reads: set[str]) -> None:
        if not isinstance(items, list):
            self.problem(base, "filters must be a list", widget=widget)
            return
        if len(items) == 3 and isinstance(items[0], str) and isinstance(items[1], str) \
                and items[0].lower() not in ("and", "or"):
            found = self.resolve(obj, items[0])
            if isinstance(found, str):
                self.problem((*base, 0), found, widget=widget, field=items[0])
            else:
                reads.update(found[2])
            self.placeholder(items[2], base, widget, items[0])
            return
        for i, item in enumerate(items):
            if isinstance(item, str) and item.lower() in ("and", "or"):
                continue
            self.filters(obj, item, (*base, i), widget, reads)

    def placeholder(self, value: Any, path: tuple[Any, ...], widget: str, field: str) -> None:
        values = value if isinstance(value, list) else [value]
        for v in values:
            if not isinstance(v, str) or not v.startswith("$") or v in BUILTIN_PLACEHOLDERS \
                    or TRAILING.match(v) or self.d.filter(v[1:]) is not None:
                continue
            self.problem(path, f"unknown placeholder '{v}': expected a dashboard filter "
                         f"or one of {', '.join(BUILTIN_PLACEHOLDERS)}, $last_n_months:N",
                         widget=widget, field=field)

    # -- queries -------------------------------------------------------------------------
    def query(self, q: QueryDef, base: tuple[Any, ...], widget: str, reads: set[str]
              ) -> list[str] | None:
        """Check one query; return the names of its result columns (None if unknown)."""
        obj = self.objects.get(q.object)
        if obj is None and q.object in self.collector.broken:
            return None  # its file is already reported: no echoes
        if obj is None:
            self.problem((*base, "object"), f"unknown object '{q.object}'", widget=widget)
            return None
        reads.add(obj.name)
        self.filters(obj, q.filters, (*base, "filters"), widget, reads)
        columns: list[str] = []
        for i, path in enumerate(q.group_by):
            found = self.resolve(obj, path)
            if isinstance(found, str):
                self.problem((*base, "group_by", i), found, widget=widget, field=path)
            else:
                reads.update(found[2])
            columns.append(path)
        for alias, spec in q.aggregate.items():
            where = (*base, "aggregate", alias)
            if len(spec) != 2 or spec[0] not in AGG_FUNCTIONS:
                self.problem(where, f"aggregate '{alias}' must be [function, field] with a "
                             f"function of {', '.join(AGG_FUNCTIONS)}", widget=widget)
                continue
            fn, path = spec
            if fn == "count" and path in ("id", "*"):
                columns.append(alias)
                continue
            columns.append(alias)  # even when broken: no echoes in chart/value checks
            found = self.resolve(obj, path)
            if isinstance(found, str):
                self.problem(where, found, widget=widget, field=path)
                continue
            reads.update(found[2])
            kind, field_type = found[1].value_type, fieldtypes.of(found[1])
            if (fn == "sum" and not field_type.numeric) or \
                    (fn == "avg" and not (field_type.numeric or field_type.temporal)):
                self.problem(where, f"cannot {fn} '{path}' ({kind})", widget=widget, field=path)
        for i, path in enumerate(q.fields):
            found = self.resolve(obj, path)
            if isinstance(found, str):
                self.problem((*base, "fields", i), found, widget=widget, field=path)
            else:
                reads.update(found[2])
            columns.append(path)
        if q.is_aggregate and q.fields:
            self.problem((*base, "fields"), "a query has either fields or "
                         "group_by/aggregate", widget=widget)
        for i, item in enumerate(q.sort):
            name = item[0] if isinstance(item, list) and item else item
            if isinstance(name, str) and name.lstrip("-") not in columns:
                found = self.resolve(obj, name.lstrip("-"))
                if q.is_aggregate or isinstance(found, str):
                    self.problem((*base, "sort", i), f"cannot sort by '{name}'",
                                 widget=widget, field=name)
        if q.pivot is not None:
            return self._pivot(obj, q, base, widget, columns)
        return columns

    def _pivot(self, obj: ObjectDef, q: QueryDef, base: tuple[Any, ...], widget: str,
               columns: list[str]) -> list[str] | None:
        if q.pivot not in q.group_by:
            self.problem((*base, "pivot"), f"pivot '{q.pivot}' must be one of group_by",
                         widget=widget, field=q.pivot)
            return None
        found = self.resolve(obj, q.pivot or "")
        if isinstance(found, str) or not found[1].options:
            return None  # values only known at run time: names are not checked
        keep = [c for c in columns if c != q.pivot and c not in q.aggregate]
        return keep + [f"{o.value}_{a}" for o in found[1].options for a in q.aggregate]

    # -- widgets -------------------------------------------------------------------------
    def widget(self, i: int, w: WidgetDef) -> None:
        base: tuple[Any, ...] = ("widgets", i)
        reads: set[str] = set()
        columns = self.query(w.query, (*base, "query"), w.name, reads)
        for j, merge in enumerate(w.merge):
            more = self.query(merge.query, (*base, "merge", j, "query"), w.name, reads)
            if columns is not None:
                columns = None if more is None else columns + more
        known = set(columns) if columns is not None else None
        for name, source in w.compute.items():
            try:
                w._compute[name] = compile_expression(source, known)
            except ExpressionError as exc:
                self.problem((*base, "compute", name), f"bad expression: {exc}",
                             widget=w.name, field=name)
            if known is not None:
                known.add(name)
        names_to_check: list[tuple[tuple[Any, ...], str]] = []
        if w.value:
            names_to_check.append(((*base, "value"), w.value))
        if w.kind == "kpi" and not (w.value or w.query.aggregate):
            self.problem(base, "a kpi needs an aggregate (or a value)", widget=w.name)
        if w.trend and (w.kind != "kpi" or w.query.period_field is None):
            self.problem((*base, "trend"), "a trend is a kpi's, and needs a "
                         "[date field, \"=\", $period] condition", widget=w.name)
        if w.kind == "chart":
            if w.chart is None:
                self.problem(base, "a chart widget needs chart: {type, x, y}", widget=w.name)
            else:
                names_to_check.append(((*base, "chart", "x"), w.chart.x))
                names_to_check += [((*base, "chart", "y"), y) for y in w.chart.y_list]
                if w.chart.series:
                    names_to_check.append(((*base, "chart", "series"), w.chart.series))
        if w.kind in ("table", "list") and not w.query.is_aggregate and not w.query.fields:
            self.problem((*base, "query"), f"a {w.kind} needs fields", widget=w.name)
        for j, column in enumerate(w.columns):
            names_to_check.append(((*base, "columns", j, "field"), column.field))
        if known is not None:
            for path, name in names_to_check:
                if name not in known:
                    self.problem(path, f"'{name}' is not a column of the widget's result "
                                 f"({', '.join(sorted(known))})", widget=w.name, field=name)
        if w.drill is not None:
            target = w.drill.object or w.query.object
            obj = self.objects.get(target)
            if obj is None:
                self.problem((*base, "drill", "object"), f"unknown object '{target}'",
                             widget=w.name)
            elif w.drill.view and w.drill.view not in obj.list_views:
                self.problem((*base, "drill", "view"), f"unknown list view '{w.drill.view}' "
                             f"on {target}", widget=w.name)
        self.d._reads[w.name] = tuple(sorted(reads))

    def run(self) -> None:
        seen: set[str] = set()
        for i, f in enumerate(self.d.filters):
            if f.type == "select" and not f.options and f.object not in self.collector.broken:
                obj = self.objects.get(f.object or "")
                fd = obj.field(f.field or "") if obj else None
                if fd is None or not fd.options:
                    self.problem(("filters", i), f"select filter '{f.name}' needs options or "
                                 "an object and a picklist field")
        for i, w in enumerate(self.d.widgets):
            if not SNAKE.match(w.name):
                self.problem(("widgets", i, "name"), "widget names must be lower snake_case",
                             widget=w.name)
            if w.name in seen:
                self.problem(("widgets", i, "name"), f"duplicate widget '{w.name}'",
                             widget=w.name)
            seen.add(w.name)
            if w.position.x + w.position.w > 12:
                self.problem(("widgets", i, "position"), "x + w must fit the 12-column grid",
                             widget=w.name)
            self.widget(i, w)


def load_dashboards(directory: Path, objects: dict[str, ObjectDef],
                    collector: ProblemCollector, overlay: dict[str, str] | None = None
                    ) -> dict[str, DashboardDef]:
    """Every dashboard file under `directory`, with `overlay`'s YAML texts (the studio's
    versions, by dashboard name) in place of the files of the same name."""
    from app.metadata.loader import MetadataProblem, _pydantic_message, _read_yaml

    result: dict[str, DashboardDef] = {}
    folder = directory / "dashboards"
    overlay = overlay or {}
    paths = {p.name: p for p in (sorted(folder.glob("*.dashboard.yml"))
                                 if folder.is_dir() else [])}
    paths.update({f"{name}.dashboard.yml": folder / f"{name}.dashboard.yml"
                  for name in overlay})
    for _file_name, path in sorted(paths.items()):
        stem = path.name.removesuffix(".dashboard.yml")
        key = f"dashboard:{stem}"
        data = _read_yaml(overlay.get(stem, path), str(path), key, collector)
        if data is None:
            continue
        try:
            dashboard = DashboardDef.model_validate(data)
        except ValidationError as exc:
            source = collector.sources.get(key)
            for err in exc.errors():
                loc = tuple(err["loc"])
                widget = None
                if len(loc) >= 2 and loc[0] == "widgets" and isinstance(loc[1], int):
                    widgets = data.get("widgets") or []
                    if loc[1] < len(widgets) and isinstance(widgets[loc[1]], dict):
                        widget = widgets[loc[1]].get("name")
                collector.problems.append(MetadataProblem(
                    str(path), source.line(loc) if source else None,
                    f"{stem}.{widget}" if widget else stem, None, _pydantic_message(err)))
            continue
        dashboard.source_file = str(path)
        checker = _Checker(dashboard, objects, collector, key)
        if dashboard.name != stem:
            checker.problem(("name",), f"dashboard name '{dashboard.name}' does not match "
                            f"file name '{path.name}'")
        checker.run()
        result[dashboard.name] = dashboard
    return result
