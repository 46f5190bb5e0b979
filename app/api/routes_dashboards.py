"""Dashboards and KPIs over REST: the definition, every widget's data, and the seed's KPI
endpoints — all computed by the dashboard service from the sales dashboard's widgets, as
the caller, with the period and owner filters. Handlers are sync: FastAPI runs them in
its thread pool, so database work never blocks the event loop."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app import runtime
from app.api.deps import current_context
from app.api.errors import ApiError
from app.api.responses import json_response
from app.dashboards.filters import PERIOD_LABELS, owner_choices, select_options
from app.dashboards.models import PERIOD_PRESETS
from app.dashboards.service import Dashboards, dashboards_for
from app.objectql.context import Context

router = APIRouter(prefix="/api", tags=["dashboards"])
Caller = Annotated[Context, Depends(current_context)]
Period = Annotated[str | None, Query(description="this_month, last_month, this_quarter, "
                                     "last_quarter, this_year, last_year or custom")]
Owner = Annotated[str | None, Query(description="a user id, 'me', or empty for everyone "
                                    "you may see")]
From = Annotated[str | None, Query(alias="from", description="custom period start")]
To = Annotated[str | None, Query(description="custom period end (inclusive)")]
SALES = "sales"


def dashboards() -> Dashboards:
    services = runtime.services()
    return dashboards_for(services.ql, services.settings.redis_url)


def definition_json(ctx: Context, name: str) -> dict[str, Any]:
    service = dashboards()
    dashboard = service.definition(name)
    body = dashboard.model_dump(mode="json", exclude_none=True)
    for f in body.get("filters", []):
        if f["type"] == "period":
            f["choices"] = [{"value": p, "label": PERIOD_LABELS[p]} for p in PERIOD_PRESETS]
        elif f["type"] == "owner":
            f["choices"] = owner_choices(service.ql, ctx)
        else:
            f["choices"] = select_options(service.ql, dashboard, f["name"])
    return body


@router.get("/ui/dashboard/{name}", summary="A dashboard's definition")
def dashboard_definition(name: str, ctx: Caller) -> Response:
    return json_response(definition_json(ctx, name))


@router.get("/dashboards/{name}/data", summary="Every widget's data for you")
def dashboard_data(name: str, request: Request, ctx: Caller,
                   widgets: Annotated[str | None, Query(description="comma-separated "
                                                        "widget names")] = None) -> Response:
    service = dashboards()
    params = {k: v for k, v in request.query_params.items() if k != "widgets"}
    state = service.state(ctx, name, params)
    chosen = [w.strip() for w in widgets.split(",") if w.strip()] if widgets else None
    if chosen:
        unknown = [w for w in chosen if service.definition(name).widget(w) is None]
        if unknown:
            raise ApiError(400, f"unknown widget(s): {', '.join(unknown)}",
                           details=[{"field": "widgets", "message": f"unknown '{w}'"}
                                    for w in unknown])
    data = service.data(ctx, name, state, chosen)
    period = state.period
    return json_response({
        "dashboard": name, "filters": state.to_params(),
        "period": period and {"start": period.start, "end": period.end, "label": period.label,
                              "previous": {"start": period.previous.start,
                                           "end": period.previous.end}},
        "widgets": data})


def _sales_widget(ctx: Context, widget: str, period: str | None, owner: str | None,
                  start: str | None, end: str | None) -> dict[str, Any]:
    service = dashboards()
    params = {k: v for k, v in {"period": period, "owner": owner, "from": start,
                                "to": end}.items() if v}
    state = service.state(ctx, SALES, params)
    data = service.widget(ctx, SALES, widget, state)
    if data.get("error") == "no_access":
        raise ApiError(403, "your role may not see this figure", code="no_access")
    return data


@router.get("/kpi/revenue", summary="Closed-won revenue with growth vs the previous period")
def kpi_revenue(ctx: Caller, period: Period = None, owner: Owner = None,
                start: From = None, to: To = None) -> Response:
    data = _sales_widget(ctx, "revenue", period, owner, start, to)
    return json_response({"revenue": data["value"] or 0, "previous": data.get("previous") or 0,
                          "growth": data.get("change")})


@router.get("/kpi/winrate", summary="Won / (won + lost) in percent")
def kpi_winrate(ctx: Caller, period: Period = None, owner: Owner = None,
                start: From = None, to: To = None) -> Response:
    data = _sales_widget(ctx, "win_rate", period, owner, start, to)
    won, lost = data["row"]["closed_won_n"], data["row"]["closed_lost_n"]
    return json_response({"rate": data["value"], "won": won, "lost": lost,
                          "total": won + lost})


@router.get("/kpi/pipeline", summary="Open and weighted pipeline")
def kpi_pipeline(ctx: Caller, period: Period = None, owner: Owner = None,
                 start: From = None, to: To = None) -> Response:
    data = _sales_widget(ctx, "pipeline", period, owner, start, to)
    row = data["row"]
    return json_response({"open": row["open"] or 0, "weighted": row["weighted"] or 0,
                          "count": row["count"]})


@router.get("/kpi/leads", summary="New leads in the period, qualified and unqualified")
def kpi_leads(ctx: Caller, period: Period = None, owner: Owner = None,
              start: From = None, to: To = None) -> Response:
    data = _sales_widget(ctx, "new_leads", period, owner, start, to)
    row = data["row"]
    return json_response({"count": row["count"], "qualified": row["qualified"],
                          "unqualified": row["unqualified"], "rate": row["rate"],
                          "previous": data.get("previous"), "growth": data.get("change")})


@router.get("/pipeline/stages", summary="Open pipeline per stage (count and amount)")
def pipeline_stages(ctx: Caller, period: Period = None, owner: Owner = None,
                    start: From = None, to: To = None) -> Response:
    data = _sales_widget(ctx, "funnel", period, owner, start, to)
    labels = data["labels"].get("stage", {})
    by_stage = {r["stage"]: r for r in data["rows"]}
    stages = [{"stage": s, "label": labels.get(s, s),
               "count": by_stage.get(s, {}).get("count", 0),
               "amount": by_stage.get(s, {}).get("amount") or 0}
              for s in data["categories"]]
    return json_response({"stages": stages})


def openapi_paths() -> dict[str, Any]:
    """The dashboard routes in the hand-built OpenAPI document."""
    filters = [{"name": "period", "in": "query", "schema": {"type": "string",
                                                           "enum": list(PERIOD_PRESETS)}},
               {"name": "owner", "in": "query", "schema": {"type": "string"},
                "description": "user id or 'me'; empty: everyone you may see"},
               {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
               {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}}]
    errors = {code: {"description": text, "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Error"}}}} for code, text in (
        ("400", "Bad filter value"), ("401", "Not authenticated"),
        ("403", "No access to this figure"), ("404", "Unknown dashboard"))}

    def obj(props: dict[str, Any]) -> dict[str, Any]:
        return {"200": {"description": "OK", "content": {"application/json": {"schema": {
            "type": "object", "properties": props}}}}, **errors}

    num = {"type": ["number", "null"]}
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    tag = ["Dashboards"]
    return {
        "/api/ui/dashboard/{name}": {"get": {
            "tags": tag, "summary": "A dashboard's definition (filters with your choices)",
            "parameters": [name], "responses": obj({"name": {"type": "string"},
                                                    "widgets": {"type": "array"}})}},
        "/api/dashboards/{name}/data": {"get": {
            "tags": tag, "summary": "Every widget's data for you; query parameters are the "
            "dashboard's filters", "parameters": [name, *filters, {
                "name": "industry", "in": "query", "schema": {"type": "string"}}, {
                "name": "widgets", "in": "query", "schema": {"type": "string"}}],
            "responses": obj({"filters": {"type": "object"}, "period": {"type": "object"},
                              "widgets": {"type": "object"}})}},
        "/api/kpi/revenue": {"get": {"tags": tag, "summary": "Revenue and growth",
                                     "parameters": filters, "responses": obj({
                                         "revenue": num, "previous": num, "growth": num})}},
        "/api/kpi/winrate": {"get": {"tags": tag, "summary": "Win rate in percent",
                                     "parameters": filters, "responses": obj({
                                         "rate": num, "won": num, "lost": num,
                                         "total": num})}},
        "/api/kpi/pipeline": {"get": {"tags": tag, "summary": "Open and weighted pipeline",
                                      "parameters": filters, "responses": obj({
                                          "open": num, "weighted": num, "count": num})}},
        "/api/kpi/leads": {"get": {"tags": tag, "summary": "New leads and qualification",
                                   "parameters": filters, "responses": obj({
                                       "count": num, "qualified": num, "unqualified": num,
                                       "rate": num, "previous": num, "growth": num})}},
        "/api/pipeline/stages": {"get": {"tags": tag, "summary": "Open pipeline per stage",
                                         "parameters": filters, "responses": obj({
                                             "stages": {"type": "array"}})}},
    }
