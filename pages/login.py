"""`/login`: email + password (and SSO when configured), posted to /auth/login."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from app.auth.oidc import oidc_enabled
from app.auth.sessions import safe_next
from components.live import install_page_basics
from components.shell import BRAND
from pages.common import services, signed_in

MESSAGES = {
    "invalid": "Wrong email or password.",
    "throttled": "Too many failed attempts. Try again in {retry_after} seconds.",
    "sso_refused": "Single sign-on did not let you in. Ask an admin to check your account.",
    "sso_unavailable": "Single sign-on is not reachable right now.",
    "too_large": "The email or password was too long to accept. Check them and try again.",
}


@ui.page("/login", title="Sign in · HotCRM")
def login_page(request: Request, error: str | None = None, next: str = "/",
               retry_after: str = "") -> RedirectResponse | None:
    target = safe_next(next)
    if signed_in(request) is not None:
        return RedirectResponse(target, status_code=303)
    ui.colors(primary=BRAND)
    ui.dark_mode(None)  # before sign-in there is no stored choice: follow the system
    ui.query("body").classes("bg-slate-100 dark:bg-slate-900")
    install_page_basics()
    with ui.element("main").classes("absolute-center w-full max-w-sm px-4"), \
            ui.column().classes("items-center gap-6 w-full"):
        with ui.row().classes("items-center gap-2"):
            ui.icon("local_fire_department", size="2.2rem").classes("text-orange-500").props(
                'aria-hidden="true"')
            ui.label("HotCRM").classes("text-3xl font-semibold text-slate-800 "
                                       "dark:text-slate-100")
        with ui.card().classes("w-full p-6 gap-4 shadow-sm dark:bg-slate-800"):
            ui.label("Sign in").classes("text-lg font-medium")
            if error in MESSAGES:
                ui.label(MESSAGES[error].format(retry_after=retry_after or "a few")).classes(
                    "text-sm text-red-700 bg-red-50 rounded px-3 py-2 w-full").props(
                    'role=alert data-testid="login-error"')
            # A plain HTML form: the browser posts it and follows the redirect, so the
            # session cookie is set by the server response, not by JavaScript.
            with ui.element("form").props('method=post action=/auth/login').classes(
                    "w-full flex flex-col gap-3"):
                ui.input("Email").props('name=email type=email autocomplete=username '
                                        'autofocus outlined dense').classes("w-full")
                ui.input("Password", password=True).props(
                    'name=password autocomplete=current-password outlined dense').classes(
                    "w-full")
                hidden_next = ui.element("input").props("type=hidden name=next")
                hidden_next.props["value"] = target  # set as data, never parsed as props
                ui.button("Sign in").props('type=submit unelevated color=primary').classes(
                    "w-full")
            if oidc_enabled(services().settings):
                ui.separator()
                sso = ui.button("Sign in with SSO", icon="key").props("flat").classes("w-full")
                sso.props["href"] = f"/auth/oidc/login?next={quote(target, safe='')}"
    return None
