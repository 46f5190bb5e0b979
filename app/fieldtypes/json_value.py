"""json: any JSON document (for integrations); not filterable, not sortable."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON
from sqlalchemy.types import TypeEngine

from app.fieldtypes.base import MAX_TEXT, FieldError, FieldType
from app.objectql.limits import structure_problem

if TYPE_CHECKING:
    from app.metadata.models import FieldDef


class Json(FieldType):
    name = "json"
    label = "JSON"
    description = "A JSON document"
    ordered = False
    sortable = False
    widget = "textarea"
    multiline = True
    filter_widget = None

    def column_type(self, fd: FieldDef) -> TypeEngine:
        return JSON()

    def coerce(self, fd: FieldDef, value: Any) -> Any:
        problem = structure_problem(value)
        if problem is not None:
            raise FieldError(problem)
        try:
            encoded = json.dumps(value)
        except RecursionError:
            raise FieldError("is nested too deeply") from None
        except (TypeError, ValueError):
            raise FieldError("is not JSON-serialisable") from None
        if len(encoded) > MAX_TEXT:
            raise FieldError(f"is larger than {MAX_TEXT} bytes of JSON")
        return value

    def openapi_schema(self, fd: FieldDef) -> dict[str, Any]:
        return {}

    def format(self, fd: FieldDef, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, default=str)

    def widget_options(self, fd: FieldDef) -> dict[str, Any]:
        return {}
