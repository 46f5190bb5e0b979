"""No URL makes a page fail: bad sorts, filters and ids in the address show the page with
a readable message (issue 7), checked by example and by a bounded property test over
every URL parameter of the pages (fixed seed; `make fuzz` runs it longer)."""

from __future__ import annotations

import json
import os
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from nicegui import ui
from nicegui.testing import User

from tests.ui.conftest import Demo

pytestmark = [pytest.mark.ui, pytest.mark.xdist_group("ui")]
FUZZ_SEED = int(os.environ.get("HOTCRM_FUZZ_SEED", "7"))  # `make fuzz` varies it
FUZZ_EXAMPLES = int(os.environ.get("HOTCRM_FUZZ_EXAMPLES", "25"))


def _problem(user: User) -> str:
    labels = [e for e in user.find(ui.label).elements
              if e.props.get("data-testid") == "list-problem" and e.visible]
    return " ".join(label.text for label in labels)


def _rows(user: User) -> int:
    return sum(len(t.rows) for t in user.find(ui.table).elements)


@pytest.mark.parametrize(("query", "message"), [
    ("sort=-nope", "Cannot sort by 'nope'"),
    ("sort=owner.nope,name", "Cannot sort by 'owner.nope'"),
    ("sort=a,b,c,d,e,f", "at most 5 sort fields"),
    ("filters=" + json.dumps([["nope", "=", 1]]), "without your sort and filters"),
    ("filters=" + "[" * 3000 + "]" * 3000, "filters"),
    ("filters=" + json.dumps([["name", "=", "\ud800"]]), "filters"),
])
async def test_bad_list_urls_show_the_list_with_a_message(alice: User, query: str,
                                                          message: str) -> None:
    response = await alice.http_client.get(f"/o/account?{query}")
    assert response.status_code == 200, response.text[:500]
    await alice.open(f"/o/account?{query}")
    assert message in _problem(alice)
    assert _rows(alice) > 0, "the list itself is still shown"


async def test_login_page_explains_an_oversized_form(user: User) -> None:
    await user.open("/login?error=too_large")
    await user.should_see("too long to accept")


# -- property test: every URL parameter of the pages -----------------------------------------
NASTY = st.sampled_from([
    "", "-nope", "name,-name", "[[", "[]", "{}", "null", json.dumps(["\ud800"]), "%00",
    "\x00", "today\n",
    "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "1e999", "-1", "9" * 40,
    "../../etc/passwd", "<script>alert(1)</script>", "x" * 5000, json.dumps([["name", "in",
                                                                           list(range(2000))]]),
    "[" * 200 + "]" * 200, json.dumps([["owner.manager.manager.name", "=", "x"]]),
])
# A URL carries UTF-8, so no lone surrogates in raw text (they arrive JSON-escaped above).
URL_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
TEXT = NASTY | URL_TEXT
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                       lambda c: st.lists(c, max_size=3), max_leaves=8).map(json.dumps)
PARAM = TEXT | JSONISH
PAGES = st.sampled_from(["/o/account", "/o/opportunity", "/o/contact", "/o/nope",
                         "/o/opportunity/kanban", "/o/account/new", "/o/account/{id}",
                         "/o/account/nope", "/search", "/login", "/"])
PARAMS = st.dictionaries(st.sampled_from(["view", "q", "filters", "sort", "edit", "name",
                                          "error", "next", "retry_after", "phone",
                                          "account", "annual_revenue", "x"]),
                         PARAM, max_size=4)


@seed(FUZZ_SEED)
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(page=PAGES, params=PARAMS, object_id=TEXT)
async def test_no_url_makes_a_page_fail(alice: User, demo: Demo, page: str,
                                        params: dict[str, str], object_id: str) -> None:
    path = page.replace("{id}", quote(object_id, safe="") or "x")
    response = await alice.http_client.get(f"{path}?{urlencode(params)}",
                                           follow_redirects=False)
    assert response.status_code < 500, (path, params, response.text[:500])
