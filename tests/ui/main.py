"""NiceGUI main file for the `user` fixture (ini option `main_file`).

The plugin runs this file with `runpy` inside a fresh NiceGUI state for every test. It
wires the UI exactly as `app.server.create_app` does (`pages.register()`, same storage
secret), but with `ui.run`, which the user simulation supports: the simulated client
talks to NiceGUI's own ASGI app, so the lean REST app and `ui.run_with` are not needed
here. The services (temp SQLite with demo data) are installed by tests/ui/conftest.py.
"""

from nicegui import ui

import pages
from app import runtime

pages.register()
ui.run(title="HotCRM", favicon="🔥", storage_secret=runtime.services().secret_key,
       show_welcome_message=False)
