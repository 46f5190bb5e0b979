"""multiselect: any number of values of a picklist, stored as a JSON list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON
from sqlalchemy.types import TypeEngine

from app.fieldtypes.base import FieldError, StudioOption, kind_of
from app.fieldtypes.select import PICKLIST, Select

if TYPE_CHECKING:
    from app.metadata.models import FieldDef


class Multiselect(Select):
    name = "multiselect"
    label = "Multi-picklist"
    description = "Several values of a list"
    ordered = False
    sortable = False
    widget = "multiselect"
    mass_settable = False
    askable = False

    def column_type(self, fd: FieldDef) -> TypeEngine:
        return JSON()

    def coerce(self, fd: FieldDef, value: Any) -> list[str]:  # type: ignore[override]
        items = value.split(";") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise FieldError(f"expected a list of values, got {kind_of(value)}")
        result: list[str] = []
        for item in items:
            item = item.strip() if isinstance(item, str) else item
            if item not in result:
                result.append(super().coerce(fd, item))
        return result

    def openapi_schema(self, fd: FieldDef) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string", "enum": fd.option_values},
                "uniqueItems": True}

    def format(self, fd: FieldDef, value: Any) -> str:
        values = value if isinstance(value, list) else [value]
        return ", ".join(o.label if (o := fd.option(v)) else str(v) for v in values)

    def filter_operators(self, fd: FieldDef) -> list[tuple[str, str]]:
        return [("contains", "includes")]

    def type_options(self) -> list[StudioOption]:
        return [PICKLIST]
