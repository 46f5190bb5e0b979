"""One widget per field type for record forms, and the read-only display of a value.

Every user value is rendered as text (labels, Vue `{{ }}` interpolation), never as HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nicegui import ui

from app import fieldtypes
from app.metadata.models import FieldDef, ObjectDef
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from app.objectql.service import ObjectQL
from components.field_format import chip_classes, format_value, select_chip
from components.record_form import FieldSpec, check_value

LOOKUP_PAGE = 20
INPUT_PROPS = ("outlined dense stack-label hide-bottom-space "
               "input-class=\"placeholder:text-slate-400\"")

OnChange = Callable[[str, Any], None]


# -- names of records -----------------------------------------------------------------------
def name_fields(obj: ObjectDef) -> list[str]:
    """The fields that name a record: contacts read "First Last", others their name field."""
    if obj.name_field == "last_name" and "first_name" in obj.fields:
        return ["first_name", "last_name"]
    return [obj.name_field]


def record_name(obj: ObjectDef, record: dict[str, Any] | None) -> str:
    if not record:
        return ""
    parts = [str(record[n]) for n in name_fields(obj) if record.get(n) not in (None, "")]
    return " ".join(parts) or str(record.get("id") or "")


def lookup_expand(ql: ObjectQL, obj: ObjectDef, names: list[str]) -> dict[str, list[str]]:
    """`expand` for every lookup among `names`, asking for the target's name fields."""
    expand: dict[str, list[str]] = {}
    for name in names:
        fd = obj.field(name)
        if fd is not None and fd.is_lookup and fd.reference_to in ql.registry:
            expand[name] = name_fields(ql.registry[fd.reference_to])
    return expand


def search_records(ql: ObjectQL, ctx: Context, target: ObjectDef, text: str,
                   limit: int = LOOKUP_PAGE) -> dict[str, str]:
    """{id: name} of records of `target` whose name contains `text`, as the user sees them
    (row-level security applies through the user's context)."""
    names = name_fields(target)
    needle = text.strip()[:100]
    filters: list[Any] = []
    if needle:
        for index, name in enumerate(names):
            if index:
                filters.append("or")
            filters.append([name, "contains", needle])
        filters = [filters] if len(names) > 1 else filters
    try:
        rows = ql.find(ctx, target.name, fields=names, filters=filters,
                       sort=[[target.name_field, "asc"]], limit=limit).records
    except ObjectQLError:
        return {}
    return {row["id"]: record_name(target, row) for row in rows}


# -- read-only display -----------------------------------------------------------------------
def display_value(ql: ObjectQL, fd: FieldDef, value: Any) -> None:
    """The value of one field, read-only: chips for picklists, links for lookups."""
    kind = fd.value_type
    field_type = fieldtypes.of(fd)
    widget = field_type.widget
    empty = value is None or value == "" or value == []
    if empty and widget != "checkbox":
        ui.label("—").classes("text-slate-300 dark:text-slate-600")
        return
    if widget == "select":
        select_chip(fd, value)
        return
    if widget == "multiselect":
        with ui.row().classes("gap-1"):
            for item in value if isinstance(value, list) else [value]:
                select_chip(fd, item)
        return
    if fd.is_lookup:
        target = ql.registry.get(fd.reference_to or "")
        if isinstance(value, dict) and target is not None:
            ui.link(record_name(target, value), f"/o/{target.name}/{value['id']}").classes(
                "text-indigo-600 dark:text-indigo-300 no-underline hover:underline")
        else:
            ui.label(format_value(fd, value))
        return
    if widget == "checkbox":
        ui.icon("check_box" if value else "check_box_outline_blank", size="1.1rem").classes(
            "text-indigo-600" if value else "text-slate-500 dark:text-slate-400").props(
            f'aria-label="{"Yes" if value else "No"}"')
        return
    text = format_value(fd, value)
    href = field_type.href(str(value))
    if href:
        link = ui.link(text, href, new_tab=kind == "url").classes(
            "text-indigo-600 dark:text-indigo-300 no-underline hover:underline break-all")
        if kind == "url":
            link.props('rel="noopener noreferrer"')
        return
    multiline = field_type.multiline
    ui.label(text).classes("whitespace-pre-wrap break-words" if multiline else "break-words")


# -- editable widgets -----------------------------------------------------------------------
@dataclass
class FieldWidget:
    spec: FieldSpec
    wrapper: ui.element
    control: Any
    error: ui.label
    hint: ui.row
    extra: dict[str, Any] = field(default_factory=dict)

    def set_error(self, message: str | None) -> None:
        self.error.set_text(message or "")
        self.error.set_visibility(bool(message))
        if hasattr(self.control, "props") and self.spec.fd.value_type != "boolean":
            if message:
                self.control.props(add="error")
            else:
                self.control.props(remove="error")

    def set_value(self, value: Any) -> None:
        options = self.extra.get("lookup_options")
        if options is not None and value and value not in options:
            options[value] = self.extra.get("labels", {}).get(value, value)
            self.control.set_options(dict(options))
        self.control.set_value(value)

    def show_yours(self, text: str | None, on_use: Callable[[], None] | None = None) -> None:
        """After a reload: the user's own unsaved value next to the new stored one."""
        self.hint.clear()
        self.hint.set_visibility(bool(text))
        if not text:
            return
        with self.hint:
            ui.icon("history", size="1rem").classes("text-amber-600")
            ui.label(f"Your value: {text}").classes("text-amber-800 dark:text-amber-300")
            if on_use is not None:
                ui.button("Use mine", on_click=on_use).props(
                    f'flat dense no-caps size=sm data-testid="use-mine-{self.spec.name}"'
                ).classes("text-amber-800")


def build_field(ql: ObjectQL, ctx: Context, spec: FieldSpec, value: Any, *,
                on_change: OnChange, stored: Any = None, lookup_label: str | None = None,
                enabled: bool = True) -> FieldWidget:
    """The widget for one field inside a wrapper `data-testid="field-<name>"`.

    `value` is the form value (see record_form.to_form_value); `stored` the record's
    stored value, shown by fields the user cannot change."""
    fd = spec.fd
    label = f"{spec.label} *" if spec.required and spec.editable else spec.label
    with ui.column().classes("w-full gap-0 min-w-0").props(
            f'data-testid="field-{spec.name}"') as wrapper:
        extra: dict[str, Any] = {}
        if not (spec.editable and enabled):
            control = _readonly(fd, label, stored, lookup_label)
        else:
            control = _editable(ql, ctx, spec, label, value, on_change, lookup_label, extra)
        if fd.help:
            control.props["hint"] = fd.help
            control.props(remove="hide-bottom-space")
        error = ui.label().classes("text-xs text-red-700 dark:text-red-400 pt-1").props(
            f'role=alert data-testid="field-error-{spec.name}"')
        error.set_visibility(False)
        hint = ui.row().classes("items-center gap-1 text-xs pt-1 no-wrap")
        hint.set_visibility(False)
    widget = FieldWidget(spec, wrapper, control, error, hint, extra)
    if fieldtypes.of(fd).check_on_blur and spec.editable and enabled:
        control.on("blur", lambda: widget.set_error(
            check_value(fd, control.value) if control.value else None))
    return widget


def _readonly(fd: FieldDef, label: str, stored: Any, lookup_label: str | None) -> Any:
    text = lookup_label if fd.is_lookup and lookup_label else format_value(fd, stored)
    if fd.value_type == "boolean":
        return ui.checkbox(label, value=bool(stored)).disable()
    hint = "Calculated on save" if fd.is_computed and not text else None
    control = ui.input(label, value=text or "", placeholder=hint).props(
        f"{INPUT_PROPS} readonly").classes("w-full")
    control.disable()
    return control


def _editable(ql: ObjectQL, ctx: Context, spec: FieldSpec, label: str, value: Any,
              on_change: OnChange, lookup_label: str | None, extra: dict[str, Any]) -> Any:
    fd, name = spec.fd, spec.name

    def changed(e: Any) -> None:
        on_change(name, e.value)

    field_type = fieldtypes.of(fd)
    widget, options = field_type.widget, field_type.widget_options(fd)
    if widget == "textarea":
        return ui.textarea(label, value=value or "", on_change=changed).props(
            f"{INPUT_PROPS} autogrow").classes("w-full")
    if widget == "number":
        return ui.number(label, value=value, on_change=changed, min=options["min"],
                         max=options["max"], precision=options["precision"],
                         format=options["format"], prefix=options["prefix"],
                         suffix=options["suffix"]).props(INPUT_PROPS).classes("w-full")
    if widget == "date":
        control = ui.date_input(label, value=value or "", on_change=changed).props(
            f'{INPUT_PROPS} placeholder="YYYY-MM-DD" clearable').classes("w-full")
        control.button.props('aria-label="Pick a date"')
        return control
    if widget == "datetime":
        return _datetime(label, value, changed)
    if widget == "checkbox":
        return ui.checkbox(label, value=bool(value), on_change=changed)
    if widget in ("select", "multiselect"):
        return _select(fd, label, value, changed, multiple=widget == "multiselect")
    if widget == "lookup":
        return _lookup(ql, ctx, fd, label, value, lookup_label, changed, extra)
    control = ui.input(label, value=value or "", on_change=changed).props(
        f"{INPUT_PROPS} type={field_type.input_type}").classes("w-full")
    if options.get("maxlength"):
        control.props(f"maxlength={options['maxlength']}")
    return control


def _datetime(label: str, value: Any, changed: Callable[[Any], None]) -> ui.input:
    mask = "YYYY-MM-DD HH:mm"
    control = ui.input(label, value=value or "", on_change=changed).props(
        f'{INPUT_PROPS} placeholder="YYYY-MM-DD HH:MM" clearable').classes("w-full")
    with control.add_slot("append"):
        with ui.button(icon="event").props('flat round dense aria-label="Pick date and time"'):
            with ui.menu(), ui.row().classes("no-wrap gap-0"):
                ui.date(mask=mask).props("flat minimal").bind_value(control)
                ui.time(mask=mask).props("flat format24h").bind_value(control)
    return control


def _select(fd: FieldDef, label: str, value: Any, changed: Callable[[Any], None], *,
            multiple: bool) -> ui.select:
    options = {o.value: o.label for o in fd.options}
    if multiple:
        value = [v for v in value or [] if v in options]
    elif value is not None and value not in options:
        options[value] = str(value)  # a stored value the metadata no longer lists
    control = ui.select(options, label=label, value=value, on_change=changed,
                        clearable=not fd.required, multiple=multiple).props(
        f"{INPUT_PROPS} options-dense").classes("w-full")
    # Option chips in the metadata colours: the class list is indexed by option position,
    # so only our own class strings (never labels) are part of the template.
    classes = [chip_classes(fd.option(v).color if fd.option(v) else None) for v in options]
    class_list = "[" + ",".join(f"'{c}'" for c in classes) + "]"
    control.add_slot("option", f'''
        <q-item v-bind="props.itemProps">
          <q-item-section>
            <span :class="{class_list}[props.opt.value]" class="w-fit"
              >{{{{ props.opt.label }}}}</span>
          </q-item-section>
        </q-item>''')
    control.add_slot("selected-item", f'''
        <span :class="{class_list}[props.opt.value]" class="mr-1"
          >{{{{ props.opt.label }}}}</span>''')
    return control


def _lookup(ql: ObjectQL, ctx: Context, fd: FieldDef, label: str, value: Any,
            lookup_label: str | None, changed: Callable[[Any], None],
            extra: dict[str, Any]) -> ui.select:
    """Type-ahead over the target's name: the user types, ObjectQL searches as that user,
    the select shows names and stores ids."""
    target = ql.registry[fd.reference_to or ""]
    current: dict[str, str] = {value: lookup_label or value} if value else {}
    extra["lookup_options"] = dict(current)
    extra["labels"] = dict(current)
    control = ui.select(dict(current), label=label, value=value or None, on_change=changed,
                        with_input=True, clearable=not fd.required).props(
        f'{INPUT_PROPS} options-dense input-debounce=200 '
        f'placeholder="Search {target.display_plural.lower()}"').classes("w-full")

    def refresh(text: str) -> None:
        found = search_records(ql, ctx, target, text)
        extra["labels"].update(found)
        chosen = control.value
        if chosen and chosen not in found:
            found[chosen] = extra["labels"].get(chosen, chosen)
        extra["lookup_options"] = found
        control.set_options(found)

    control.on("input-value", lambda e: refresh(e.args if isinstance(e.args, str) else ""),
               throttle=0.2)
    control.on("popup-show", lambda: refresh("") if len(extra["lookup_options"]) <= 1 else None)
    with control.add_slot("no-option"):
        ui.item("No matches").classes("text-slate-500 dark:text-slate-400 text-sm")
    return control
