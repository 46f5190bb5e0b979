"""Chart figures from widget data: points map back to group values for drill-down, labels
read well, counts get whole ticks, CSV has a header and labels."""

from __future__ import annotations

from components.charts import bucket_text, build_figure, csv_rows, format_value

FUNNEL = {"kind": "chart", "chart": "funnel", "x": "stage", "y": ["amount"], "series": None,
          "text": "count", "y_format": "currency", "categories": ["prospecting", "proposal"],
          "rows": [{"stage": "prospecting", "amount": 100.0, "count": 2},
                   {"stage": "proposal", "amount": 50.0, "count": 1}],
          "labels": {"stage": {"prospecting": "Prospecting", "proposal": "Proposal"}}}


def test_funnel_points_drill_to_their_stage():
    built = build_figure(FUNNEL, {"stage": {"prospecting": "grey", "proposal": "purple"}})
    [trace] = built.figure["data"]
    assert trace["type"] == "funnel" and trace["y"] == ["Prospecting", "Proposal"]
    assert trace["x"] == [100.0, 50.0] and trace["text"] == ["2 deals", "1 deals"]
    assert [built.points[i] for i in trace["customdata"]] == [{"stage": "prospecting"},
                                                              {"stage": "proposal"}]
    assert trace["marker"]["color"] == ["#94a3b8", "#8b5cf6"]


def test_filled_month_buckets_and_stacked_series():
    data = {"kind": "chart", "chart": "stacked_bar", "x": "close_date:month", "y": ["amount"],
            "series": "forecast_category", "y_format": "currency",
            "categories": ["2025-04", "2025-05", "2025-06"],
            "rows": [{"close_date:month": "2025-05", "forecast_category": "commit",
                      "amount": 10.0},
                     {"close_date:month": "2025-04", "forecast_category": "closed",
                      "amount": 5.0}],
            "labels": {"forecast_category": {"closed": "Closed", "commit": "Commit"}}}
    built = build_figure(data)
    closed, commit = built.figure["data"]
    assert closed["name"] == "Closed" and closed["x"] == ["Apr 2025", "May 2025", "Jun 2025"]
    assert closed["y"] == [5.0, 0, 0] and commit["y"] == [0, 10.0, 0]
    assert built.points[commit["customdata"][1]] == {"close_date:month": "2025-05",
                                                     "forecast_category": "commit"}
    assert built.figure["layout"]["barmode"] == "stack"


def test_count_axis_has_whole_ticks():
    data = {**FUNNEL, "chart": "bar", "y": ["count"], "y_format": "number"}
    axis = build_figure(data).figure["layout"]["yaxis"]
    assert axis["tickformat"] == ",d" and axis["dtick"] == 1


def test_formats_and_csv():
    assert format_value(6_136_500, "currency") == "$6.1M"
    assert format_value(6_136_500, "currency", compact=False) == "$6,136,500"
    assert format_value(54.5454, "percent") == "54.5%"
    assert format_value(None, "currency") == "—"
    assert bucket_text("2026-Q1", "quarter") == "Q1 2026"
    columns = [{"field": "stage", "label": "Stage"}, {"field": "amount", "label": "Amount"},
               {"field": "count", "label": "Count"}]
    assert csv_rows({**FUNNEL, "columns": columns}, "Funnel") == [
        ["Stage", "Amount", "Count"], ["Prospecting", 100, 2], ["Proposal", 50, 1]]
    assert csv_rows(FUNNEL, "Funnel")[0] == ["stage", "amount"]  # data cached before columns
    deals = {"kind": "table", "columns": [{"field": "name", "label": "Opportunity"}],
             "rows": [{"name": "=HYPERLINK(\"http://x\")"}, {"name": "Plain"}]}
    assert csv_rows(deals, "Top") == [["Opportunity"], ["'=HYPERLINK(\"http://x\")"],
                                      ["Plain"]]  # text, never a formula
    kpi = {"kind": "kpi", "value": 3, "previous": 2.5, "change": None}
    assert csv_rows(kpi, "Deals won") == [["Figure", "Value", "Previous period", "Change %"],
                                          ["Deals won", 3, 2.5, None]]
    assert csv_rows({"kind": "kpi", "value": 7.0}, "Open") == [["Figure", "Value"], ["Open", 7]]


def test_every_chart_type_builds_a_trace_per_point():
    for kind, trace_type in (("pie", "pie"), ("donut", "pie"), ("treemap", "treemap"),
                             ("line", "scatter"), ("area", "scatter"), ("bar", "bar")):
        built = build_figure({**FUNNEL, "chart": kind})
        [trace] = built.figure["data"]
        assert trace["type"] == trace_type, kind
        assert [built.points[i] for i in trace["customdata"]] == [{"stage": "prospecting"},
                                                                  {"stage": "proposal"}]
    assert build_figure({**FUNNEL, "chart": "donut"}).figure["data"][0]["hole"] > 0
    assert build_figure({**FUNNEL, "chart": "area"}).figure["data"][0]["fill"] == "tozeroy"
