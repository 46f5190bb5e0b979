"""NiceGUI pages, one module per screen. `register()` is called by app.server."""


def register() -> None:
    # Importing a page module registers its @ui.page routes.
    # kanban before record: /o/{object}/kanban must match before /o/{object}/{record_id}.
    from pages import admin, dashboard, home, kanban, list_view, login, record, search  # noqa: F401

    install_accessibility_defaults()


def install_accessibility_defaults() -> None:
    """Quasar's page-loading bar is a `role=progressbar` without a name; its props pass
    through to that element, so it gets one here."""
    from nicegui import app

    app.config.quasar_config.setdefault("loadingBar", {})["aria-label"] = "Loading"
