"""Record CRUD, history, ObjectQL queries and the metadata registry over REST."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from app import runtime
from app.api.deps import Caller, caller, caller_of, current_context
from app.api.errors import ApiError
from app.api.offload import off_loop
from app.api.responses import json_body, json_response
from app.metadata.models import ObjectDef
from app.objectql.context import Context
from app.objectql.errors import NotFound, QueryError
from app.objectql.query import check_search, parse_expand, parse_filters_param, parse_sort

router = APIRouter(prefix="/api", tags=["objects"])
CurrentContext = Annotated[Context, Depends(current_context)]
# A plain `def` read verifies its caller in its own worker thread (deps.Caller).
CallerOf = Annotated[Caller, Depends(caller)]
API_MAX_LIMIT = 200


def _int_param(value: str | None, name: str, default: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise QueryError(f"{name} must be a whole number") from None
    if not 0 <= number <= high or (name == "limit" and number < 1):
        raise QueryError(f"{name} must be between {1 if name == 'limit' else 0} and {high}")
    return number


def _fields(value: str | None) -> list[str] | None:
    return [f.strip() for f in value.split(",") if f.strip()] if value else None


# The two reads every list and record page makes are plain Starlette routes, matched
# before any other: FastAPI's per-request parameter machinery (a dependency, eight query
# parameters validated one by one, its router's effective-context bookkeeping) was about a
# sixth of a GET of one account (docs/decisions.md). They parse what FastAPI parsed —
# strings, the last value of a repeated parameter — and hand their database work,
# verifying the caller included, to `off_loop` in one hop: a slow query never holds the
# event loop (and with it every other request and websocket of this process).
async def list_records(request: Request) -> Response:
    query = request.query_params
    return await off_loop(_list_records, request.path_params["object_name"],
                          caller_of(request), query.get("filters"), query.get("fields"),
                          query.get("sort"), query.get("limit"), query.get("skip"),
                          query.get("search"), query.get("view"), query.get("expand"))


def _list_records(object_name: str, who: Caller, filters: str | None, fields: str | None,
                  sort: str | None, limit: str | None, skip: str | None, search: str | None,
                  view: str | None, expand: str | None) -> Response:
    ctx = who.context()
    parsed_filters = parse_filters_param(filters)
    check_search(search)
    ql = runtime.services().ql
    with ql.replica_reads(ctx):  # a list: the read replica may serve it
        result = ql.find(
            ctx, object_name, fields=_fields(fields), filters=parsed_filters,
            sort=parse_sort(sort), limit=_int_param(limit, "limit", 20, API_MAX_LIMIT),
            skip=_int_param(skip, "skip", 0, 10_000_000), search=search, view=view,
            expand=parse_expand(expand), with_total=True)
    return json_response(result.to_dict())


@router.post("/objects/{object_name}", status_code=201)
async def create_record(object_name: str, request: Request, ctx: CurrentContext) -> Response:
    data = await json_body(request)
    ql = runtime.services().ql
    record = await off_loop(ql.insert, ctx, object_name, data)
    return json_response(record, 201, {"Location": f"/api/objects/{object_name}/{record['id']}",
                                       "ETag": str(record.get("version", ""))})


async def get_record(request: Request) -> Response:
    path, query = request.path_params, request.query_params
    return await off_loop(_get_record, path["object_name"], path["record_id"],
                          caller_of(request), query.get("fields"), query.get("expand"))


def _get_record(object_name: str, record_id: str, who: Caller, fields: str | None,
                expand: str | None) -> Response:
    ctx = who.context()
    record = runtime.services().ql.get(ctx, object_name, record_id, fields=_fields(fields),
                                       expand=parse_expand(expand))
    return json_response(record, headers={"ETag": str(record.get("version", ""))})


class _ReadRoute(Route):
    """A Starlette route that names itself in the scope as FastAPI's do (the request
    metrics label a request by its route's template)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


READ_ROUTES = [
    _ReadRoute("/api/objects/{object_name}", list_records, methods=["GET"]),
    _ReadRoute("/api/objects/{object_name}/{record_id}", get_record, methods=["GET"]),
]


def _if_match(request: Request) -> int | None:
    header = request.headers.get("if-match")
    if not header or header.strip() == "*":
        return None
    try:
        return int(header.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise ApiError(400, "If-Match must be the record version (a whole number)") from None


@router.patch("/objects/{object_name}/{record_id}")
async def update_record(object_name: str, record_id: str, request: Request,
                        ctx: CurrentContext) -> Response:
    expected = _if_match(request)
    changes = await json_body(request)
    ql = runtime.services().ql
    record = await off_loop(lambda: ql.update(ctx, object_name, record_id, changes,
                                                       expected_version=expected))
    return json_response(record, headers={"ETag": str(record.get("version", ""))})


@router.delete("/objects/{object_name}/{record_id}", status_code=204)
async def delete_record(object_name: str, record_id: str, request: Request,
                        ctx: CurrentContext) -> Response:
    expected = _if_match(request)
    ql = runtime.services().ql
    await off_loop(lambda: ql.delete(ctx, object_name, record_id,
                                              expected_version=expected))
    return Response(status_code=204)


@router.get("/objects/{object_name}/{record_id}/history")
def record_history(object_name: str, record_id: str, who: CallerOf) -> Response:
    ctx = who.context()
    entries = runtime.services().ql.history(ctx, object_name, record_id)
    return json_response({"records": entries, "total": len(entries)})


@router.post("/query")
async def query(request: Request, ctx: CurrentContext) -> Response:
    data = await json_body(request)
    ql = runtime.services().ql
    if isinstance(data.get("object"), str) and data["object"] not in ql.registry:
        raise QueryError(f"unknown object '{data['object']}'")
    try:
        result = await off_loop(ql.query, ctx, data, max_limit=API_MAX_LIMIT)
    except NotFound as exc:  # an unknown object inside a query is a bad query
        raise QueryError(exc.message) from None
    return json_response(result)


def describe(ql: Any, ctx: Context, obj: ObjectDef, full: bool) -> dict[str, Any]:
    perm = ql.security.object_permission(ctx, obj) if hasattr(
        ql.security, "object_permission") else None
    body: dict[str, Any] = {"name": obj.name, "label": obj.label,
                            "plural_label": obj.display_plural, "icon": obj.icon,
                            "name_field": obj.name_field, "sharing_model": obj.sharing_model,
                            "permissions": perm.model_dump() if perm else None}
    if full:
        body["fields"] = {n: fd.model_dump(mode="json", exclude_defaults=True)
                          | {"type": fd.type}
                          for n, fd in obj.all_fields.items()
                          if ql.allowed(ctx, "read", obj, n)}
        body["list_views"] = {n: v.model_dump(mode="json") for n, v in obj.list_views.items()}
        body["page_layouts"] = {n: v.model_dump(mode="json")
                                for n, v in obj.page_layouts.items()}
        body["validation_rules"] = [r.model_dump(mode="json") for r in obj.validation_rules]
    return body


@router.get("/metadata/objects", tags=["metadata"])
def metadata_objects(ctx: CurrentContext) -> Response:
    ql = runtime.services().ql
    objects = [describe(ql, ctx, o, False) for o in ql.readable_objects(ctx, include_system=True)]
    return json_response({"objects": objects, "version": runtime.services().studio.version()})


# GET /api/metadata/objects/{name} (the YAML-shaped document) and the changes live in
# app/api/routes_metadata.py.
