"""Load `*.object.yml` files into an immutable Registry, or report every problem.

Each problem names the file, the line, the object, the field and the reason. A
broken directory raises MetadataError and never yields a half-built registry.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app.expressions import ExpressionError, compile_expression
from app.metadata.models import FORMULA_FORMATS, SYSTEM_FIELD_NAMES, ObjectDef
from app.metadata.permissions import PermissionSet
from app.metadata.registry import Registry
from app.metadata.system_objects import ROLES, system_objects
from app.metadata.validate import check_objects, finalize_object

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class MetadataProblem:
    file: str
    line: int | None
    object: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = ".".join(p for p in (self.object, self.field) if p)
        return f"{where}: {what + ': ' if what else ''}{self.message}"


class MetadataError(Exception):
    def __init__(self, problems: list[MetadataProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _SourceMap:
    """Line numbers of every key and item of one YAML document."""

    def __init__(self, file: str, parsed: _SourceMap | None = None):
        """`parsed`: the map of the same text walked before (read-only, shared)."""
        self.file = file
        self.lines: dict[Path_, int] = parsed.lines if parsed else {}
        self.duplicates: list[tuple[Path_, int]] = parsed.duplicates if parsed else []

    def walk(self, node: yaml.Node, path: Path_ = ()) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    self.duplicates.append(((*path, key), key_node.start_mark.line + 1))
                seen.add(key)
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                self.walk(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, (*path, i))

    def line(self, path: Path_) -> int | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


class ProblemCollector:
    """Accumulates problems against one file's source map."""

    def __init__(self) -> None:
        self.problems: list[MetadataProblem] = []
        self.sources: dict[str, _SourceMap] = {}
        # Objects whose file failed to load: references to them are not reported again.
        self.broken: set[str] = set()

    def add(self, obj: str | None, path: Path_, message: str, *, field: str | None = None,
            file: str | None = None) -> None:
        source = self.sources.get(obj or "") if file is None else None
        file_name = file or (source.file if source else "?")
        line = source.line(path) if source else None
        if field is None and len(path) >= 2 and path[0] == "fields":
            field = str(path[1])
        if obj and obj.startswith("permissions:"):
            obj = None
        self.problems.append(MetadataProblem(file_name, line, obj, field or None, message))


def _pydantic_message(err: Any) -> str:
    loc = err["loc"]
    if err["type"] == "extra_forbidden":
        return f"unknown key '{loc[-1]}'"
    if err["type"] == "literal_error" and loc and loc[-1] == "type":
        return f"unknown field type {err['input']!r}; expected one of {err['ctx']['expected']}"
    if err["type"] == "missing":
        return f"missing required key '{loc[-1]}'"
    return f"{'.'.join(str(p) for p in loc)}: {err['msg']}"


_FAST_LOADER = getattr(yaml, "CSafeLoader", None)
_PARSED: dict[str, tuple[_SourceMap | None, Any]] = {}


def _parse_text(text: str) -> tuple[_SourceMap | None, Any]:
    """(line numbers, data) of one YAML text; None for the line numbers of an empty text.
    libyaml when present (the studio loads every file on each change: the pure-Python
    parser took seconds), remembered per text (the shipped files do not change while a
    process runs). Only the walked line numbers are kept, not libyaml's node tree: it
    was ~2,000 objects per text for the garbage collector to walk, kept for every
    version's text, and walking it again cost a fifth of each load. A text that fails
    to parse is parsed again by the pure-Python loader, so error messages are the same
    everywhere."""
    found = _PARSED.get(text)
    if found is None:
        try:
            loader = _FAST_LOADER or yaml.SafeLoader
            node, data = yaml.compose(text, Loader=loader), yaml.load(text, Loader=loader)
        except yaml.YAMLError:
            node, data = yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text)
        source = None
        if node is not None:
            source = _SourceMap("")
            source.walk(node)
        found = (source, data)
        if len(_PARSED) > 256:
            _PARSED.clear()
        _PARSED[text] = found
    return found[0], copy.deepcopy(found[1])


def _read_yaml(path: Path | str, display: str, key: str, collector: ProblemCollector
               ) -> dict[str, Any] | None:
    """Parse one file (or, given a str, one document's YAML text), remembering line
    numbers under `key`; None when unreadable."""
    try:
        text = path if isinstance(path, str) else path.read_text(encoding="utf-8")
        parsed, data = _parse_text(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        reason = getattr(exc, "problem", None) or str(exc)
        collector.problems.append(MetadataProblem(display, line, None, None,
                                                  f"invalid YAML: {reason}"))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        collector.problems.append(MetadataProblem(display, None, None, None, str(exc)))
        return None
    if parsed is None or not isinstance(data, dict):
        collector.problems.append(MetadataProblem(display, 1, None, None,
                                                  "the file must hold a mapping of keys"))
        return None
    source = _SourceMap(display, parsed)
    collector.sources[key] = source
    for dup_path, line in source.duplicates:
        collector.problems.append(MetadataProblem(display, line, key, None,
                                                  f"duplicate key '{dup_path[-1]}'"))
    return data


def _parse_file(path: Path, display: str, collector: ProblemCollector,
                text: str | None = None) -> ObjectDef | None:
    stem = path.name.removesuffix(".object.yml")
    data = _read_yaml(path if text is None else text, display, stem, collector)
    if data is None:
        return None
    obj_name = str(data.get("name") or stem)
    collector.sources[obj_name] = collector.sources[stem]
    try:
        obj = ObjectDef.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            collector.add(obj_name, tuple(err["loc"]), _pydantic_message(err))
        # Check the rest of the object too (every independent problem in one run): set
        # the broken parts aside and validate again; the reported problems already stop
        # this registry from being built.
        repaired = _without_broken_parts(data, [tuple(e["loc"]) for e in exc.errors()])
        if repaired is None:
            return None
        try:
            obj = ObjectDef.model_validate(repaired)
        except ValidationError:
            return None
    if obj.name != stem:
        collector.add(obj_name, ("name",), f"object name '{obj.name}' does not match file "
                      f"name '{path.name}'")
    obj.source_file = display
    return obj


def _without_broken_parts(data: dict[str, Any], locations: list[Path_]
                          ) -> dict[str, Any] | None:
    """A copy of an object document with each invalid part set aside: an invalid field
    keeps its name as a plain text field (so rules and views naming it are not reported
    again), an invalid key inside a field, a rule, view or layout is dropped, an unknown
    top-level key removed. None when a problem sits where nothing can be set aside."""
    repaired = copy.deepcopy(data)
    dropped: dict[str, set[Any]] = {}
    for loc in locations:
        if len(loc) == 1 and loc[0] in repaired:
            if loc[0] in ("name", "label"):
                return None
            del repaired[loc[0]]
        elif len(loc) >= 2 and loc[0] == "fields" and isinstance(repaired.get("fields"), dict) \
                and isinstance(repaired["fields"].get(loc[1]), dict):
            field = repaired["fields"][loc[1]]
            if len(loc) == 2 or loc[2] == "type":
                repaired["fields"][loc[1]] = {"type": "text", "label": field.get("label")}
            else:
                field.pop(loc[2], None)
        elif len(loc) >= 2 and loc[0] in ("validation_rules", "list_views", "page_layouts"):
            dropped.setdefault(str(loc[0]), set()).add(loc[1])
        else:
            return None
    for key, items in dropped.items():
        value = repaired.get(key)
        if isinstance(value, list):
            repaired[key] = [v for i, v in enumerate(value) if i not in items]
        elif isinstance(value, dict):
            repaired[key] = {k: v for k, v in value.items() if k not in items}
    return repaired


def _load_permissions(directory: Path, objects: dict[str, ObjectDef],
                      collector: ProblemCollector, overlay: dict[str, str] | None = None
                      ) -> dict[str, PermissionSet]:
    result: dict[str, PermissionSet] = {}
    folder = directory / "permissions"
    overlay = overlay or {}
    paths = {p.name: p for p in (sorted(folder.glob("*.permission.yml"))
                                 if folder.is_dir() else [])}
    paths.update({f"{role}.permission.yml": folder / f"{role}.permission.yml"
                  for role in overlay})
    for _name, path in sorted(paths.items()):
        stem = path.name.removesuffix(".permission.yml")
        key = f"permissions:{stem}"
        data = _read_yaml(overlay.get(stem, path), str(path), key, collector)
        if data is None:
            continue
        try:
            perm = PermissionSet.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                collector.add(key, tuple(err["loc"]), _pydantic_message(err), field="")
            continue
        if perm.role != stem or perm.role not in ROLES:
            collector.add(key, ("role",), f"role '{perm.role}' must match the file name and "
                          f"be one of {', '.join(ROLES)}", field="")
        for name in perm.objects:
            if name != "*" and name not in objects and name not in collector.broken:
                collector.add(key, ("objects", name), f"unknown object '{name}'", field="")
        for name, fields in perm.fields.items():
            obj = objects.get(name)
            if obj is None and name in collector.broken:
                continue
            for field_name in fields:
                if obj is None or obj.field(field_name) is None:
                    collector.add(key, ("fields", name, field_name),
                                  f"unknown field '{name}.{field_name}'", field="")
        perm.source_file = str(path)
        result[perm.role] = perm
    return result


@dataclass(frozen=True)
class Overlay:
    """Documents that replace (or add to) the files under a metadata directory: the YAML
    text of `<name>.object.yml`, `<role>.permission.yml` and `<name>.dashboard.yml`. The
    studio's versions load this way, so they pass exactly the checks (and messages) of
    `hotcrm check-metadata`."""

    objects: dict[str, str]
    permissions: dict[str, str]
    dashboards: dict[str, str] = dataclasses.field(default_factory=dict)


def load_registry(directory: Path | str, overlay: Overlay | None = None) -> Registry:
    """Load and check every object file under `directory` (with `overlay`'s documents in
    place of files of the same name); raise MetadataError on any problem."""
    directory = Path(directory)
    collector = ProblemCollector()
    objects_dir = directory / "objects"
    files = sorted(objects_dir.glob("*.object.yml")) if objects_dir.is_dir() else []
    texts = overlay.objects if overlay else {}
    files = sorted({*files, *(objects_dir / f"{name}.object.yml" for name in texts)})
    if not files:
        raise MetadataError([MetadataProblem(str(objects_dir), None, None, None,
                                             "no *.object.yml files found")])
    objects: dict[str, ObjectDef] = dict(system_objects())
    for path in files:
        display = str(path)
        obj = _parse_file(path, display, collector,
                          texts.get(path.name.removesuffix(".object.yml")))
        if obj is None:
            collector.broken.add(path.name.removesuffix(".object.yml"))
            continue
        if obj.name in objects:
            where = objects[obj.name].source_file or "a built-in system object"
            collector.add(obj.name, ("name",), f"duplicate object name '{obj.name}' "
                          f"(also defined in {where})")
            continue
        objects[obj.name] = obj
    for obj in objects.values():
        if not obj.system:
            _check_names(obj, collector)
            finalize_object(obj)
    check_objects(objects, collector, _compile)
    permissions = _load_permissions(directory, objects, collector,
                                    overlay.permissions if overlay else None)
    from app.dashboards.loader import load_dashboards

    dashboards = load_dashboards(directory, objects, collector,
                                 overlay.dashboards if overlay else None)
    if collector.problems:
        raise MetadataError(collector.problems)
    return Registry(objects, permissions, dashboards)


def _check_names(obj: ObjectDef, collector: ProblemCollector) -> None:
    if not SNAKE.match(obj.name):
        collector.add(obj.name, ("name",), "object names must be lower snake_case")
    for name, fd in obj.fields.items():
        if not SNAKE.match(name):
            collector.add(obj.name, ("fields", name), "field names must be lower snake_case")
        if name in SYSTEM_FIELD_NAMES:
            collector.add(obj.name, ("fields", name), f"'{name}' is a system field and is "
                          "declared automatically")
        if fd.type == "formula" and fd.format not in FORMULA_FORMATS:
            collector.add(obj.name, ("fields", name, "format"),
                          f"formula fields need a format, one of {', '.join(FORMULA_FORMATS)}")


def _compile(source: str, known: set[str], obj: str, path: Path_,
             collector: ProblemCollector) -> Any:
    try:
        return compile_expression(source, known)
    except ExpressionError as exc:
        collector.add(obj, path, f"bad expression: {exc}")
        return None
