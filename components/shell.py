"""The frame around every signed-in page: header (search, notifications, user menu) and
a left navigation built from metadata (the objects this user may read)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import app as nicegui_app
from nicegui import context, ui

from app import runtime
from app.auth.user_admin import is_admin
from app.metadata.models import ObjectDef
from app.objectql.context import Context
from components.live import MAIN_ID, install_page_basics, live_region, skip_link
from components.notifications import notification_bell
from components.search import global_search

BRAND = "#4f46e5"
# The page background in the initial CSS (Tailwind's slate-50 / slate-950), not as body
# classes: `ui.query("body").classes(...)` is sent as JavaScript after the websocket
# connects, which restyled the whole page after its first paint (and flashed white).
PAGE_BACKGROUND = """
body.body--light { background: oklch(98.4% 0.003 247.858); }
body.body--dark { background: oklch(12.9% 0.042 264.695); }
"""


class NavDrawer(ui.element):
    """The left navigation: a bare Quasar drawer that the browser alone opens and closes
    (open above the 768 px breakpoint; the menu button toggles it in the browser).

    `ui.left_drawer(value=None)` asked the browser for the drawer's state after the
    websocket connected and echoed QDrawer's mount-time `update:modelValue` back: two
    round trips and a re-render of the whole page right after its first paint, for a
    state the server never uses."""

    def __init__(self) -> None:
        client = context.client
        with client.layout:
            super().__init__("q-drawer")
        self.props('show-if-above side=left bordered width=220 breakpoint=768')
        self.classes("nicegui-drawer")
        # As ui.left_drawer places itself: a fixed left drawer ("L"), before the page.
        view = list(client.layout.props["view"])
        view[4] = "L"
        client.layout.props["view"] = "".join(view)
        self.move(target_index=client.layout.default_slot.children.index(
            client.page_container))


def readable_objects(ctx: Context) -> list[ObjectDef]:
    return runtime.services().ql.readable_objects(ctx)


@contextmanager
def frame(ctx: Context, title: str, *, active: str | None = None) -> Iterator[ui.column]:
    ui.colors(primary=BRAND)
    dark = ui.dark_mode(value=nicegui_app.storage.user.get("dark", False))
    ui.add_css(PAGE_BACKGROUND)
    ui.page_title(f"{title} · HotCRM")
    install_page_basics()
    with ui.header(elevated=False).classes(
            "bg-[#fff] dark:bg-slate-900 text-slate-800 dark:text-slate-100 border-b "
            "border-slate-200 dark:border-slate-800 h-14 px-3 items-center gap-2 no-wrap"):
        skip_link()
        menu_button = ui.button(icon="menu").props(
            'flat round dense aria-label="Toggle navigation" aria-controls="main-nav"')
        with ui.link(target="/").classes("flex items-center gap-1 no-underline text-inherit"
                                         ).props('aria-label="HotCRM home"'):
            ui.icon("local_fire_department", size="1.6rem").classes("text-orange-500").props(
                'aria-hidden="true"')
            ui.label("HotCRM").classes("text-lg font-semibold max-sm:hidden")
        global_search(ctx)
        ui.space()
        notification_bell(ctx)
        with ui.button(icon="account_circle").props(
                'flat round dense aria-label="User menu" data-testid="user-menu"'):
            with ui.menu().classes("min-w-56"):
                with ui.column().classes("px-4 py-2 gap-0"):
                    ui.label(ctx.name or "Signed in").classes("font-medium")
                    ui.label(ctx.role.replace("_", " ").title()).classes(
                        "text-xs text-slate-500 dark:text-slate-400")
                ui.separator()

                def toggle_dark() -> None:
                    dark.toggle()
                    nicegui_app.storage.user["dark"] = bool(dark.value)

                ui.menu_item("Dark mode", on_click=toggle_dark)
                ui.menu_item("Sign out", on_click=lambda: ui.navigate.to("/auth/logout"))
    drawer = NavDrawer().classes("bg-[#fff] dark:bg-slate-900 p-2")
    menu_button.on("click", js_handler=f"() => getElement({drawer.id}).toggle()")
    with drawer:
        with ui.element("nav").props('id="main-nav" aria-label="Main"').classes(
                "w-full flex flex-col gap-4"):
            _nav_item("Home", "home", "/", active == "home")
            ui.label("Objects").classes("text-xs uppercase tracking-wide text-slate-500 "
                                        "dark:text-slate-400 px-3 pt-4 pb-1").props(
                'aria-hidden="true"')
            for obj in readable_objects(ctx):
                _nav_item(obj.display_plural, obj.icon or "table_rows", f"/o/{obj.name}",
                          active == obj.name)
            if is_admin(ctx):  # others get 403 at /admin, so they get no link either
                ui.label("Setup").classes("text-xs uppercase tracking-wide text-slate-500 "
                                          "dark:text-slate-400 px-3 pt-4 pb-1").props(
                    'aria-hidden="true"')
                _nav_item("Admin studio", "admin_panel_settings", "/admin", active == "admin")
    live_region()
    # The skip link lands here; tabindex=-1 lets it take focus without joining the tab order.
    with ui.element("main").props(f'id="{MAIN_ID}" tabindex="-1"').classes(
            "w-full max-w-screen-2xl mx-auto"), \
            ui.column().classes("w-full p-4 gap-4") as content:
        yield content


def _nav_item(label: str, icon: str, target: str, is_active: bool) -> None:
    classes = ("flex w-full items-center gap-3 px-3 py-2 rounded-md no-underline text-sm "
               "text-slate-700 dark:text-slate-200 hover:bg-slate-100 "
               "dark:hover:bg-slate-800")
    if is_active:
        classes += " bg-indigo-50 text-indigo-700 dark:bg-slate-800 font-medium"
    link = ui.link(target=target).classes(classes).props(f'data-nav="{target}"')
    if is_active:
        link.props('aria-current="page"')
    with link:
        ui.icon(icon, size="1.2rem").props('aria-hidden="true"')
        ui.label(label)
