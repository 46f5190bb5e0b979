"""The list grid's loading bar: a page that comes quickly replaces the old one without
showing it (setting it re-sends and re-renders the whole grid); a slow one shows it."""

from __future__ import annotations

import asyncio
from typing import Any

from nicegui import background_tasks, ui
from nicegui.testing import User

from app.objectql.service import QueryResult
from components.data_table import LOADING_DELAY, DataTable, resolve_column
from tests.ui.conftest import Demo


def grid_page(demo: Demo, fetch: Any, tables: list[DataTable]) -> None:
    obj = demo.services.ql.object("account")
    column = resolve_column(demo.services.ql.registry, obj, "name", lambda o, f: True)
    assert column is not None

    @ui.page("/test-grid")
    def page() -> None:
        table = DataTable(obj, [column], fetch)
        tables.append(table)
        background_tasks.create(table.reload())


async def first_row_is(tables: list[DataTable], name: str) -> None:
    """The simulated user does not see table cells (they are props): wait on the rows."""
    for _ in range(200):
        if tables and tables[0].table.rows and tables[0].table.rows[0]["name"] == name:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the grid never showed {name!r} first")


def rows(n: int, skip: int = 0) -> QueryResult:
    return QueryResult([{"id": f"r{i}", "name": f"Account {i}"}
                        for i in range(skip, skip + n)], 200)


async def test_a_quick_page_change_never_shows_the_loading_bar(user: User,
                                                               demo: Demo) -> None:
    seen: list[bool] = []
    tables: list[DataTable] = []

    async def fetch(skip: int, limit: int, sort: Any, with_total: bool) -> QueryResult:
        await asyncio.sleep(LOADING_DELAY / 3)  # a few dozen ms, like a real page
        seen.append(bool(tables and "loading" in tables[0].table.props))
        return rows(limit, skip)

    grid_page(demo, fetch, tables)
    await user.open("/test-grid")
    await first_row_is(tables, "Account 0")
    with tables[0].table:  # the "next page" button's handler, in the page's slot
        await tables[0]._next()
    await first_row_is(tables, "Account 50")
    assert seen == [False, False]
    assert "loading" not in tables[0].table.props


async def test_a_slow_page_shows_the_loading_bar_until_it_comes(user: User,
                                                                demo: Demo) -> None:
    release = asyncio.Event()
    tables: list[DataTable] = []

    async def fetch(skip: int, limit: int, sort: Any, with_total: bool) -> QueryResult:
        await release.wait()
        return rows(3)

    grid_page(demo, fetch, tables)
    await user.open("/test-grid")
    await user.should_see("Loading …", retries=20)
    assert "loading" in tables[0].table.props
    release.set()
    await first_row_is(tables, "Account 0")
    await user.should_not_see("Loading …")
    assert "loading" not in tables[0].table.props
