"""The Convert button and dialog of a lead's record page. It calls the same service as
`POST /api/objects/lead/{id}/convert` (app.leads.convert_lead), as the signed-in user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from app.leads import ConvertOptions, convert_lead
from app.leads.convert import find_account_by_name
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from app.objectql.service import ObjectQL
from components.field_widgets import search_records

BUTTON = "no-caps unelevated dense padding='4px 12px'"
MATCH, CHOOSE = "match", "choose"


def can_convert(record: dict[str, Any], editable: bool) -> bool:
    return editable and record.get("status") != "converted"


def convert_button(ql: ObjectQL, ctx: Context, lead: dict[str, Any],
                   on_converted: Callable[[], None]) -> None:
    # Icon only on phones, where Edit, Convert, Clone and Delete must share one row.
    with ui.button(icon="swap_horiz",
                   on_click=lambda: ConvertDialog(ql, ctx, lead, on_converted).open()).props(
            f'{BUTTON} outline color=primary aria-label="Convert" data-testid="lead-convert"'
    ).mark("lead-convert"):
        ui.label("Convert").classes("ml-2 max-sm:hidden")


class ConvertDialog:
    """Account (the one matching the company, or one the user picks), an optional
    opportunity with its name, then links to what was created."""

    def __init__(self, ql: ObjectQL, ctx: Context, lead: dict[str, Any],
                 on_converted: Callable[[], None]):
        self.ql, self.ctx, self.lead, self.on_converted = ql, ctx, lead, on_converted
        self.company = str(lead.get("company") or lead.get("name") or "").strip()
        self.match = find_account_by_name(ql, ctx, self.company)
        self.account_name = self.match["name"] if self.match else self.company

    def open(self) -> None:
        with ui.dialog() as self.dialog, ui.card().classes(
                "p-5 gap-4 w-full max-w-lg").props('data-testid="convert-dialog"'):
            self.body = ui.column().classes("w-full gap-4")
            with self.body:
                self._form()
        self.dialog.open()

    def _form(self) -> None:
        ui.label("Convert lead").classes("text-lg font-semibold")
        ui.label(f"{self.lead.get('name')} becomes a contact at an account; the lead is "
                 "then marked converted and links to the new records.").classes(
            "text-sm text-slate-600 dark:text-slate-300")
        ui.label("Account").classes("text-sm font-medium -mb-2")
        existing = f"Add to the existing account “{self.account_name}”" if self.match \
            else f"Create the account “{self.account_name}”"
        self.account_mode = ui.radio({MATCH: existing, CHOOSE: "Choose another account"},
                                     value=MATCH).props('dense data-testid="convert-account-mode"')
        self.account_pick = ui.select({}, label="Account", with_input=True).props(
            'outlined dense options-dense input-debounce=200 '
            'placeholder="Search accounts" data-testid="convert-account"').classes("w-full")
        self.account_pick.bind_visibility_from(self.account_mode, "value",
                                               backward=lambda v: v == CHOOSE)
        self.account_pick.on("input-value", lambda e: self._search(
            e.args if isinstance(e.args, str) else ""), throttle=0.2)
        self.account_pick.on("popup-show", lambda: self._search(""))
        self.make_opportunity = ui.checkbox("Create an opportunity", value=True).props(
            'dense data-testid="convert-create-opportunity"')
        self.opportunity_name = ui.input(
            "Opportunity name", value=f"{self.account_name} - {self.lead.get('name')}"[:120]
        ).props('outlined dense maxlength=120 data-testid="convert-opportunity-name"').classes(
            "w-full").mark("convert-opportunity-name")
        self.opportunity_name.bind_visibility_from(self.make_opportunity, "value")
        self.error = ui.label().classes(
            "text-sm text-red-800 bg-red-50 dark:bg-red-950 dark:text-red-200 rounded px-3 "
            "py-2 w-full whitespace-pre-line").props('role=alert data-testid="convert-error"')
        self.error.set_visibility(False)
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
            ui.button("Convert", icon="swap_horiz", on_click=self._convert).props(
                'unelevated no-caps color=primary data-testid="convert-confirm"').mark(
                "convert-confirm")

    def _search(self, text: str) -> None:
        found = search_records(self.ql, self.ctx, self.ql.object("account"), text)
        chosen = self.account_pick.value
        if chosen and chosen not in found:
            found[chosen] = self.account_pick.options.get(chosen, chosen) \
                if isinstance(self.account_pick.options, dict) else chosen
        self.account_pick.set_options(found, value=chosen)

    def _options(self) -> ConvertOptions | str:
        account_id = None
        if self.account_mode.value == CHOOSE:
            account_id = self.account_pick.value
            if not account_id:
                return "Choose the account to add the contact to."
        wanted = bool(self.make_opportunity.value)
        name = str(self.opportunity_name.value or "").strip() if wanted else ""
        return ConvertOptions(account_id=account_id, create_opportunity=wanted,
                              opportunity_name=name or None)

    def _convert(self) -> None:
        options = self._options()
        if isinstance(options, str):
            self._show_error(options)
            return
        try:
            result = convert_lead(self.ql, self.ctx, str(self.lead["id"]), options)
        except ObjectQLError as exc:  # nothing was saved: say why, keep the choices
            lines = [exc.message] + [d["message"] for d in exc.details
                                     if d.get("message") and d["message"] not in exc.message]
            self._show_error("\n".join(lines))
            return
        self.body.clear()
        with self.body:
            self._done(result.to_dict())
        self.dialog.on("hide", self.on_converted)

    def _show_error(self, message: str) -> None:
        self.error.set_text(message)
        self.error.set_visibility(True)

    def _done(self, result: dict[str, Any]) -> None:
        with ui.row().classes("items-center gap-2"):
            ui.icon("check_circle", size="1.6rem").classes("text-green-600")
            ui.label("Lead converted" if not result.get("already_converted")
                     else "This lead was already converted").classes("text-lg font-semibold")
        with ui.column().classes("gap-1").props('data-testid="convert-result"'):
            for key, label, name_of in (
                    ("account", "Account", lambda r: r.get("name")),
                    ("contact", "Contact", lambda r: " ".join(
                        p for p in (r.get("first_name"), r.get("last_name")) if p)),
                    ("opportunity", "Opportunity", lambda r: r.get("name"))):
                record = result.get(key)
                if not record or not record.get("id"):
                    continue
                with ui.row().classes("gap-2 items-baseline"):
                    ui.label(label).classes("text-xs text-slate-500 w-24")
                    ui.link(name_of(record) or record["id"], f"/o/{key}/{record['id']}").classes(
                        "text-sm text-indigo-600 dark:text-indigo-300 no-underline "
                        "hover:underline").props(f'data-testid="converted-{key}"')
        with ui.row().classes("w-full justify-end"):
            ui.button("Done", on_click=self.dialog.close).props(
                'unelevated no-caps color=primary data-testid="convert-done"')
