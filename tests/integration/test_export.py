"""`GET /export/{object}.csv|.xlsx`: the list view as a file, read through ObjectQL as the
caller — cookie or bearer auth, row- and field-level security, the view's filters, search,
sort and columns, formula-injection guard, and XLSX that opens in openpyxl."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from app.api import routes_export
from app.auth.sessions import SESSION_COOKIE
from app.core import Services
from app.metadata.permissions import NO_ACCESS
from app.objectql import Context
from tests.conftest import make_team
from tests.integration.api_support import Api, assert_envelope
from tests.integration.security_support import ACME_REVENUE, GLOBEX_REVENUE, World, build_world

pytestmark = pytest.mark.xdist_group("export")
HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+SUM(1,2)", "-2+3", "@cmd",
           "\tTAB", "<img src=x onerror=alert(1)>"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    w = build_world(request, tmp_path_factory)
    for i, name in enumerate(HOSTILE):
        w.add("account", {"name": name, "phone": f"+1 555 01{i:02d}",
                          "account_number": f"HX-{i}"}, w.team.rep_a)
    return w


@pytest.fixture
def api(world: World) -> Api:
    return Api(world.services, world.team)


def rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")  # Excel wants the byte order mark
    return list(csv.DictReader(io.StringIO(text)))


def test_the_session_cookie_authenticates_and_nothing_else_does(api: Api) -> None:
    url = "/export/account.csv?view=all"
    refused = api.get(url)
    assert refused.status_code == 401
    assert_envelope(refused)
    api.client.cookies.set(SESSION_COOKIE, api.token("rep_a"))
    try:
        response = api.get(url)
    finally:
        api.client.cookies.clear()
    names = {r["Account name"] for r in rows(response)}
    assert {"Acme Corp", "Globex", "Initech"} <= names  # accounts are public_read
    api.client.cookies.set(SESSION_COOKIE, "not-a-token")
    try:
        assert api.get(url).status_code == 401
    finally:
        api.client.cookies.clear()


def test_a_rep_exports_only_the_opportunities_they_may_see(api: Api, world: World) -> None:
    exported = rows(api.get("/export/opportunity.csv?view=all", as_="rep_a"))
    assert sorted(r["Opportunity name"] for r in exported) == ["Acme expansion", "Acme renewal"]
    manager = rows(api.get("/export/opportunity.csv?view=all", as_="manager"))
    assert {r["Opportunity name"] for r in manager} == {
        "Acme expansion", "Acme renewal", "Globex platform deal", "Initech pilot"}


def test_the_viewer_export_never_carries_annual_revenue(api: Api) -> None:
    for url in ("/export/account.csv?view=all", "/export/account.csv",
                "/export/account.csv?fields=name,annual_revenue,industry",
                "/export/account.xlsx?view=technology"):
        response = api.get(url, as_="viewer")
        assert response.status_code == 200, (url, response.text)
        body = response.content
        if url.endswith(".csv") or ".csv?" in url:
            header = body.decode("utf-8-sig").splitlines()[0]
            assert "Annual revenue" not in header, url
        else:
            sheet = load_workbook(io.BytesIO(body)).active
            assert "Annual revenue" not in [c.value for c in sheet[1]]
        for secret in (ACME_REVENUE, GLOBEX_REVENUE):
            assert str(secret).encode() not in body, url
    # A view filtering on the hidden field is refused as a bad query, like in ObjectQL.
    refused = api.get("/export/account.csv?view=high_value", as_="viewer")
    assert refused.status_code == 400
    assert str(ACME_REVENUE) not in refused.text
    admin = rows(api.get("/export/account.csv?fields=name,annual_revenue", as_="admin"))
    assert {r["Annual revenue"] for r in admin if r["Account name"] == "Acme Corp"} == {
        str(ACME_REVENUE)}


def test_cells_a_spreadsheet_would_run_as_formulas_are_quoted(api: Api) -> None:
    exported = rows(api.get("/export/account.csv?fields=name,account_number,phone&"
                            "search=HX-&sort=account_number", as_="rep_a"))
    names = [r["Account name"] for r in exported]
    assert names == ["'" + n if n[0] in "=+-@\t" else n for n in HOSTILE]
    assert all(r["Phone"].startswith("'+1 555") for r in exported)  # "+..." is guarded too


def test_values_are_plain_labels_iso_dates_and_unformatted_numbers(api: Api,
                                                                   world: World) -> None:
    exported = rows(api.get("/export/opportunity.csv?fields=name,account,stage,amount,"
                            "close_date,owner&sort=-amount", as_="manager"))
    assert list(exported[0]) == ["Opportunity name", "Account", "Stage", "Amount",
                                 "Close date", "Owner"]
    top = exported[0]
    assert top["Opportunity name"] == "Globex platform deal"
    assert top["Account"] == "Globex" and top["Stage"] == "Proposal"
    assert top["Amount"] == "7000" and top["Owner"] == "Rob Rep"
    assert top["Close date"] == world.future()  # ISO yyyy-mm-dd
    assert [r["Amount"] for r in exported] == ["7000", "200", "100", "50"]


def test_the_view_filters_search_and_sort_are_those_of_the_list(api: Api) -> None:
    technology = rows(api.get("/export/account.csv?view=technology", as_="admin"))
    assert sorted(r["Account name"] for r in technology) == ["Acme Corp", "Initech"]
    filtered = rows(api.get('/export/account.csv?view=all&filters=[["industry","=","finance"]]',
                            as_="admin"))
    assert [r["Account name"] for r in filtered] == ["Globex"]
    searched = rows(api.get("/export/account.csv?view=all&search=glob", as_="admin"))
    assert [r["Account name"] for r in searched] == ["Globex"]
    desc = rows(api.get("/export/account.csv?view=technology&sort=-name", as_="admin"))
    assert [r["Account name"] for r in desc] == ["Initech", "Acme Corp"]


def test_the_file_is_named_after_the_object_view_and_day(api: Api) -> None:
    response = api.get("/export/opportunity.csv?view=my_opportunities", as_="rep_a")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="opportunities-my_opportunities-')
    assert '.csv"' in disposition
    xlsx = api.get("/export/account.xlsx", as_="rep_a")
    assert 'filename="accounts-' in xlsx.headers["content-disposition"]
    assert xlsx.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def test_xlsx_opens_with_typed_cells_and_no_formulas(api: Api, world: World) -> None:
    response = api.get("/export/opportunity.xlsx?fields=name,amount,close_date,stage&"
                       "sort=name", as_="rep_a")
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    values: list[list[Any]] = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Opportunity name", "Amount", "Close date", "Stage"]
    assert values[1][0] == "Acme expansion" and values[1][1] == 200
    assert values[1][2].date().isoformat() == world.future()
    assert values[1][3] == "Proposal"
    hostile = load_workbook(io.BytesIO(api.get(
        "/export/account.xlsx?fields=name&search=HX-&sort=account_number",
        as_="rep_a").content)).active
    cells = [row[0] for row in hostile.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in cells)
    assert not any(str(c.value).startswith(("=", "+", "-", "@")) for c in cells)


@pytest.mark.parametrize(("url", "status"), [
    ("/export/account.pdf", 404), ("/export/nothing.csv", 404), ("/export/.csv", 404),
    ("/export/account.csv?filters=not-json", 400), ("/export/account.csv?filters={}", 400),
    ('/export/account.csv?filters=[["nope","=",1]]', 400),
    ("/export/account.csv?view=nope", 400), ("/export/account.csv?sort=-nope", 400),
    ("/export/account.csv?fields=nope", 400),
])
def test_bad_requests_are_clear_errors_not_files(api: Api, url: str, status: int) -> None:
    response = api.get(url, as_="admin")
    assert response.status_code == status, response.text
    assert_envelope(response)


def test_a_role_without_read_access_gets_403(api: Api, world: World,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    viewer = world.ql.registry.permissions["viewer"]
    monkeypatch.setitem(viewer.objects, "email", NO_ACCESS)
    response = api.get("/export/email.csv", as_="viewer")
    assert response.status_code == 403
    assert_envelope(response)


@pytest.fixture
def bulk(services: Services) -> Api:
    """2,345 accounts of rep A: duplicate and empty values in the sortable fields."""
    team = make_team(services.ql)
    ratings = ["hot", "warm", "cold", None]
    services.ql.bulk_insert(Context.system(team.rep_a.user_id), "account", [
        {"name": f"Bulk {i:05d}", "phone": "+1 555 0100", "owner": team.rep_a.user_id,
         "annual_revenue": None if i % 7 == 0 else (i % 13) * 1000,
         "rating": ratings[i % 4], "account_number": None if i % 5 else f"B-{i:05d}"}
        for i in range(2_345)])
    return Api(services, team)


def test_more_than_one_page_streams_completely(bulk: Api) -> None:
    exported = rows(bulk.get("/export/account.csv?view=all&fields=name", as_="rep_a"))
    assert len(exported) == 2_345
    assert exported[0]["Account name"] == "Bulk 00000"
    assert exported[-1]["Account name"] == "Bulk 02344"


@pytest.mark.parametrize("sort", ["-annual_revenue", "annual_revenue", "rating", "-rating",
                                  "-account_number", "account_number", "-name",
                                  "rating,-annual_revenue"])
def test_pages_follow_the_sort_exactly_through_duplicates_and_empty_values(
        bulk: Api, sort: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes_export, "PAGE", 97)  # many pages, groups across pages
    exported = rows(bulk.get(f"/export/account.csv?fields=name&sort={sort}", as_="rep_a"))
    expected = bulk.services.ql.find(bulk.team.rep_a, "account", fields=["name"], sort=sort,
                                     limit=10_000).records
    assert [r["Account name"] for r in exported] == [r["name"] for r in expected]


def test_sorting_by_a_yes_no_field_pages_by_offset(bulk: Api,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ql, rep = bulk.services.ql, bulk.team.rep_a
    account = ql.find(rep, "account", fields=["id"], limit=1).records[0]["id"]
    ql.bulk_insert(Context.system(rep.user_id), "contact", [
        {"last_name": f"Person {i:03d}", "account": account, "is_active": i % 3 == 0,
         "phone": "+1 555 0100", "owner": rep.user_id} for i in range(250)])
    monkeypatch.setattr(routes_export, "PAGE", 40)
    exported = rows(bulk.get("/export/contact.csv?fields=last_name,is_active&"
                             "sort=-is_active", as_="rep_a"))
    expected = ql.find(rep, "contact", fields=["last_name"], sort="-is_active", limit=1000)
    assert [r["Last name"] for r in exported] == [r["last_name"] for r in expected.records]
    assert {r["Active"] for r in exported} == {"true", "false"}


def test_the_export_stops_at_its_row_cap(bulk: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes_export, "MAX_ROWS", 1_500)
    for sort in ("name", "rating,name"):  # keyset and offset paging
        exported = rows(bulk.get(f"/export/account.csv?fields=name&sort={sort}",
                                 as_="rep_a"))
        assert len(exported) == 1_500, sort
