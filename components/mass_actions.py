"""Actions on the selected rows of a list: delete, change owner, set a field.

Each runs as one ObjectQL batch with `all_or_nothing=False`, so the records that may be
changed are changed and every refusal is reported by record name in a dialog.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import run, ui

from app import fieldtypes
from app.metadata.models import FieldDef, ObjectDef
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from app.objectql.service import ObjectQL
from components.live import announce, notify

Selected = Callable[[], list[dict[str, Any]]]
# Types one value can be set on for many records (each type says so: `mass_settable`).
SETTABLE = tuple(t.name for t in fieldtypes.FIELD_TYPES if t.mass_settable)


def settable_fields(ql: ObjectQL, ctx: Context, obj: ObjectDef) -> list[FieldDef]:
    """Fields one value can be set on for many records: editable plain fields."""
    result = []
    for fd in obj.fields.values():
        if fd.readonly or fd.is_computed or fd.system or fd.unique or fd.type not in SETTABLE:
            continue
        if ql.allowed(ctx, "edit", obj, fd.name):
            result.append(fd)
    return sorted(result, key=lambda f: f.display_label.lower())


class MassActions:
    def __init__(self, ql: ObjectQL, ctx: Context, obj: ObjectDef, *, selected: Selected,
                 users: Callable[[], list[tuple[str, str]]], can_edit: bool, can_delete: bool,
                 on_done: Callable[[], Awaitable[None]]) -> None:
        self.ql, self.ctx, self.obj = ql, ctx, obj
        self.selected, self.users, self.on_done = selected, users, on_done
        self.fields = settable_fields(ql, ctx, obj) if can_edit else []
        noun = obj.display_plural.lower()
        with ui.row().classes("items-center gap-1 no-wrap rounded-md bg-indigo-50 "
                              "dark:bg-slate-800 px-2 py-0.5").props(
                'data-testid="mass-actions"') as self.bar:
            self.count = ui.label("").classes("text-sm text-indigo-900 dark:text-indigo-100 "
                                              "font-medium px-1").props(
                'data-testid="mass-count"')
            if can_edit:
                if ql.allowed(ctx, "edit", obj, "owner"):
                    ui.button("Change owner", icon="person", on_click=self._owner_dialog
                              ).props('flat dense no-caps data-testid="mass-owner"')
                if self.fields:
                    ui.button("Set field", icon="edit", on_click=self._field_dialog).props(
                        'flat dense no-caps data-testid="mass-set-field"')
            if can_delete:
                ui.button("Delete", icon="delete", on_click=self._delete_dialog).props(
                    'flat dense no-caps color=negative data-testid="mass-delete"')
        self.bar.visible = False
        self._noun = noun
        # Dialogs live here: not inside the bar (hidden when nothing is selected) and not
        # inside another dialog (deleted when it closes).
        self.host = ui.element("div").classes("hidden")

    def show(self, selected: list[dict[str, Any]]) -> None:
        self.bar.visible = bool(selected)
        self.count.text = f"{len(selected)} selected"

    # -- dialogs ---------------------------------------------------------------------------
    def _confirm(self, title: str, body: Callable[[], None], label: str,
                 action: Callable[[], Awaitable[None]], *, danger: bool = False) -> None:
        with self.host, ui.dialog() as dialog, ui.card().classes(
                "w-[26rem] max-w-full gap-3 p-5"):
            dialog.on("hide", dialog.delete)
            ui.label(title).classes("text-base font-medium")
            body()

            async def go() -> None:
                button.props(add="loading")
                try:
                    await action()
                finally:
                    dialog.close()

            with ui.row().classes("w-full justify-end gap-2 pt-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps color=grey-8")
                button = ui.button(label, on_click=go).props(
                    f'unelevated no-caps color={"negative" if danger else "primary"} '
                    'data-testid="mass-confirm"')
        dialog.open()

    def _delete_dialog(self) -> None:
        rows = self.selected()
        if not rows:
            return

        def body() -> None:
            ui.label(f"{len(rows)} {self._noun if len(rows) != 1 else self.obj.label.lower()} "
                     "will be deleted. This cannot be undone.").classes("text-sm")

        async def action() -> None:
            ids = [r["id"] for r in rows]
            results = await self._run(lambda: self.ql.delete_many(self.ctx, self.obj.name, ids,
                                                                  all_or_nothing=False))
            self._report(rows, results, "deleted")

        self._confirm(f"Delete {len(rows)} {self._noun}?", body, "Delete", action, danger=True)

    def _owner_dialog(self) -> None:
        rows = self.selected()
        state: dict[str, Any] = {"owner": None}

        def body() -> None:
            ui.select(dict(self.users()), label="New owner", with_input=True,
                      on_change=lambda e: state.update(owner=e.value)).props(
                'outlined dense options-dense data-testid="mass-owner-select"').classes(
                "w-full")

        async def action() -> None:
            if not state["owner"]:
                notify("Choose the new owner", type="warning")
                return
            changes = [{"id": r["id"], "owner": state["owner"]} for r in rows]
            results = await self._run(lambda: self.ql.update_many(
                self.ctx, self.obj.name, changes, all_or_nothing=False))
            self._report(rows, results, "updated")

        self._confirm(f"Change the owner of {len(rows)} {self._noun}", body, "Change owner",
                      action)

    def _field_dialog(self) -> None:
        rows = self.selected()
        state: dict[str, Any] = {"field": None, "value": None}

        def body() -> None:
            def field_changed(e: Any) -> None:
                state["field"], state["value"] = e.value, None
                holder.clear()
                fd = self.obj.field(e.value or "")
                if fd is not None:
                    with holder:
                        _value_input(fd, state)

            ui.select({f.name: f.display_label for f in self.fields}, label="Field",
                      with_input=True, on_change=field_changed).props(
                'outlined dense options-dense data-testid="mass-field-select"').classes("w-full")
            holder = ui.column().classes("w-full gap-2")

        async def action() -> None:
            name = state["field"]
            if not name:
                notify("Choose a field", type="warning")
                return
            value = state["value"]
            changes = [{"id": r["id"], name: value} for r in rows]
            results = await self._run(lambda: self.ql.update_many(
                self.ctx, self.obj.name, changes, all_or_nothing=False))
            self._report(rows, results, "updated")

        self._confirm(f"Set a field on {len(rows)} {self._noun}", body, "Apply", action)

    # -- running and reporting -------------------------------------------------------------
    async def _run(self, call: Callable[[], list[Any]]) -> list[Any]:
        try:
            return list(await run.io_bound(call) or [])
        except ObjectQLError as exc:  # e.g. no permission for the whole object
            return [{"ok": False, "error": {"message": exc.message}}] * len(self.selected())

    def _report(self, rows: list[dict[str, Any]], results: list[Any], verb: str) -> None:
        names = {r["id"]: (r.get("_name") or r["id"]) for r in rows}
        failures = []
        for row, result in zip(rows, results, strict=False):
            if not (isinstance(result, dict) and result.get("ok")):
                failures.append((names.get(row["id"], row["id"]), _reason(result, row["id"])))
        done = len(results) - len(failures)
        summary = f"{done} {verb}" + (f", {len(failures)} failed" if failures else "")
        if not failures:  # read out after the reloaded list's own announcement, below
            ui.notify(summary, type="positive", attrs={"aria-hidden": "true"})
        else:
            with self.host, ui.dialog() as dialog, ui.card().classes(
                    "w-[32rem] max-w-full gap-2 p-5"):
                dialog.on("hide", dialog.delete)
                ui.label(summary).classes("text-base font-medium").props(
                    'data-testid="mass-result"')
                with ui.column().classes("w-full gap-1 max-h-80 overflow-auto"):
                    for name, message in failures:
                        with ui.row().classes("w-full gap-1 text-sm no-wrap").props(
                                'data-testid="mass-error"'):
                            ui.label(f"{name}:").classes("font-medium whitespace-nowrap")
                            ui.label(message).classes("text-slate-600 dark:text-slate-300")
                with ui.row().classes("w-full justify-end pt-2"):
                    ui.button("Close", on_click=dialog.close).props(
                        "unelevated no-caps color=primary")
            dialog.open()
        async def refresh() -> None:
            await self.on_done()
            if not failures:
                announce(summary)

        with self.host:
            ui.timer(0, refresh, once=True)


def _reason(result: Any, record_id: str) -> str:
    """Why one record failed, in words: a record the user may not change reads as missing
    to ObjectQL (row security), which here can only mean "not yours to change"."""
    error = (result or {}).get("error") or {} if isinstance(result, dict) else {}
    if error.get("code") == "not_found":
        return "you may not change this record (or it no longer exists)"
    message = str(error.get("message") or "failed")
    if message.startswith("row ") and ": " in message:
        message = message.split(": ", 1)[1]
    return message.replace(f"'{record_id}'", "").strip()


def _value_input(fd: FieldDef, state: dict[str, Any]) -> None:
    def set_value(e: Any) -> None:
        value = e.value
        if isinstance(value, float) and value.is_integer() and fd.scale == 0:
            value = int(value)
        state["value"] = value if value != "" else None

    props = 'outlined dense options-dense data-testid="mass-value"'
    kind = fieldtypes.of(fd).widget
    if kind == "select":
        ui.select({o.value: o.label for o in fd.options}, label="Value", clearable=True,
                  on_change=set_value).props(props).classes("w-full")
    elif kind == "checkbox":
        state["value"] = True
        ui.select({True: "Yes", False: "No"}, value=True, label="Value",
                  on_change=set_value).props(props).classes("w-full")
    elif kind == "number":
        ui.number("Value", on_change=set_value).props(props).classes("w-full")
    elif kind == "date":
        ui.date_input("Value", on_change=set_value).props(props).classes("w-full")
    elif kind == "textarea":
        ui.textarea("Value", on_change=set_value).props(props).classes("w-full")
    else:
        ui.input("Value", on_change=set_value).props(props).classes("w-full")
    ui.label("Leave empty to clear the field.").classes("text-xs text-slate-500 "
                                                        "dark:text-slate-400")
