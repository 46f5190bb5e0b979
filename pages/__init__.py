"""NiceGUI pages, one module per screen. `register()` is called by app.server."""


def register() -> None:
    # Importing a page module registers its @ui.page routes.
    from pages import home, login  # noqa: F401
