"""Add or edit one field: its type, the settings that type offers (from the field-type
registry's `studio_options()`), where it shows (layout section, list views) and, for a
new lookup, a related list on the other object's page. Saved as one studio version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nicegui import ui

from app import fieldtypes
from app.fieldtypes import StudioOption
from app.metadata.models import SYSTEM_FIELD_NAMES
from components.admin import documents
from components.admin.expression_input import ExpressionInput
from components.admin.frame import MUTED, problem_box, show_problem
from components.admin.picklist_editor import PicklistEditor

if TYPE_CHECKING:
    from components.admin.object_editor import ObjectEditor

NOT_ON_PAGE = "__none__"
# Every key some type's editor manages: a type change drops the old type's settings.
MANAGED_KEYS = {"type"} | {o.key for t in fieldtypes.FIELD_TYPES for o in t.studio_options()}
WIDE_KINDS = ("options", "expression")


def type_choices() -> dict[str, str]:
    return {t.name: f"{t.label} ({t.name})" for t in fieldtypes.FIELD_TYPES}


def to_spec_value(option: StudioOption, value: Any) -> Any:
    """The YAML value of an editor's input; None leaves the key out."""
    if value is None or value == "":
        return None
    if option.kind == "int":
        return int(value)
    if option.kind == "number":
        return float(value)
    if option.kind == "bool":
        return bool(value) if value != option.default else None
    if option.key == "unique":
        return {"true": True, "false": None, "case_insensitive": "case_insensitive"}.get(
            str(value))
    return value


def from_spec_value(option: StudioOption, value: Any) -> Any:
    if option.key == "unique":
        return "case_insensitive" if value == "case_insensitive" else str(bool(value)).lower()
    if value is None:
        return option.default
    return value


class FieldDialog:
    def __init__(self, editor: ObjectEditor, name: str | None,
                 restoring: dict[str, Any] | None = None) -> None:
        """`name` None: a new field; `restoring`: a hidden field's last definition."""
        self.editor, self.name = editor, name
        doc = editor.doc
        self.spec: dict[str, Any] = dict(restoring or (doc.get("fields") or {}).get(name or "")
                                         or {"type": "text"})
        self.creating = name is None or restoring is not None
        self.widgets: dict[str, Any] = {}

    # -- building ---------------------------------------------------------------------------
    def open(self) -> None:
        label = self.spec.get("label") or self.name
        self.dialog = ui.dialog().props('aria-label="Field"')
        with self.dialog, ui.card().classes(
                "p-5 gap-3 w-full max-w-2xl").props('data-testid="field-dialog"'):
            ui.label("New field" if self.name is None else f"Field · {label}").classes(
                "text-lg font-semibold").props('role=heading aria-level=2')
            with ui.row().classes("w-full gap-3 no-wrap max-sm:flex-wrap"):
                self.label = ui.input("Label", value=self.spec.get("label") or "").props(
                    'outlined dense maxlength=80 data-testid="field-label"').classes("grow")
                self.api_name = ui.input("API name", value=self.name or "").props(
                    'outlined dense maxlength=60 data-testid="field-name"').classes(
                    "grow font-mono")
                if self.name is not None:
                    self.api_name.props("readonly")
            if self.name is None:
                self.label.on_value_change(self._suggest_name)
            self.type = ui.select(type_choices(), label="Type",
                                  value=self.spec.get("type") or "text").props(
                'outlined dense data-testid="field-type"').classes("w-full")
            if self.name is not None and not self.creating:
                ui.label("Changing the type converts stored values; a change that would lose "
                         "any value is refused with the records it concerns.").classes(
                    f"text-xs {MUTED} -mt-2")
            self.type.on_value_change(lambda _e: self._render_options())
            self.options_box = ui.column().classes("w-full gap-3")
            self._placement()
            self.problem = problem_box()
            self.problem.props('data-testid="field-problems"')
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                ui.button("Save field", on_click=self.save).props(
                    'unelevated no-caps color=primary data-testid="field-save"')
        self._render_options()
        self.dialog.open()

    def _suggest_name(self, event: Any) -> None:
        if not getattr(self, "_name_typed", False):
            self.api_name.value = documents.snake_name(str(event.value or ""))

    def _known_names(self) -> set[str]:
        own = set(self.editor.doc.get("fields") or {})
        return own | set(SYSTEM_FIELD_NAMES)

    def _render_options(self) -> None:
        self.options_box.clear()
        self.widgets = {}
        kind = fieldtypes.get(str(self.type.value))
        with self.options_box:
            if kind.description:
                ui.label(kind.description).classes(f"text-xs {MUTED} -mt-2")
            toggles = []
            own = kind.type_options()
            keys = {o.key for o in own}
            # The type's own settings first (values, related object ...), then the common.
            ordered = [*own, *(o for o in kind.studio_options() if o.key not in keys)]
            for option in ordered:
                if option.key == "label":
                    continue
                if option.kind == "bool":
                    toggles.append(option)
                    continue
                self.widgets[option.key] = (option, self._widget(option))
            with ui.row().classes("w-full gap-x-6 gap-y-1"):
                for option in toggles:
                    value = self.spec.get(option.key, option.default)
                    box = ui.checkbox(option.label, value=bool(value)).props(
                        f'dense data-testid="field-opt-{option.key}"')
                    if option.help:
                        box.tooltip(option.help)
                    self.widgets[option.key] = (option, box)

    def _widget(self, option: StudioOption) -> Any:
        value = from_spec_value(option, self.spec.get(option.key))
        testid = f"field-opt-{option.key}"
        hint = f'hint="{_attr(option.help)}"' if option.help else ""
        if option.kind == "options":
            return PicklistEditor(self.spec.get("options") or [], tuple(option.choices),
                                  testid="picklist")
        if option.kind == "expression":
            known = self._known_names() - ({self.name} if option.key == "formula" else set())
            return ExpressionInput(option.label, value, known, ql=self.editor.services.ql,
                                   ctx=self.editor.ctx, object_name=self.editor.object_name,
                                   testid=testid, help_text=option.help)
        if option.kind == "object":
            names = sorted(self.editor.services.ql.registry)
            return ui.select({n: n for n in names}, label=option.label, value=value,
                             with_input=True).props(
                f'outlined dense {hint} data-testid="{testid}"').classes("w-full")
        if option.kind == "choice":
            choices = list(option.choices)
            picklist_default = option.key == "default" and not choices
            if picklist_default:  # a picklist's default: one of its values as edited now
                choices = [o.get("value") for o in self.spec.get("options") or []]
            select = ui.select({c: str(c).replace("_", " ") for c in choices},
                               label=option.label, value=value if value in choices else None,
                               clearable=option.key != "unique").props(
                f'outlined dense {hint} data-testid="{testid}"').classes("w-full")
            if picklist_default:
                select.on("popup-show", lambda s=select: self._default_choices(s))
            return select
        if option.kind in ("int", "number"):
            return ui.number(option.label, value=value, min=option.minimum,
                             max=option.maximum,
                             precision=0 if option.kind == "int" else None).props(
                f'outlined dense {hint} data-testid="{testid}"').classes("w-full")
        return ui.input(option.label, value="" if value is None else str(value)).props(
            f'outlined dense {hint} data-testid="{testid}"').classes("w-full")

    def _default_choices(self, select: Any) -> None:
        editor = next((w for _, w in self.widgets.values() if isinstance(w, PicklistEditor)),
                      None)
        if editor is not None:
            options = {o["value"]: o["label"] for o in editor.options}
            select.set_options(options, value=select.value if select.value in options
                               else None)

    def _placement(self) -> None:
        doc, name = self.editor.doc, self.name or ""
        ui.separator()
        ui.label("Where it shows").classes("text-sm font-medium")
        sections = {s: s for s in documents.layout_sections(doc)}
        sections[NOT_ON_PAGE] = "Not on the record page"
        current = documents.section_of(doc, name) if self.name else None
        first = next(iter(sections))
        self.section = ui.select(sections, label="Page layout section",
                                 value=current or (first if self.creating else NOT_ON_PAGE)
                                 ).props('outlined dense data-testid="field-section"').classes(
            "w-full")
        views = {v: str(spec.get("label") or v)
                 for v, spec in (doc.get("list_views") or {}).items()}
        self.views = ui.select(views, label="Column in list views", multiple=True,
                               value=documents.views_showing(doc, name) if self.name else []
                               ).props('outlined dense use-chips data-testid="field-views"'
                                       ).classes("w-full")
        self.related = None
        if self.name is None:
            self.related = ui.checkbox("Show these records as a related list on the related "
                                       "record's page", value=True).props(
                'dense data-testid="field-related-list"')
            self.related.bind_visibility_from(self.type, "value",
                                              backward=lambda t: t in ("lookup",
                                                                       "master_detail"))

    # -- saving -----------------------------------------------------------------------------
    def collect(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"type": self.type.value,
                                "label": str(self.label.value or "").strip() or None}
        for key, (option, widget) in self.widgets.items():
            if isinstance(widget, PicklistEditor):
                spec[key] = widget.options
            elif isinstance(widget, ExpressionInput):
                spec[key] = widget.value or None
            else:
                spec[key] = to_spec_value(option, widget.value)
        return spec

    async def save(self) -> None:
        name = str(self.api_name.value or "").strip()
        if not name:
            show_problem(self.problem, "Give the field a label (its API name comes from it).")
            return
        if self.name is None and name in (self.editor.doc.get("fields") or {}):
            show_problem(self.problem, f"A field named '{name}' exists already.")
            return
        try:
            spec = self.collect()
        except (TypeError, ValueError) as exc:
            show_problem(self.problem, f"Check the numbers: {exc}")
            return
        doc = documents.put_field(self.editor.doc, name, spec, MANAGED_KEYS)
        section = self.section.value
        doc = documents.place_in_layout(doc, name, None if section == NOT_ON_PAGE else section)
        doc = documents.show_in_views(doc, name, list(self.views.value or []))
        verb = "Add" if self.name is None else "Change"
        outcome = await self.editor.save(doc, f"{verb} field {self.editor.object_name}.{name}")
        if not outcome.ok:
            mine = outcome.about_field(name)
            others = outcome.not_about({name})
            show_problem(self.problem, outcome.text() if outcome.conflict else
                         "\n".join(mine + others))
            if outcome.conflict:
                self.editor.show_conflict(outcome)
            return
        if self.related is not None and self.related.value and spec.get("reference_to"):
            await self.editor.add_related_list(str(spec["reference_to"]), name)
        self.dialog.close()
        self.editor.saved(f"Field {spec.get('label') or name} saved", outcome)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;")
