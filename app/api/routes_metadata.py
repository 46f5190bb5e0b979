"""The ⚑ metadata API: objects and dashboards as their YAML-shaped documents, versioned
changes, history and revert — all through the metadata studio service (app/metadata/studio.py).

Optimistic versions: GET answers with `ETag: "<metadata version>"`; a change sends that
back as `If-Match` (or `?base_version=N`). A change without one is refused (428): a
save must never overwrite another admin's work silently. A stale one gets 409 with the
other admin's diff. Checks that fail give 422 with the loader's own messages.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app import runtime
from app.api.deps import current_context
from app.api.errors import ApiError
from app.api.responses import json_body, json_response
from app.metadata.documents import merge_patch
from app.metadata.studio import MetadataStudio, VersionInfo
from app.objectql.context import Context
from app.objectql.errors import NotFound, PermissionDenied

router = APIRouter(prefix="/api/metadata", tags=["metadata"])
CurrentContext = Annotated[Context, Depends(current_context)]


def _studio() -> MetadataStudio:
    return runtime.services().studio


def _admin(ctx: Context) -> None:
    if not (ctx.is_system or ctx.role == "admin"):
        raise PermissionDenied(f"your role ({ctx.role}) may not change metadata")


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"', "X-Metadata-Version": str(version)}


def _base_version(request: Request) -> int:
    raw = request.query_params.get("base_version") or request.headers.get("if-match")
    if raw is None or not raw.strip() or raw.strip() == "*":
        raise ApiError(428, "send the metadata version you edited as If-Match (the ETag "
                            "of GET) or ?base_version=N", code="precondition_required")
    try:
        return int(raw.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise ApiError(400, "If-Match / base_version must be a metadata version number "
                            "(a whole number)") from None


def _comment(request: Request) -> str:
    return (request.query_params.get("comment") or "")[:500]


def _saved(info: VersionInfo, document: dict[str, Any] | None, status: int = 200
           ) -> Response:
    body: dict[str, Any] = {"version": info.to_dict()}
    if document is not None:
        body["document"] = document
    return json_response(body, status, _etag(info.number))


@router.get("/objects/{name}")
def get_object(name: str, ctx: CurrentContext) -> Response:
    """The object's document in the shape of its YAML file; fields the caller may not
    read are left out (admins see everything)."""
    services = runtime.services()
    ql, studio = services.ql, services.studio
    readable = {o.name: o for o in ql.readable_objects(ctx, include_system=True)}
    if name not in readable:
        raise NotFound(f"unknown object '{name}'")
    obj = readable[name]
    if obj.system:
        document = obj.model_dump(mode="json", exclude_unset=True)
    else:
        document = studio.object_document(name)
    fields = document.get("fields") or {}
    document["fields"] = {n: spec for n, spec in fields.items()
                          if (fd := obj.field(n)) is None
                          or ql.security.field_readable(ctx, obj, fd)}
    return json_response(document, headers=_etag(studio.version()))


@router.put("/objects/{name}")
async def put_object(name: str, request: Request, ctx: CurrentContext) -> Response:
    """Replace (or create) the object with this document, as a new version."""
    _admin(ctx)
    base, comment = _base_version(request), _comment(request)
    document = await json_body(request)
    studio = _studio()
    info = await run_in_threadpool(lambda: studio.save_object(
        ctx, name, document, base_version=base, comment=comment))
    return _saved(info, studio.object_document(name))


@router.patch("/objects/{name}")
async def patch_object(name: str, request: Request, ctx: CurrentContext) -> Response:
    """Merge-patch (RFC 7386) the document: `{"fields": {"region": {...}}}` adds or
    changes a field, `{"fields": {"region": null}}` hides it (its data is kept)."""
    _admin(ctx)
    base, comment = _base_version(request), _comment(request)
    patch = await json_body(request)
    studio = _studio()

    def apply() -> VersionInfo:
        document = merge_patch(studio.object_document(name), patch)
        return studio.save_object(ctx, name, document, base_version=base, comment=comment)

    info = await run_in_threadpool(apply)
    return _saved(info, studio.object_document(name))


@router.post("/objects", status_code=201)
async def create_object(request: Request, ctx: CurrentContext) -> Response:
    """A new custom object: its table, REST endpoints and OpenAPI schema appear at once."""
    _admin(ctx)
    base, comment = _base_version(request), _comment(request)
    document = await json_body(request)
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise ApiError(422, "the document needs a name", code="validation_failed",
                       details=[{"field": "name", "message": "missing required key 'name'"}])
    studio = _studio()
    if name in studio.object_names() or name in runtime.services().ql.registry:
        raise ApiError(409, f"object '{name}' already exists; PUT "
                            f"/api/metadata/objects/{name} changes it", code="conflict")
    info = await run_in_threadpool(lambda: studio.save_object(
        ctx, name, document, base_version=base, comment=comment))
    response = _saved(info, studio.object_document(name), 201)
    response.headers["Location"] = f"/api/metadata/objects/{name}"
    return response


@router.get("/dashboards")
def list_dashboards(ctx: CurrentContext) -> Response:
    _admin(ctx)
    studio = _studio()
    return json_response({"dashboards": studio.dashboard_names()},
                         headers=_etag(studio.version()))


@router.get("/dashboards/{name}")
def get_dashboard(name: str, ctx: CurrentContext) -> Response:
    """The dashboard's document in the shape of its YAML file (admins)."""
    _admin(ctx)
    studio = _studio()
    return json_response(studio.dashboard_document(name), headers=_etag(studio.version()))


@router.put("/dashboards/{name}")
async def put_dashboard(name: str, request: Request, ctx: CurrentContext) -> Response:
    """Replace (or create) the dashboard with this document, as a new version."""
    _admin(ctx)
    base, comment = _base_version(request), _comment(request)
    document = await json_body(request)
    studio = _studio()
    info = await run_in_threadpool(lambda: studio.save_dashboard(
        ctx, name, document, base_version=base, comment=comment))
    return _saved(info, studio.dashboard_document(name))


@router.patch("/dashboards/{name}")
async def patch_dashboard(name: str, request: Request, ctx: CurrentContext) -> Response:
    """Merge-patch (RFC 7386) the document. `widgets` may also be a mapping by widget
    name: `{"widgets": {"revenue": {"title": "Bookings"}}}` patches that widget, null
    removes it, a new name appends it (a list replaces them all)."""
    _admin(ctx)
    base, comment = _base_version(request), _comment(request)
    patch = await json_body(request)
    studio = _studio()

    def apply() -> VersionInfo:
        current = studio.dashboard_document(name)
        document = merge_patch(current, {k: v for k, v in patch.items() if k != "widgets"}
                               if isinstance(patch, dict) and isinstance(
                                   patch.get("widgets"), dict) else patch)
        if isinstance(patch, dict) and isinstance(patch.get("widgets"), dict):
            document["widgets"] = patch_widgets(current.get("widgets") or [],
                                                patch["widgets"])
        return studio.save_dashboard(ctx, name, document, base_version=base,
                                     comment=comment)

    info = await run_in_threadpool(apply)
    return _saved(info, studio.dashboard_document(name))


def patch_widgets(widgets: list[Any], patch: dict[str, Any]) -> list[Any]:
    """Widgets merge-patched by name, in their order; new names at the end."""
    result: list[Any] = []
    for widget in widgets:
        name = widget.get("name") if isinstance(widget, dict) else None
        if name in patch:
            if patch[name] is not None:
                result.append(merge_patch(widget, patch[name]))
        else:
            result.append(widget)
    known = {w.get("name") for w in widgets if isinstance(w, dict)}
    result += [{"name": n, **v} if isinstance(v, dict) else v
               for n, v in patch.items() if n not in known and v is not None]
    return result


@router.post("/dashboards", status_code=201)
async def create_dashboard(request: Request, ctx: CurrentContext) -> Response:
    """A new dashboard, served at /dashboard/{name} at once."""
    _admin(ctx)
    base, comment = _base_version(request), _comment(request)
    document = await json_body(request)
    name = document.get("name") if isinstance(document, dict) else None
    if not isinstance(name, str) or not name:
        raise ApiError(422, "the document needs a name", code="validation_failed",
                       details=[{"field": "name", "message": "missing required key 'name'"}])
    studio = _studio()
    if name in studio.dashboard_names():
        raise ApiError(409, f"dashboard '{name}' already exists; PUT "
                            f"/api/metadata/dashboards/{name} changes it", code="conflict")
    info = await run_in_threadpool(lambda: studio.save_dashboard(
        ctx, name, document, base_version=base, comment=comment))
    response = _saved(info, studio.dashboard_document(name), 201)
    response.headers["Location"] = f"/api/metadata/dashboards/{name}"
    return response


@router.get("/permissions/{role}")
def get_permissions(role: str, ctx: CurrentContext) -> Response:
    _admin(ctx)
    studio = _studio()
    return json_response(studio.permissions_document(role), headers=_etag(studio.version()))


@router.put("/permissions/{role}")
async def put_permissions(role: str, request: Request, ctx: CurrentContext) -> Response:
    """Replace a role's permission set (object and field rights) as a new version."""
    _admin(ctx)
    base, comment = _base_version(request), _comment(request)
    document = await json_body(request)
    studio = _studio()
    info = await run_in_threadpool(lambda: studio.save_permissions(
        ctx, role, document, base_version=base, comment=comment))
    return _saved(info, studio.permissions_document(role))


@router.get("/versions")
def list_versions(ctx: CurrentContext, limit: str | None = None) -> Response:
    _admin(ctx)
    studio = _studio()
    try:
        count = int(limit) if limit not in (None, "") else 100
    except ValueError:
        raise ApiError(400, "limit must be a whole number") from None
    items = studio.versions(max(1, min(count, 1000)))
    return json_response({"current": studio.version(),
                          "versions": [v.to_dict() for v in items]},
                         headers=_etag(studio.version()))


def _number(raw: str) -> int:
    """A version number from the path; anything else names no version (404)."""
    if not raw.isdigit():
        raise NotFound(f"unknown metadata version {raw[:40]!r}")
    return int(raw)


@router.get("/versions/{raw_number}")
def get_version(raw_number: str, ctx: CurrentContext) -> Response:
    _admin(ctx)
    studio = _studio()
    number = _number(raw_number)
    found = studio.version_info(number)
    return json_response({**found.to_dict(), "diff": studio.diff(number)})


@router.post("/versions/{raw_number}/revert")
async def revert_version(raw_number: str, request: Request, ctx: CurrentContext
                         ) -> Response:
    """Make version `number` live again, as a new version (0 = the shipped YAML)."""
    _admin(ctx)
    number = _number(raw_number)
    comment = _comment(request)
    studio = _studio()
    info = await run_in_threadpool(lambda: studio.revert(ctx, number, comment=comment))
    return _saved(info, None)


def openapi_paths() -> dict[str, Any]:
    """The metadata API in the OpenAPI document (app/api/openapi.py adds these)."""
    from app.api.openapi import _errors

    doc = {"application/json": {"schema": {"type": "object", "description":
                                           "the document in the shape of its YAML file"}}}
    saved = {"description": "the new version and the saved document",
             "headers": {"ETag": {"schema": {"type": "string"},
                                  "description": "the new metadata version"}},
             "content": {"application/json": {"schema": {
                 "type": "object", "required": ["version"], "properties": {
                     "version": {"$ref": "#/components/schemas/MetadataVersion"},
                     "document": {"type": "object"}}}}}}
    change_params = [
        {"name": "If-Match", "in": "header", "schema": {"type": "string"},
         "description": "the metadata version you edited (ETag of GET); or base_version"},
        {"name": "base_version", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "comment", "in": "query", "schema": {"type": "string", "maxLength": 500}}]
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    role = {"name": "role", "in": "path", "required": True, "schema": {"type": "string"}}
    number = {"name": "number", "in": "path", "required": True,
              "schema": {"type": "integer", "minimum": 0}}
    change_errors = _errors("400", "401", "403", "409", "413", "422", "428")
    return {
        "/api/metadata/objects/{name}": {
            "get": {"tags": ["metadata"], "summary": "An object's document (YAML shape)",
                    "parameters": [name], "responses": {
                        "200": {"description": "the document", "content": doc},
                        **_errors("401", "404")}},
            "put": {"tags": ["metadata"], "summary": "Replace an object (admins; a new "
                    "version, applied live)", "parameters": [name, *change_params],
                    "requestBody": {"required": True, "content": doc},
                    "responses": {"200": saved, **change_errors}},
            "patch": {"tags": ["metadata"], "summary": "Merge-patch an object (admins; "
                      "null hides a field, its data kept)",
                      "parameters": [name, *change_params],
                      "requestBody": {"required": True, "content": doc},
                      "responses": {"200": saved, **change_errors}}},
        "/api/metadata/objects": {"post": {
            "tags": ["metadata"], "summary": "Create a custom object (admins): its table, "
            "REST endpoints and OpenAPI schema appear at once",
            "parameters": change_params, "requestBody": {"required": True, "content": doc},
            "responses": {"201": saved, **change_errors}}},
        "/api/metadata/dashboards": {
            "get": {"tags": ["metadata"], "summary": "Dashboard names (admins)",
                    "responses": {"200": {"description": "names", "content": {
                        "application/json": {"schema": {"type": "object", "properties": {
                            "dashboards": {"type": "array", "items": {"type": "string"}}}}}}},
                        **_errors("401", "403")}},
            "post": {"tags": ["metadata"], "summary": "Create a dashboard (admins; a new "
                     "version, served at once)", "parameters": change_params,
                     "requestBody": {"required": True, "content": doc},
                     "responses": {"201": saved, **change_errors}}},
        "/api/metadata/dashboards/{name}": {
            "get": {"tags": ["metadata"], "summary": "A dashboard's document (admins)",
                    "parameters": [name], "responses": {
                        "200": {"description": "the document", "content": doc},
                        **_errors("401", "403", "404")}},
            "put": {"tags": ["metadata"], "summary": "Replace a dashboard (admins; a new "
                    "version, applied live)", "parameters": [name, *change_params],
                    "requestBody": {"required": True, "content": doc},
                    "responses": {"200": saved, **change_errors}},
            "patch": {"tags": ["metadata"], "summary": "Merge-patch a dashboard (admins; "
                      "widgets may be a mapping by widget name, null removes one)",
                      "parameters": [name, *change_params],
                      "requestBody": {"required": True, "content": doc},
                      "responses": {"200": saved, **change_errors}}},
        "/api/metadata/permissions/{role}": {
            "get": {"tags": ["metadata"], "summary": "A role's permission set (admins)",
                    "parameters": [role], "responses": {
                        "200": {"description": "the document", "content": doc},
                        **_errors("401", "403", "404")}},
            "put": {"tags": ["metadata"], "summary": "Replace a role's permission set "
                    "(admins)", "parameters": [role, *change_params],
                    "requestBody": {"required": True, "content": doc},
                    "responses": {"200": saved, **change_errors}}},
        "/api/metadata/versions": {"get": {
            "tags": ["metadata"], "summary": "Metadata history, newest first (admins)",
            "parameters": [{"name": "limit", "in": "query", "schema": {
                "type": "integer", "minimum": 1, "maximum": 1000}}],
            "responses": {"200": {"description": "versions", "content": {"application/json": {
                "schema": {"type": "object", "properties": {
                    "current": {"type": "integer"}, "versions": {"type": "array", "items": {
                        "$ref": "#/components/schemas/MetadataVersion"}}}}}}},
                **_errors("400", "401", "403")}}},
        "/api/metadata/versions/{number}": {"get": {
            "tags": ["metadata"], "summary": "One version with its unified YAML diff (admins)",
            "parameters": [number], "responses": {
                "200": {"description": "the version", "content": {"application/json": {
                    "schema": {"type": "object"}}}}, **_errors("401", "403", "404")}}},
        "/api/metadata/versions/{number}/revert": {"post": {
            "tags": ["metadata"], "summary": "Make a version live again, as a new version "
            "(admins; 0 = the shipped YAML)", "parameters": [number, change_params[2]],
            "responses": {"200": saved, **_errors("401", "403", "404", "409", "422")}}},
    }


VERSION_SCHEMA = {"type": "object", "required": ["number", "comment", "summary"],
                  "properties": {"number": {"type": "integer"},
                                 "author": {"type": ["string", "null"]},
                                 "author_name": {"type": "string"},
                                 "at": {"type": ["string", "null"]},
                                 "comment": {"type": "string"},
                                 "summary": {"type": "string"}}}
