"""`POST /api/objects/lead/{id}/convert`: the ⚑ lead conversion (app/leads/convert.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app import runtime
from app.api.deps import current_context
from app.api.responses import json_body, json_response
from app.leads import ConvertOptions, convert_lead
from app.objectql.context import Context

router = APIRouter(prefix="/api", tags=["leads"])
CurrentContext = Annotated[Context, Depends(current_context)]


@router.post("/objects/lead/{record_id}/convert")
async def convert(record_id: str, request: Request, ctx: CurrentContext) -> Response:
    # An empty body means the defaults: match or create the account, no opportunity.
    data = await json_body(request) if (await request.body()).strip() else {}
    options = ConvertOptions.parse(data)
    ql = runtime.services().ql
    result = await run_in_threadpool(convert_lead, ql, ctx, record_id, options)
    return json_response(result.to_dict())


def openapi_paths() -> tuple[dict[str, Any], dict[str, Any]]:
    """(paths, schemas) of the convert route for the generated OpenAPI document."""
    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    schemas = {
        "LeadConvert": {
            "type": "object", "additionalProperties": False, "properties": {
                "account_id": {"type": "string", "minLength": 1, "maxLength": 64,
                               "description": "attach to this account instead of matching "
                                              "or creating one by the lead's company"},
                "create_opportunity": {"type": "boolean", "default": False},
                "opportunity_name": {"type": "string", "maxLength": 120,
                                     "description": "implies create_opportunity"}}},
        "LeadConversion": {
            "type": "object", "required": ["account", "contact", "lead"], "properties": {
                "account": {"anyOf": [ref("Account"), {"type": "null"}]},
                "contact": {"anyOf": [ref("Contact"), {"type": "null"}]},
                "opportunity": ref("Opportunity"), "lead": ref("Lead"),
                "already_converted": {"type": "boolean",
                                      "description": "true when nothing was created"}}},
    }
    errors = {code: {"description": text, "content": {"application/json": {
        "schema": ref("Error")}}} for code, text in (
        ("400", "Malformed JSON"), ("401", "Not authenticated"),
        ("403", "The lead is visible but not yours to edit, or a step is not allowed"),
        ("404", "Missing or not visible"), ("409", "A unique value clashes"),
        ("413", "Body larger than 1 MB"), ("422", "Validation failed; nothing was saved"))}
    paths = {"/api/objects/lead/{record_id}/convert": {"post": {
        "tags": ["Leads"], "summary": "Convert a lead into an account, a contact and "
                                      "optionally an opportunity (one transaction)",
        "parameters": [{"name": "record_id", "in": "path", "required": True,
                        "schema": {"type": "string", "maxLength": 64}}],
        "requestBody": {"required": False, "content": {"application/json": {
            "schema": ref("LeadConvert")}}},
        "responses": {"200": {"description": "the converted records", "content": {
            "application/json": {"schema": ref("LeadConversion")}}}, **errors}}}}
    return paths, schemas
