"""Record form logic, testable without a browser.

What a form shows (sections and fields from the page layout, with the user's field
rights), how widget values map to stored values, what the user changed (dirty tracking),
which fields and sections are visible (`visible_when`, re-evaluated on every change),
where server errors belong, and how a stale save is rebased on the current record so
nothing the user typed is lost. The NiceGUI side lives in components/record_editor.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from app import fieldtypes
from app.expressions import Expression, ExpressionError, compile_expression
from app.metadata.models import FieldDef, ObjectDef
from app.objectql.coerce import FieldError, coerce_value
from app.objectql.context import Context
from app.objectql.errors import Conflict, ObjectQLError
from app.objectql.service import ObjectQL


@dataclass(frozen=True)
class FieldSpec:
    name: str
    fd: FieldDef
    editable: bool  # the user may change it here (not computed, read-only or denied)

    @property
    def label(self) -> str:
        return self.fd.display_label

    @property
    def required(self) -> bool:
        return self.fd.required and not self.fd.is_computed


@dataclass(frozen=True)
class SectionSpec:
    label: str
    columns: int
    fields: tuple[FieldSpec, ...]
    visible_when: Expression | None = None

    @property
    def slug(self) -> str:
        return slugify(self.label)


def slugify(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "section"


@lru_cache(maxsize=256)
def compile_condition(source: str | None) -> Expression | None:
    """Section conditions are plain strings in the layout; compile each once."""
    if not source:
        return None
    try:
        return compile_expression(source)
    except ExpressionError:
        return None  # metadata validation reports it; a broken condition shows the section


def is_editable(ql: ObjectQL, ctx: Context, obj: ObjectDef, fd: FieldDef) -> bool:
    """Editable in a form: what ObjectQL allows, and a read-only field is shown read-only
    even to a trusted context (the form never offers it)."""
    return not fd.readonly and ql.allowed(ctx, "edit", obj, fd.name)


def form_sections(ql: ObjectQL, ctx: Context, obj: ObjectDef,
                  layout_name: str = "default") -> list[SectionSpec]:
    """The layout's sections with the fields this user may read (others are absent)."""
    layout = obj.page_layouts.get(layout_name) or obj.page_layouts.get("default")
    raw = [(s.label, s.columns, s.fields, s.visible_when) for s in layout.sections] \
        if layout and layout.sections else [("Details", 2, list(obj.fields), None)]
    sections = []
    for label, columns, names, condition in raw:
        specs = []
        for name in names:
            fd = obj.field(name)
            if fd is None or not ql.allowed(ctx, "read", obj, name):
                continue
            specs.append(FieldSpec(name, fd, is_editable(ql, ctx, obj, fd)))
        if specs:
            sections.append(SectionSpec(label, columns, tuple(specs),
                                        compile_condition(condition)))
    return sections


# -- values: stored <-> widget ---------------------------------------------------------------
def to_form_value(fd: FieldDef, value: Any) -> Any:
    """The stored (or API) value as the widget holds it."""
    kind = fd.value_type
    if kind == "boolean":
        return bool(value) if value is not None else False
    if kind == "multiselect":
        return list(value) if isinstance(value, list | tuple) else \
            [v for v in str(value).split(";") if v] if value else []
    if value is None:
        return None
    if kind == "date":
        return value.isoformat()[:10] if isinstance(value, date) else str(value)[:10]
    if kind == "datetime":
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M")
        return str(value)[:16].replace("T", " ")
    if fieldtypes.is_numeric(fd):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if kind == "json" and not isinstance(value, str):
        return json.dumps(value)
    return value


def from_form_value(fd: FieldDef, value: Any) -> Any:
    """What the widget holds, as ObjectQL input (blank is None)."""
    kind = fd.value_type
    if kind == "boolean":
        return bool(value)
    if kind == "multiselect":
        return list(value or [])
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if fieldtypes.is_numeric(fd):
        number = float(value) if not isinstance(value, str) else float(value.replace(",", ""))
        return int(number) if number.is_integer() and (fd.scale == 0 or kind == "number") \
            else number
    if kind == "datetime":
        text = str(value).strip().replace("T", " ")
        return f"{text[:10]}T{text[11:16] or '00:00'}:00" if len(text) >= 10 else text
    if kind in ("date", "select", "lookup", "master_detail") and isinstance(value, str):
        return value.strip()
    return value


def same(fd: FieldDef, a: Any, b: Any) -> bool:
    try:
        left, right = from_form_value(fd, a), from_form_value(fd, b)
    except (TypeError, ValueError):
        return a == b
    if fieldtypes.is_numeric(fd) and left is not None and right is not None:
        return abs(float(left) - float(right)) < 1e-9
    if fd.value_type == "multiselect":
        return sorted(left) == sorted(right)
    return bool(left == right)


def typed(fd: FieldDef, value: Any) -> Any:
    """The value as the server would store it, or None when it does not parse (yet)."""
    try:
        return coerce_value(fd, from_form_value(fd, value))
    except (FieldError, TypeError, ValueError):
        return None


def check_value(fd: FieldDef, value: Any) -> str | None:
    """The server's own format check (email, url, phone, numbers, dates), for on-blur hints."""
    try:
        coerce_value(fd, from_form_value(fd, value))
    except FieldError as exc:
        return f"{fd.display_label} {exc}"
    except (TypeError, ValueError):
        return f"{fd.display_label} is not valid"
    return None


# -- the state of one form -------------------------------------------------------------------
@dataclass
class FormState:
    obj: ObjectDef
    sections: list[SectionSpec]
    record: dict[str, Any]  # the stored values the form started from
    creating: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    original: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    yours: dict[str, Any] = field(default_factory=dict)  # conflict hints after a reload

    def __post_init__(self) -> None:
        self.specs = {f.name: f for s in self.sections for f in s.fields}
        self.original = {n: to_form_value(s.fd, self.record.get(n))
                         for n, s in self.specs.items()}
        self.values = {**self.original, **self.values}
        self.original = dict(self.values) if self.creating else self.original

    @classmethod
    def for_create(cls, obj: ObjectDef, sections: list[SectionSpec],
                   initial: Mapping[str, Any]) -> FormState:
        """`initial` holds form values (defaults, query parameters, a cloned record)."""
        return cls(obj, sections, {}, creating=True, values=dict(initial))

    @property
    def version(self) -> int | None:
        return self.record.get("version")

    def set(self, name: str, value: Any) -> None:
        self.values[name] = value
        self.errors.pop(name, None)

    @property
    def dirty_fields(self) -> list[str]:
        return [n for n, s in self.specs.items()
                if s.editable and not same(s.fd, self.values.get(n), self.original.get(n))]

    @property
    def is_dirty(self) -> bool:
        return bool(self.dirty_fields)

    def typed_record(self) -> dict[str, Any]:
        """The record as it would be after saving: what conditions are evaluated on."""
        record = dict(self.record)
        for name, spec in self.specs.items():
            if not spec.fd.is_computed:
                record[name] = typed(spec.fd, self.values.get(name))
        return record

    def visibility(self) -> tuple[dict[str, bool], dict[str, bool]]:
        """({field: visible}, {section slug: visible}) for the current values."""
        record = self.typed_record()
        sections: dict[str, bool] = {}
        fields: dict[str, bool] = {}
        for section in self.sections:
            shown = holds(section.visible_when, record)
            sections[section.slug] = shown
            for spec in section.fields:
                fields[spec.name] = shown and holds(spec.fd.compiled_visible_when, record)
        return fields, sections

    def visible_names(self) -> list[str]:
        return [n for n, shown in self.visibility()[0].items() if shown]

    def payload(self) -> dict[str, Any]:
        """What to send: on create every filled visible field, on edit the changed ones.

        A field hidden by `visible_when` is not sent: it keeps its stored value."""
        visible = set(self.visible_names())
        names = [n for n, s in self.specs.items() if s.editable and n in visible]
        if self.creating:
            result = {}
            for n in names:
                fd = self.specs[n].fd
                value = from_form_value(fd, self.values.get(n))
                if value not in (None, [], False) or (value is False and fd.default):
                    result[n] = value
            return result
        dirty = set(self.dirty_fields)
        return {n: from_form_value(self.specs[n].fd, self.values.get(n))
                for n in names if n in dirty}

    def apply_error(self, exc: ObjectQLError) -> list[str]:
        """Put each detail on its field (when the form shows it); returns the summary."""
        self.errors = {}
        visible = set(self.visible_names())
        summary: list[str] = []
        for detail in exc.details:
            name, message = detail.get("field") or "", detail.get("message") or exc.message
            spec = self.specs.get(name)
            if spec is not None and name in visible:
                self.errors.setdefault(name, message)
            label = spec.label if spec else ""
            summary.append(message if not label or message.startswith(label)
                           else f"{label}: {message}")
        return summary or [exc.message]

    def rebase(self, current: dict[str, Any]) -> dict[str, Any]:
        """Start again from `current` (reloaded after a stale save), keeping the user's edits.

        A field both sides changed shows the new stored value; the user's value is kept in
        `yours` (shown as a hint with a way to take it back). Fields only the user changed
        keep the user's value. Returns `yours`."""
        dirty = set(self.dirty_fields)
        fresh = {n: to_form_value(s.fd, current.get(n)) for n, s in self.specs.items()}
        yours: dict[str, Any] = {}
        for name, spec in self.specs.items():
            mine = self.values.get(name)
            if name not in dirty:
                self.values[name] = fresh[name]
            elif not same(spec.fd, fresh[name], self.original.get(name)) \
                    and not same(spec.fd, fresh[name], mine):
                yours[name] = mine
                self.values[name] = fresh[name]
        self.record, self.original, self.errors = dict(current), fresh, {}
        self.yours = yours
        return yours

    def use_mine(self, name: str) -> Any:
        value = self.yours.pop(name)
        self.set(name, value)
        return value


def holds(condition: Expression | None, record: Mapping[str, Any]) -> bool:
    if condition is None:
        return True
    try:
        return bool(condition.evaluate(record))
    except ExpressionError:
        return True  # a condition that cannot be evaluated never hides data


def is_stale(exc: ObjectQLError) -> bool:
    """A Conflict from an outdated version (not a unique clash or a delete blocker)."""
    return isinstance(exc, Conflict) and "current_version" in exc.extra


# -- initial values for the create form ------------------------------------------------------
def create_defaults(obj: ObjectDef, ctx: Context, today: date) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, fd in obj.fields.items():
        if fd.default is None or fd.is_computed:
            continue
        token = fd.default
        value = ctx.user_id if token == "$user" else today if token in ("$today", "today") \
            else None if token == "$now" else token
        values[name] = to_form_value(fd, value)
    return values


def prefill_from_params(sections: list[SectionSpec], params: Mapping[str, str]
                        ) -> dict[str, Any]:
    """`/o/contact/new?account=<id>&level=vp`: query parameters naming editable form
    fields become their initial values (values that do not parse are ignored)."""
    specs = {f.name: f for s in sections for f in s.fields if f.editable}
    values: dict[str, Any] = {}
    for name, raw in params.items():
        spec = specs.get(name)
        if spec is None or not isinstance(raw, str):
            continue
        kind = spec.fd.value_type
        value: Any = raw
        if kind == "multiselect":
            value = [v for v in re.split(r"[;,]", raw) if v]
        elif kind == "boolean":
            value = raw.strip().lower() in ("1", "true", "yes", "on")
        if typed(spec.fd, value) is None and kind != "boolean":
            continue
        values[name] = to_form_value(spec.fd, typed(spec.fd, value)) \
            if fieldtypes.of(spec.fd).temporal or fieldtypes.is_numeric(spec.fd) else value
    return values


def clone_values(obj: ObjectDef, sections: list[SectionSpec], record: Mapping[str, Any]
                 ) -> dict[str, Any]:
    """A record's editable values for a new record; unique fields are not copied (the
    name gets " (copy)")."""
    values = {}
    for spec in (f for s in sections for f in s.fields if f.editable):
        value = record.get(spec.name)
        if spec.fd.unique:
            if spec.name != obj.name_field or not isinstance(value, str):
                continue
            value = f"{value} (copy)"
        values[spec.name] = to_form_value(spec.fd, value)
    return values
