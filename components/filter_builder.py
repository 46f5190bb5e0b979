"""Ad-hoc filter conditions on a list: field, operator, value with a widget per type.

Conditions are kept in the ⚑ ObjectQL shape (`[path, operator, value]`), so they go
straight into `ql.find(filters=...)`, the URL and the export link. `describe()` turns
one back into words for its chip ("Stage is any of Proposal, Negotiation").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from nicegui import ui

from app import fieldtypes
from app.fieldtypes.base import TEXT_OPS
from app.metadata.models import FieldDef, ObjectDef
from app.metadata.registry import Registry

Condition = list[Any]
DATE_TOKENS = {"today": "today", "this_week": "this week", "this_month": "this month",
               "this_quarter": "this quarter", "this_year": "this year",
               "last_n_days": "the last … days", "next_n_days": "the next … days",
               "date": "a specific date"}


def filter_fields(obj: ObjectDef, readable: list[str]) -> list[FieldDef]:
    """Fields a user may filter on: readable, and of a type filters understand."""
    fields = [fd for name in readable if (fd := obj.field(name)) is not None
              and name != "id" and fieldtypes.of(fd).filter_widget_for(fd) is not None]
    return sorted(fields, key=lambda f: (f.name != obj.name_field, f.display_label.lower()))


class FilterBuilder:
    """A "Filter" button and the active conditions as removable chips."""

    def __init__(self, registry: Registry, obj: ObjectDef, fields: list[FieldDef],
                 users: Callable[[], list[tuple[str, str]]],
                 on_change: Callable[[list[Condition]], Any],
                 conditions: list[Condition] | None = None) -> None:
        self.registry, self.obj, self.fields = registry, obj, {f.name: f for f in fields}
        self.users, self.on_change = users, on_change
        self.conditions: list[Condition] = list(conditions or [])
        self._user_names: dict[str, str] = {}
        ui.button("Filter", icon="filter_list", on_click=self.open_dialog).props(
            'flat dense no-caps color=grey-8 data-testid="filter-add"').classes("px-2")
        self.chips: ui.row | None = None

    def chips_row(self) -> ui.row:
        """The active conditions as chips; place it where the page wants them."""
        self.chips = ui.row().classes("w-full items-center gap-1 -mt-2").props(
            'data-testid="filter-chips"')
        self._render_chips()
        return self.chips

    # -- chips ---------------------------------------------------------------------------
    def _render_chips(self) -> None:
        if self.chips is None:
            return
        self.chips.clear()
        self.chips.visible = bool(self.conditions)
        with self.chips:
            for index, condition in enumerate(self.conditions):
                ui.chip(self.describe(condition), removable=True,
                        on_value_change=lambda _e, i=index: self._remove(i)).props(
                    'dense outline color=indigo data-testid="filter-chip"').classes(
                    "text-xs")
            if len(self.conditions) > 1:
                ui.button("Clear", on_click=self.clear).props(
                    'flat dense no-caps size=sm color=grey-7 data-testid="filter-clear"')

    async def _remove(self, index: int) -> None:
        if 0 <= index < len(self.conditions):
            del self.conditions[index]
            self._render_chips()
            await _maybe_await(self.on_change(list(self.conditions)))

    async def clear(self) -> None:
        self.conditions = []
        self._render_chips()
        await _maybe_await(self.on_change([]))

    def _field_of(self, path: str) -> tuple[str, FieldDef | None]:
        head = path.split(".")[0]
        fd = self.fields.get(head) or self.obj.field(head)
        if fd is not None and "." in path and fd.reference_to in self.registry:
            return fd.display_label, fd
        return (fd.display_label if fd else path), fd

    def describe(self, condition: Condition) -> str:
        path, op, value = [*condition, None, None, None][:3]
        label, fd = self._field_of(str(path))
        if value is None and op in ("=", "!="):
            return f"{label} {'is empty' if op == '=' else 'is not empty'}"
        ops = dict(self._operators(fd) if fd else TEXT_OPS)
        verb = ops.get(op, op)
        token = isinstance(value, str) and (
            value in DATE_TOKENS or value.startswith(("last_n_days:", "next_n_days:")))
        if op == "=" and token and fd is not None and fieldtypes.of(fd).temporal:
            verb = "is" if value == "today" else "is in"
        return f"{label} {verb} {self._value_text(fd, path, value)}"

    def _value_text(self, fd: FieldDef | None, path: str, value: Any) -> str:
        if fd is None:
            return str(value)
        if isinstance(value, list):
            return ", ".join(self._value_text(fd, path, v) for v in value)
        if fd.is_lookup and "." not in path:
            if value == "$user":
                return "me"
            if not self._user_names:
                self._user_names = dict(self.users())
            return self._user_names.get(str(value), str(value))
        if fd.value_type in ("select", "multiselect"):
            option = fd.option(value)
            return option.label if option else str(value)
        if fd.value_type == "boolean":
            return "yes" if value else "no"
        if fieldtypes.of(fd).temporal and isinstance(value, str):
            if value.startswith(("last_n_days:", "next_n_days:")):
                kind, _, n = value.partition(":")
                return f"the {'last' if kind.startswith('last') else 'next'} {n} days"
            if value in DATE_TOKENS:
                return DATE_TOKENS[value]
        return str(value)

    # -- operators and values ------------------------------------------------------------
    def _is_user_lookup(self, fd: FieldDef) -> bool:
        return fieldtypes.of(fd).filter_widget_for(fd) == "user"

    def _operators(self, fd: FieldDef) -> list[tuple[str, str]]:
        return fieldtypes.of(fd).filter_operators(fd)

    def open_dialog(self) -> None:
        state: dict[str, Any] = {"field": None, "op": None, "value": None, "mode": "this_month",
                                 "n": 30}
        with ui.dialog() as dialog, ui.card().classes("w-[28rem] max-w-full gap-3 p-5"):
            dialog.on("hide", dialog.delete)
            ui.label("Add filter").classes("text-base font-medium")
            field_select = ui.select(
                {name: fd.display_label for name, fd in self.fields.items()}, label="Field",
                with_input=True).props('outlined dense options-dense '
                                       'data-testid="filter-field"').classes("w-full")
            op_select = ui.select({}, label="Condition").props(
                'outlined dense options-dense data-testid="filter-op"').classes("w-full")
            value_area = ui.column().classes("w-full gap-2")
            error = ui.label("").classes("text-sm text-red-700")

            def render_value() -> None:
                value_area.clear()
                fd = self.fields.get(state["field"] or "")
                if fd is None or state["op"] in ("empty", "not empty"):
                    return
                with value_area:
                    self._value_widget(fd, state)

            def field_changed(e: Any) -> None:
                state["field"], state["value"] = e.value, None
                fd = self.fields.get(e.value or "")
                ops = dict(self._operators(fd)) if fd else {}
                op_select.options = ops
                op_select.value = next(iter(ops), None)
                op_select.update()
                render_value()

            def op_changed(e: Any) -> None:
                state["op"] = e.value
                if e.value in ("in", "not in") or state["value"] in ([],):
                    state["value"] = None
                render_value()

            field_select.on_value_change(field_changed)
            op_select.on_value_change(op_changed)

            async def apply() -> None:
                condition = self._condition(state)
                if isinstance(condition, str):
                    error.text = condition
                    return
                dialog.close()
                self.conditions.append(condition)
                self._render_chips()
                await _maybe_await(self.on_change(list(self.conditions)))

            with ui.row().classes("w-full justify-end gap-2 pt-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps color=grey-8")
                ui.button("Apply", on_click=apply).props(
                    'unelevated no-caps color=primary data-testid="filter-apply"')
        dialog.open()

    def _value_widget(self, fd: FieldDef, state: dict[str, Any]) -> None:
        def set_value(e: Any) -> None:
            state["value"] = e.value

        props = 'outlined dense options-dense data-testid="filter-value"'
        kind = fieldtypes.of(fd).filter_widget_for(fd)
        if kind == "select":
            multiple = state["op"] in ("in", "not in")
            ui.select({o.value: o.label for o in fd.options}, label="Value", multiple=multiple,
                      on_change=set_value).props(props + (" use-chips" if multiple else "")
                                                 ).classes("w-full")
        elif kind == "boolean":
            state["value"] = True
            ui.select({True: "Yes", False: "No"}, value=True, label="Value",
                      on_change=set_value).props(props).classes("w-full")
        elif kind == "number":
            ui.number(label="Value", on_change=set_value).props(props).classes("w-full")
        elif kind == "date":
            self._date_widget(state, props)
        elif kind == "user":
            options = {"$user": "Me", **dict(self.users())}
            ui.select(options, label="User", with_input=True, on_change=set_value).props(
                props).classes("w-full")
        else:
            ui.input(label="Value", on_change=set_value).props(props).classes("w-full")

    def _date_widget(self, state: dict[str, Any], props: str) -> None:
        def mode_changed(e: Any) -> None:
            state["mode"] = e.value
            render_extra()

        ui.select(DATE_TOKENS, value=state["mode"], label="When", on_change=mode_changed
                  ).props(props).classes("w-full")
        extra = ui.column().classes("w-full gap-2")

        def render_extra() -> None:
            extra.clear()
            with extra:
                if state["mode"] == "date":
                    ui.date_input("Date", on_change=lambda e: state.update(value=e.value)
                                  ).props(props.replace("filter-value", "filter-date")
                                          ).classes("w-full")
                elif state["mode"] in ("last_n_days", "next_n_days"):
                    ui.number("Days", value=state["n"], min=1, max=9999, precision=0,
                              on_change=lambda e: state.update(n=e.value)).props(
                        props.replace("filter-value", "filter-days")).classes("w-full")

        render_extra()

    def _condition(self, state: dict[str, Any]) -> Condition | str:
        """The ObjectQL condition for the dialog's state, or a message what is missing."""
        fd = self.fields.get(state["field"] or "")
        op = state["op"]
        if fd is None or not op:
            return "Choose a field and a condition."
        path = fd.name
        target = fd.reference_to
        if fd.is_lookup and not self._is_user_lookup(fd) and target and target in self.registry:
            path = f"{fd.name}.{self.registry[target].name_field}"
        if op in ("empty", "not empty"):
            return [fd.name, "=" if op == "empty" else "!=", None]
        value = state["value"]
        if fieldtypes.of(fd).temporal:
            mode = state["mode"]
            if mode == "date":
                if not value:
                    return "Choose a date."
                try:
                    value = date.fromisoformat(str(value)).isoformat()
                except ValueError:
                    return "Enter the date as YYYY-MM-DD."
            elif mode in ("last_n_days", "next_n_days"):
                n = int(state["n"] or 0)
                if not 1 <= n <= 9999:
                    return "Enter a number of days between 1 and 9999."
                value = f"{mode}:{n}"
            else:
                value = mode
        if value is None or value == "" or value == []:
            return "Enter a value."
        if fieldtypes.is_numeric(fd) and isinstance(value, float) \
                and value.is_integer():
            value = int(value)
        return [path, op, value]


async def _maybe_await(result: Any) -> None:
    if hasattr(result, "__await__"):
        await result
