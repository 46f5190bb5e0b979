"""The manager's sales dashboard in a real browser: every widget renders, the period filter
changes the figures, the funnel's Negotiation stage opens the filtered list with the same
count, a deal won in a second browser context moves the revenue KPI within 2 s, and a rep
sees only their own figures; each widget's CSV and a chart's PNG download."""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import urllib.parse
from datetime import date
from typing import Any

import pytest

from app.devserver import api, find, sign_in, token_for
from components.charts import format_value

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def wait_ready(page: Any) -> None:
    page.wait_for_selector("[data-widget]")
    page.wait_for_function(
        "document.querySelectorAll('[data-widget]').length > 0 && "
        "!document.querySelector('[data-widget][data-state=loading]')", timeout=20_000)


def kpi_text(page: Any, widget: str) -> str:
    return str(page.locator(f'[data-widget="{widget}"] [data-testid="kpi-value"]').inner_text())


def test_manager_dashboard(live_server: str, browser: Any) -> None:
    base = live_server
    manager = token_for(base, "manager")
    definition = api(base, "/api/ui/dashboard/sales", manager)
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    sign_in(page, base, "manager", "/dashboard/sales")
    wait_ready(page)
    assert page.locator('[data-widget][data-state="ready"]').count() == \
        len(definition["widgets"])
    assert page.locator('[data-widget="funnel"] .js-plotly-plot').count() == 1

    # The period filter changes the figures (and lands in the URL).
    quarter = api(base, "/api/kpi/revenue?period=this_quarter", manager)["revenue"]
    year = api(base, "/api/kpi/revenue?period=this_year", manager)["revenue"]
    assert year > quarter
    assert kpi_text(page, "revenue") == format_value(quarter, "currency")
    page.get_by_test_id("filter-period").click()
    page.get_by_role("option", name="This year").dispatch_event("click")
    page.wait_for_function("location.search.includes('period=this_year')")
    wait_ready(page)
    assert kpi_text(page, "revenue") == format_value(year, "currency")

    # Live: a deal won in a second browser context moves the revenue KPI within 2 s.
    value = '[data-widget="revenue"] [data-testid="kpi-value"]'
    before = page.locator(value).get_attribute("data-value")
    alice = token_for(base, "alice")
    deal = find(base, alice, "opportunity", [["stage", "in", ["proposal", "negotiation"]],
                                             ["amount", ">", 0]],
                fields="id,amount", sort="-amount", limit="1")["records"][0]
    other = browser.new_context()
    rep_page = other.new_page()
    sign_in(rep_page, base, "alice", "/")
    response = rep_page.request.patch(
        f"{base}/api/objects/opportunity/{deal['id']}",
        headers={"Origin": base, "Content-Type": "application/json"},
        data=json.dumps({"stage": "closed_won", "close_date": date.today().isoformat()}))
    assert response.ok, response.text()
    page.wait_for_function(
        "old => document.querySelector('[data-widget=revenue] [data-testid=kpi-value]')"
        ".dataset.value !== old", arg=before, timeout=2_000)
    assert float(page.locator(value).get_attribute("data-value")) == \
        pytest.approx(float(before) + deal["amount"])
    other.close()

    # Drill-down: the funnel's Negotiation stage opens the list with the same count.
    stages = api(base, "/api/pipeline/stages?period=this_year", manager)["stages"]
    negotiation = next(s for s in stages if s["stage"] == "negotiation")
    index = [s["stage"] for s in stages].index("negotiation")
    box = page.locator('[data-widget="funnel"] .funnellayer .point').nth(index).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # as a user:
    # Plotly's drag layer above the bars receives the click and finds the stage
    page.wait_for_url(re.compile(r".*/o/opportunity\?filters="))
    filters = json.loads(urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)[
        "filters"][0])
    assert ["stage", "=", "negotiation"] in filters
    count = page.get_by_test_id("list-count")
    count.filter(has_text=re.compile(r"\d")).wait_for()
    assert int(re.sub(r"\D", "", count.inner_text())) == negotiation["count"]
    context.close()


def test_rep_sees_only_their_own_figures(live_server: str, page: Any) -> None:
    base = live_server
    alice = token_for(base, "alice")
    sign_in(page, base, "alice", "/dashboard/sales")
    wait_ready(page)
    mine = api(base, "/api/kpi/revenue", alice)["revenue"]
    everyone = api(base, "/api/kpi/revenue", token_for(base, "manager"))["revenue"]
    assert mine < everyone
    assert kpi_text(page, "revenue") == format_value(mine, "currency")
    page.get_by_test_id("filter-owner").click()
    options = page.get_by_role("option")
    assert sorted(options.all_inner_texts()) == ["Alice Chen", "Me"]


def _expected_csv(data: dict[str, Any]) -> list[list[Any]]:
    """What a widget's CSV must hold, written out from the API's answer: the column labels,
    then each row with picklist values and lookups by their labels, numbers plain."""
    labels = data.get("labels", {})
    rows = [[c["label"] for c in data["columns"]]]
    for row in data["rows"]:
        cells = []
        for column in data["columns"]:
            value = row.get(column["field"])
            if isinstance(value, str) and column["field"] in labels:
                value = labels[column["field"]].get(value, value)
            if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
                value = "'" + value  # never a formula in a spreadsheet
            cells.append(value)
        rows.append(cells)
    return rows


def _same_cells(got: list[list[str]], want: list[list[Any]]) -> None:
    assert len(got) == len(want) and len(got) > 1
    for got_row, want_row in zip(got, want, strict=True):
        assert len(got_row) == len(want_row), (got_row, want_row)
        for text, value in zip(got_row, want_row, strict=True):
            if value is None:
                assert text == ""
            elif isinstance(value, int | float):
                assert re.fullmatch(r"-?\d+(\.\d+)?", text), f"unformatted number: {text!r}"
                assert float(text) == pytest.approx(value, rel=1e-9)
            else:
                assert text == str(value)


def _download(page: Any, click: Any) -> tuple[str, bytes]:
    with page.expect_download(timeout=15_000) as info:
        click()
    download = info.value
    with open(download.path(), "rb") as file:
        return download.suggested_filename, file.read()


def test_widget_downloads_csv_and_png(live_server: str, browser: Any) -> None:
    """Each widget's CSV holds exactly its figures as the API gives them for the same
    filters; a chart's PNG (Plotly's own export) is a real image."""
    base = live_server
    manager = token_for(base, "manager")
    context = browser.new_context(viewport={"width": 1440, "height": 1000},
                                  accept_downloads=True)
    page = context.new_page()
    sign_in(page, base, "manager", "/dashboard/sales?period=this_year")
    wait_ready(page)
    widgets = api(base, "/api/dashboards/sales/data?period=this_year", manager)["widgets"]
    # KPI cards carry their six-month sparkline (the months' values in its tooltip).
    spark = page.locator('[data-widget="revenue"] [data-testid="kpi-trend"]')
    assert spark.get_attribute("data-months") == str(len(widgets["revenue"]["trend"])) == "6"
    assert spark.locator("svg polyline").count() >= 1

    for name in ("funnel", "leaderboard", "revenue_by_industry"):
        filename, body = _download(page, page.get_by_test_id(f"csv-{name}").click)
        assert filename == f"sales-{name}.csv"
        text = body.decode("utf-8-sig")  # a byte-order mark first, for Excel
        assert "\r\n" in text  # RFC 4180 line ends
        _same_cells(list(csv.reader(io.StringIO(text))), _expected_csv(widgets[name]))
    funnel = widgets["funnel"]
    assert [c["label"] for c in funnel["columns"]] == ["Stage", "Amount", "Count"]
    # Records by name: a name with a comma ("Romero, Gonzalez and Brooks") is quoted.
    filename, body = _download(page, page.get_by_test_id("csv-top_deals").click)
    _same_cells(list(csv.reader(io.StringIO(body.decode("utf-8-sig")))),
                _expected_csv(widgets["top_deals"]))
    filename, body = _download(page, page.get_by_test_id("csv-revenue").click)
    revenue = widgets["revenue"]
    _same_cells(list(csv.reader(io.StringIO(body.decode("utf-8-sig")))),
                [["Figure", "Value", "Previous period", "Change %"],
                 ["Revenue", revenue["value"], revenue["previous"], revenue["change"]]])

    # Plotly's own PNG export from the chart's mode bar, named like the CSV.
    chart = page.locator('[data-widget="revenue_by_month"] .js-plotly-plot')
    chart.hover()
    button = page.locator('[data-widget="revenue_by_month"] '
                          '.modebar-btn[data-title="Download plot as a PNG"]')
    filename, body = _download(page, button.click)
    assert filename == "sales-revenue_by_month.png"
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", body[16:24])  # the IHDR chunk
    assert width >= 400 and height >= 200 and len(body) > 5_000
    # The same export from the card's own button (keyboard users never see the mode bar).
    filename, body = _download(page, page.get_by_test_id("png-funnel").click)
    assert filename == "sales-funnel.png" and body[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(body) > 5_000
    context.close()


def test_industry_filter_lands_in_the_url_and_narrows_the_figures(live_server: str,
                                                                   page: Any) -> None:
    """Choosing an industry puts it in the URL (a reload or a shared link keeps it), and
    the figures and CSVs are the API's for the same filters."""
    base = live_server
    manager = token_for(base, "manager")
    everything = api(base, "/api/dashboards/sales/data?period=this_year", manager)["widgets"]
    by_industry = everything["revenue_by_industry"]
    industry = by_industry["rows"][0]["account.industry"]  # the one with most revenue
    label = by_industry["labels"]["account.industry"][industry]
    query = f"period=this_year&industry={industry}"
    narrowed = api(base, f"/api/dashboards/sales/data?{query}", manager)["widgets"]
    assert narrowed["revenue"]["value"] < everything["revenue"]["value"]

    sign_in(page, base, "manager", "/dashboard/sales?period=this_year")
    wait_ready(page)
    page.get_by_test_id("filter-industry").click()
    page.get_by_role("option", name=label, exact=True).dispatch_event("click")
    page.wait_for_function("q => location.search.includes(q)", arg=f"industry={industry}")
    page.wait_for_function(  # the card shows its skeleton (no figure) while it reloads
        "v => { const el = document.querySelector('[data-widget=revenue] "
        "[data-testid=kpi-value]'); return el !== null && Number(el.dataset.value) === v }",
        arg=narrowed["revenue"]["value"], timeout=10_000)
    wait_ready(page)
    assert kpi_text(page, "revenue") == format_value(narrowed["revenue"]["value"], "currency")
    _, body = _download(page, page.get_by_test_id("csv-revenue_by_industry").click)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    _same_cells(rows, _expected_csv(narrowed["revenue_by_industry"]))
    assert [r[0] for r in rows[1:]] == [label]

    page.reload()  # the URL alone gives the same dashboard back
    wait_ready(page)
    assert label in page.get_by_test_id("filter-industry").inner_text()
    assert kpi_text(page, "revenue") == format_value(narrowed["revenue"]["value"], "currency")
