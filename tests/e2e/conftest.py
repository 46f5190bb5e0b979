"""A real server process on a free port with its own SQLite file, and headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.devserver import CHROMIUM_ARGS, ServerDidNotStart, chromium_path, running_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def live_server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The live server's data directory; its database is `hotcrm.db` there."""
    return tmp_path_factory.mktemp("server")


@pytest.fixture(scope="session")
def live_server(live_server_dir: Path) -> Iterator[str]:
    try:
        with running_server(live_server_dir, timeout=90) as (url, _proc):
            yield url
    except ServerDidNotStart as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        pytest.skip("playwright is not installed")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable,
                                                 args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:
            if os.environ.get("HOTCRM_REQUIRE_SERVICES") == "1":
                pytest.fail(f"Chromium is required but could not start: {exc}")
            pytest.skip(f"no Chromium: {exc}")
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()
