"""NiceGUI pages, one module per screen. `register()` is called by app.server."""


def register() -> None:
    # Importing a page module registers its @ui.page routes.
    # kanban before record: /o/{object}/kanban must match before /o/{object}/{record_id}.
    from pages import dashboard, home, kanban, list_view, login, record, search  # noqa: F401
