"""Users: the list, a dialog to create or edit one, reset password, deactivate/reactivate.

Everything goes through app.auth.user_admin (ObjectQL writes as the admin, passwords via
the credentials module); errors land next to the field they are about."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from app import runtime
from app.auth import user_admin
from app.auth.sessions import end_all_sessions
from app.metadata.system_objects import ROLES
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from app.objectql.service import ObjectQL
from components.admin.frame import CARD, MUTED, problem_box, section_heading, show_problem
from components.live import notify

ROLE_LABELS = {r: r.replace("_", " ").capitalize() for r in ROLES}
CELL = "px-3 py-2 text-sm text-left align-middle"
HEAD = "px-3 py-2 text-xs font-medium uppercase tracking-wide text-left " + MUTED


class UsersPanel:
    def __init__(self, ql: ObjectQL, ctx: Context) -> None:
        self.ql, self.ctx = ql, ctx
        self.users: list[dict[str, Any]] = []
        with ui.row().classes("w-full items-center gap-3"):
            section_heading("Users")
            ui.space()
            self.search = ui.input(placeholder="Filter by name or email").props(
                'outlined dense clearable aria-label="Filter users" '
                'data-testid="user-filter"').classes("w-64 max-sm:w-full")
            self.search.on_value_change(lambda _e: self.render())
            ui.button("New user", icon="person_add", on_click=lambda: UserDialog(
                self, None).open()).props('unelevated no-caps color=primary '
                                          'data-testid="user-new"').mark("user-new")
        self.body = ui.card().classes(CARD + " p-0 overflow-x-auto")
        self.reload()

    def reload(self) -> None:
        self.users = user_admin.list_users(self.ql, self.ctx)
        self.render()

    def visible_users(self) -> list[dict[str, Any]]:
        term = str(self.search.value or "").strip().lower()
        return [u for u in self.users if not term or term in str(u.get("name", "")).lower()
                or term in str(u.get("email", "")).lower()]

    def render(self) -> None:
        self.body.clear()
        with self.body, ui.element("table").classes("w-full border-collapse").props(
                'data-testid="user-table"'):
            with ui.element("thead"), ui.element("tr").classes(
                    "border-b border-slate-200 dark:border-slate-800"):
                for title in ("Name", "Email", "Role", "Manager", "Status", "Actions"):
                    narrow = " max-sm:hidden" if title in ("Email", "Manager") else ""
                    with ui.element("th").classes(HEAD + narrow).props('scope="col"'):
                        ui.label(title)
            with ui.element("tbody"):
                for user in self.visible_users():
                    self._row(user)

    def _row(self, user: dict[str, Any]) -> None:
        active = bool(user.get("active"))
        with ui.element("tr").classes("border-b border-slate-100 dark:border-slate-800").props(
                f'data-user="{user.get("email")}"'):
            with ui.element("td").classes(CELL + " font-medium"):
                ui.label(str(user.get("name") or ""))
            with ui.element("td").classes(CELL + " max-sm:hidden"):
                ui.label(str(user.get("email") or ""))
            with ui.element("td").classes(CELL):
                ui.label(ROLE_LABELS.get(str(user.get("role")), str(user.get("role"))))
            with ui.element("td").classes(CELL + " max-sm:hidden"):
                ui.label(str(user.get("manager.name") or "—"))
            with ui.element("td").classes(CELL):
                ui.label("Active" if active else "Deactivated").classes(
                    "inline-block rounded-full px-2 py-0.5 text-xs " + (
                        "bg-green-100 text-green-800 dark:bg-green-900 dark:text-green-100"
                        if active else
                        "bg-slate-200 text-slate-700 dark:bg-slate-700 dark:text-slate-100"))
            with ui.element("td").classes(CELL + " whitespace-nowrap"):
                name = str(user.get("name") or user.get("email"))
                ui.button(icon="edit", on_click=lambda u=user: UserDialog(self, u).open()).props(
                    f'flat round dense color=grey-8 aria-label="Edit {name}" '
                    'data-testid="user-edit"').tooltip("Edit")
                ui.button(icon="key", on_click=lambda u=user: PasswordDialog(self, u).open()
                          ).props(f'flat round dense color=grey-8 aria-label="Reset the password '
                                  f'of {name}" data-testid="user-reset-password"').tooltip(
                    "Reset password")
                if active:
                    ui.button(icon="person_off", on_click=lambda u=user: self.confirm_active(
                        u, False)).props(f'flat round dense color=grey-8 aria-label="Deactivate '
                                         f'{name}" data-testid="user-deactivate"').tooltip(
                        "Deactivate")
                else:
                    ui.button(icon="person_add_alt", on_click=lambda u=user: self.confirm_active(
                        u, True)).props(f'flat round dense color=grey-8 aria-label="Reactivate '
                                        f'{name}" data-testid="user-reactivate"').tooltip(
                        "Reactivate")

    def managers(self, excluding: str | None) -> dict[str, str]:
        return {str(u["id"]): str(u.get("name")) for u in self.users
                if u.get("active") and u["id"] != excluding}

    def confirm_active(self, user: dict[str, Any], active: bool) -> None:
        verb = "Reactivate" if active else "Deactivate"
        dialog = ui.dialog().props(f'aria-label="{verb} user"')
        with dialog, ui.card().classes("p-5 gap-3 max-w-md").props(
                'data-testid="user-active-dialog"'):
            ui.label(f"{verb} {user.get('name')}?").classes("text-lg font-semibold")
            ui.label("They are signed out everywhere at once and cannot sign in; their "
                     "records stay as they are." if not active else
                     "They can sign in again with their password.").classes(f"text-sm {MUTED}")
            box = problem_box()

            async def confirm() -> None:
                try:
                    await run.io_bound(user_admin.set_active, self.ql, self.ctx,
                                       str(user["id"]), active)
                except ObjectQLError as exc:
                    show_problem(box, "\n".join(_messages(exc)))
                    return
                dialog.close()
                notify(f"{user.get('name')} {'reactivated' if active else 'deactivated'}",
                       type="positive")
                self.reload()

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
                ui.button(verb, on_click=confirm).props(
                    f'unelevated no-caps color={"primary" if active else "negative"} '
                    'data-testid="user-active-confirm"')
        dialog.open()


def _messages(exc: ObjectQLError) -> list[str]:
    return [exc.message] if not exc.details else [d["message"] for d in exc.details]


class UserDialog:
    """Create (with a first password) or edit name, email, role and manager."""

    def __init__(self, panel: UsersPanel, user: dict[str, Any] | None) -> None:
        self.panel, self.user = panel, user

    def open(self) -> None:
        creating = self.user is None
        user = self.user or {}
        self.dialog = ui.dialog().props('aria-label="User"')
        with self.dialog, ui.card().classes("p-5 gap-3 w-full max-w-lg").props(
                'data-testid="user-dialog"'):
            ui.label("New user" if creating else f"Edit {user.get('name')}").classes(
                "text-lg font-semibold")
            self.inputs: dict[str, Any] = {}
            self.inputs["name"] = ui.input("Name", value=user.get("name") or "").props(
                'outlined dense maxlength=120 data-testid="user-name"').mark(
                "user-name").classes("w-full")
            self.inputs["email"] = ui.input("Email", value=user.get("email") or "").props(
                'outlined dense type=email maxlength=255 data-testid="user-email"').mark(
                "user-email").classes("w-full")
            self.inputs["role"] = ui.select(ROLE_LABELS, label="Role",
                                            value=user.get("role") or "sales_rep").props(
                'outlined dense data-testid="user-role"').mark("user-role").classes("w-full")
            self.inputs["manager"] = ui.select(
                self.panel.managers(user.get("id")), label="Manager", clearable=True,
                value=user.get("manager") if user.get("manager") in self.panel.managers(
                    user.get("id")) else None).props(
                'outlined dense data-testid="user-manager"').classes("w-full")
            if creating:
                with ui.row().classes("w-full items-start gap-2 no-wrap"):
                    self.inputs["password"] = ui.input(
                        "Initial password", password=True, password_toggle_button=True).props(
                        'outlined dense autocomplete=new-password '
                        'data-testid="user-password"').mark("user-password").classes("grow")
                    ui.button("Generate", on_click=self._generate).props(
                        "flat no-caps color=primary").classes("mt-1")
                ui.label("Give it to them in person; they can sign in with it at once."
                         ).classes(f"text-xs {MUTED} -mt-2")
            self.problem = problem_box()
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                ui.button("Create user" if creating else "Save", on_click=self.save).props(
                    'unelevated no-caps color=primary data-testid="user-save"').mark("user-save")
        self.dialog.open()

    def _generate(self) -> None:
        field = self.inputs["password"]
        field.value = user_admin.generate_password()
        field.props("type=text")

    def _values(self) -> dict[str, Any]:
        return {k: (w.value.strip() if isinstance(w.value, str) else w.value)
                for k, w in self.inputs.items()}

    async def save(self) -> None:
        values = self._values()
        for widget in self.inputs.values():
            widget.props(remove="error error-message")
        show_problem(self.problem, None)
        ql, ctx = self.panel.ql, self.panel.ctx
        try:
            if self.user is None:
                await run.io_bound(_create, ql, ctx, values)
            else:
                changes = {k: v for k, v in values.items() if k != "password"
                           and (v or None) != (self.user.get(k) or None)}
                if changes:
                    await run.io_bound(user_admin.update_user, ql, ctx, str(self.user["id"]),
                                       changes)
        except ObjectQLError as exc:
            self._show(exc)
            return
        self.dialog.close()
        notify(f"{values['name']} {'created' if self.user is None else 'saved'}",
               type="positive")
        self.panel.reload()

    def _show(self, exc: ObjectQLError) -> None:
        loose: list[str] = []
        for detail in exc.details or [{"field": "", "message": exc.message}]:
            widget = self.inputs.get(detail.get("field", ""))
            if widget is not None:
                widget.props(f'error error-message="{_attr(detail["message"])}"')
            else:
                loose.append(detail["message"])
        show_problem(self.problem, "\n".join(loose) or None)


def _create(ql: ObjectQL, ctx: Context, values: dict[str, Any]) -> dict[str, Any]:
    return user_admin.create_user(ql, ctx, name=values["name"], email=values["email"],
                                  role=values["role"], manager=values.get("manager"),
                                  password=values.get("password") or "")


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;")


class PasswordDialog:
    def __init__(self, panel: UsersPanel, user: dict[str, Any]) -> None:
        self.panel, self.user = panel, user

    def open(self) -> None:
        self.dialog = ui.dialog().props('aria-label="Reset password"')
        with self.dialog, ui.card().classes("p-5 gap-3 w-full max-w-md").props(
                'data-testid="password-dialog"'):
            ui.label(f"Reset the password of {self.user.get('name')}").classes(
                "text-lg font-semibold")
            ui.label("They are signed out everywhere and sign in with the new password."
                     ).classes(f"text-sm {MUTED}")
            with ui.row().classes("w-full items-start gap-2 no-wrap"):
                self.password = ui.input("New password", password=True,
                                         password_toggle_button=True).props(
                    'outlined dense autocomplete=new-password '
                    'data-testid="password-new"').classes("grow")
                ui.button("Generate", on_click=self._generate).props(
                    "flat no-caps color=primary").classes("mt-1")
            self.problem = problem_box()
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                ui.button("Set password", on_click=self.save).props(
                    'unelevated no-caps color=primary data-testid="password-save"')
        self.dialog.open()

    def _generate(self) -> None:
        self.password.value = user_admin.generate_password()
        self.password.props("type=text")

    async def save(self) -> None:
        user_id = str(self.user["id"])
        try:
            await run.io_bound(user_admin.reset_password, self.panel.ql, self.panel.ctx,
                               user_id, str(self.password.value or ""))
        except ObjectQLError as exc:
            show_problem(self.problem, "\n".join(_messages(exc)))
            return
        if user_id != self.panel.ctx.user_id:  # an admin changing their own stays signed in
            end_all_sessions(runtime.services(), user_id)
        self.dialog.close()
        notify(f"New password set for {self.user.get('name')}", type="positive")


