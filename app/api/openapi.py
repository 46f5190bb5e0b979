"""OpenAPI 3.1 for the REST API, with a request and response schema per object, built
from metadata (types, enums for picklists, required fields, limits)."""

from __future__ import annotations

from typing import Any

from app import fieldtypes
from app.metadata.models import FieldDef, ObjectDef
from app.metadata.registry import Registry
from app.objectql.query import AGG_FUNCTIONS as AGGREGATES

ERROR_CODES = {"400": "Bad query or malformed input", "401": "Not authenticated",
               "403": "Not allowed for this role", "404": "Missing or not visible",
               "409": "Stale version or unique clash", "413": "Body larger than 1 MB",
               "422": "Validation failed", "428": "Send the version you edited (If-Match)",
               "429": "Too many requests"}




def _title(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def field_schema(fd: FieldDef) -> dict[str, Any]:
    """The JSON schema of one field's value; each type owns its own (app/fieldtypes/)."""
    schema = dict(fieldtypes.of(fd).openapi_schema(fd))
    if fd.help or fd.label:
        schema.setdefault("description", fd.help or fd.display_label)
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]} if schema else {}


def object_schemas(obj: ObjectDef) -> dict[str, dict[str, Any]]:
    name = _title(obj.name)
    record_props: dict[str, Any] = {}
    for fname, fd in obj.all_fields.items():
        schema = field_schema(fd)
        if fd.is_lookup:  # `expand` turns a lookup into the related record
            schema = {"anyOf": [schema, {"type": "object"}, {"type": "null"}]}
        elif fname != "id":
            schema = _nullable(schema)
        record_props[fname] = schema
    writable = {n: fd for n, fd in obj.all_fields.items()
                if not fd.is_computed and not fd.readonly and (not fd.system or n == "owner")}
    input_props = {n: _nullable(field_schema(fd)) for n, fd in writable.items()}
    required = [n for n, fd in writable.items() if fd.required]
    return {
        name: {"type": "object", "title": obj.label, "properties": record_props,
               "required": ["id"], "additionalProperties": True},
        f"{name}Create": {"type": "object", "properties": input_props, "required": required,
                          "additionalProperties": False},
        f"{name}Update": {"type": "object", "properties": input_props,
                          "additionalProperties": False},
        f"{name}List": {"type": "object", "required": ["records"], "properties": {
            "records": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}},
            "total": {"type": "integer"}, "total_capped": {"type": "boolean"}}},
    }


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"description": ERROR_CODES[code], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for code in codes}


def _json(ref: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


LIST_PARAMS = [
    {"name": "filters", "in": "query", "schema": {"type": "string"},
     "description": 'JSON list of conditions, e.g. [["amount", ">", 1000]]'},
    {"name": "fields", "in": "query", "schema": {"type": "string"},
     "description": "comma-separated field names"},
    {"name": "sort", "in": "query", "schema": {"type": "string"}, "description": "-amount,name"},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                 "maximum": 200}},
    {"name": "skip", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {"name": "search", "in": "query", "schema": {"type": "string", "maxLength": 200}},
    {"name": "view", "in": "query", "schema": {"type": "string"}},
    {"name": "expand", "in": "query", "schema": {"type": "string"}},
]


def query_schema(object_names: list[str]) -> dict[str, Any]:
    """The ⚑ ObjectQL query shape; with `group_by` or `aggregate` it is an aggregation."""
    names = {"type": "array", "items": {"type": "string"}, "maxItems": 200}
    pair = {"type": "array", "minItems": 2, "maxItems": 2}
    return {
        "type": "object", "required": ["object"], "additionalProperties": False,
        "properties": {
            "object": {"type": "string", "enum": object_names},
            "fields": names,
            "filters": {"type": "array", "description": 'conditions [field, operator, value], '
                        'implicitly ANDed; "and"/"or" and nested lists form groups'},
            "sort": {"type": "array", "maxItems": 5, "items": {"anyOf": [
                {"type": "string", "description": "name or -name"},
                {**pair, "prefixItems": [{"type": "string"},
                                         {"type": "string", "enum": ["asc", "desc"]}]}]}},
            "limit": {"type": "integer", "minimum": 1, "maximum": 200},
            "skip": {"type": "integer", "minimum": 0, "maximum": 10_000_000},
            "expand": {"anyOf": [names, {"type": "object", "additionalProperties": {
                "anyOf": [names, {"type": "null"}]}}]},
            "search": {"type": "string", "maxLength": 200},
            "view": {"type": "string"},
            "group_by": names,
            "aggregate": {"type": "object", "additionalProperties": {
                **pair, "prefixItems": [{"type": "string", "enum": list(AGGREGATES)},
                                        {"type": "string"}]}},
        },
    }


def build_openapi(registry: Registry) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": {
        "type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message", "details"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object"}}}}}}}
    paths: dict[str, Any] = {
        "/api/auth/token": {"post": {
            "summary": "Log in (OAuth2 password form)", "security": [],
            "requestBody": {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "required": ["username", "password"],
                    "properties": {"username": {"type": "string"},
                                   "password": {"type": "string"}}}}}},
            "responses": {"200": {"description": "a bearer token", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "access_token": {"type": "string"}, "token_type": {"type": "string"},
                    "expires_in": {"type": "integer"}}}}}},
                **_errors("400", "401", "422", "429")}}},
        "/api/me": {"get": {"summary": "The current user", "responses": {
            "200": {"description": "user, role and permissions",
                    "content": {"application/json": {"schema": {"type": "object"}}}},
            **_errors("401")}}},
        "/api/query": {"post": {"summary": "ObjectQL query or aggregation", "requestBody": {
            "required": True, "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Query"}}}},
            "responses": {"200": {"description": "records", "content": {"application/json": {
                "schema": {"type": "object", "required": ["records"], "properties": {
                    "records": {"type": "array", "items": {"type": "object"}},
                    "total": {"type": "integer"}, "total_capped": {"type": "boolean"}}}}}},
                **_errors("400", "401", "403", "413")}}},
        "/api/activities/recent": {"get": {"summary": "Newest activities you may see",
            "parameters": [{"name": "limit", "in": "query", "schema": {
                "type": "integer", "minimum": 1, "maximum": 100}}],
            "responses": {"200": {"description": "activities", "content": {
                "application/json": {"schema": {"type": "object", "required": ["records"]}}}},
                **_errors("400", "401")}}},
        "/api/ai/smart-briefing": {"post": {
            "summary": "AI briefing of an account (JSON, or server-sent events with "
                       "Accept: text/event-stream: delta, notice, briefing, done, error)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["account_id"], "additionalProperties": False,
                "properties": {"account_id": {"type": "string", "maxLength": 64},
                               "regenerate": {"type": "boolean"}}}}}},
            "responses": {"200": {"description": "the briefing", "content": {
                "application/json": {"schema": {"type": "object", "required": ["briefing"]}},
                "text/event-stream": {"schema": {"type": "string"}}}},
                **_errors("400", "401", "404", "413", "422", "429")}}},
        "/api/metadata/objects": {"get": {"summary": "Objects you may read", "responses": {
            "200": {"description": "objects", "content": {"application/json": {
                "schema": {"type": "object"}}}}, **_errors("401")}}},
        "/health": {"get": {"summary": "Health", "security": [], "responses": {
            "200": {"description": "ok", "content": {"application/json": {
                "schema": {"type": "object"}}}},
            "503": {"description": "degraded"}}}},
    }
    id_param = {"name": "record_id", "in": "path", "required": True,
                "schema": {"type": "string", "maxLength": 64}}
    if_match = {"name": "If-Match", "in": "header", "required": False,
                "schema": {"type": "string"}, "description": "the version you edited"}
    schemas["Query"] = query_schema([obj.name for obj in registry.values()])
    for obj in registry.values():
        name = _title(obj.name)
        schemas.update(object_schemas(obj))
        base = f"/api/objects/{obj.name}"
        tag = [obj.display_plural]
        paths[base] = {
            "get": {"tags": tag, "summary": f"List {obj.display_plural.lower()}",
                    "parameters": LIST_PARAMS, "responses": {
                        "200": _json(f"{name}List"), **_errors("400", "401", "403")}},
            "post": {"tags": tag, "summary": f"Create a {obj.label.lower()}",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": f"#/components/schemas/{name}Create"}}}},
                     "responses": {"201": _json(name, "created"),
                                   **_errors("400", "401", "403", "409", "413", "422")}},
        }
        paths[f"{base}/{{record_id}}"] = {
            "get": {"tags": tag, "summary": f"One {obj.label.lower()}",
                    "parameters": [id_param, LIST_PARAMS[1], LIST_PARAMS[7]],
                    "responses": {"200": _json(name), **_errors("400", "401", "403", "404")}},
            "patch": {"tags": tag, "summary": f"Update a {obj.label.lower()}",
                      "parameters": [id_param, if_match],
                      "requestBody": {"required": True, "content": {"application/json": {
                          "schema": {"$ref": f"#/components/schemas/{name}Update"}}}},
                      "responses": {"200": _json(name), **_errors(
                          "400", "401", "403", "404", "409", "413", "422")}},
            "delete": {"tags": tag, "summary": f"Delete a {obj.label.lower()}",
                       "parameters": [id_param, if_match],
                       "responses": {"204": {"description": "deleted"},
                                     **_errors("400", "401", "403", "404", "409")}},
        }
        paths[f"{base}/{{record_id}}/history"] = {"get": {
            "tags": tag, "summary": "Audit trail", "parameters": [id_param],
            "responses": {"200": {"description": "entries", "content": {"application/json": {
                "schema": {"type": "object"}}}}, **_errors("401", "403", "404")}}}
    from app.api.routes_metadata import VERSION_SCHEMA
    from app.api.routes_metadata import openapi_paths as metadata_paths

    for path, operations in metadata_paths().items():
        paths.setdefault(path, {}).update(operations)
    schemas["MetadataVersion"] = VERSION_SCHEMA
    from app.api.routes_dashboards import openapi_paths as dashboard_paths

    paths.update(dashboard_paths())
    if "lead" in registry:
        from app.api.routes_leads import openapi_paths as lead_paths

        extra_paths, extra_schemas = lead_paths()
        paths.update(extra_paths)
        schemas.update(extra_schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "HotCRM API", "version": "1.0",
                 "description": "Generated from metadata. Errors use the envelope "
                                "{error: {code, message, details}}."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "bearerFormat": "JWT"}},
                       "schemas": schemas},
        "paths": paths,
    }
