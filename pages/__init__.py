"""NiceGUI pages, one module per screen. `register()` is called by app.server."""


def register() -> None:
    from pages import home  # noqa: F401  (the @ui.page decorators register the routes)
