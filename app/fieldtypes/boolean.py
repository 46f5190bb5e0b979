"""boolean: yes or no (a checkbox)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean as BooleanColumn
from sqlalchemy.types import TypeEngine

from app.fieldtypes.base import FieldError, FieldType, StudioOption, kind_of

if TYPE_CHECKING:
    from app.metadata.models import FieldDef

TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


class Boolean(FieldType):
    name = "boolean"
    label = "Checkbox"
    description = "Yes or no"
    ordered = False
    widget = "checkbox"
    filter_widget = "boolean"
    mass_settable = True

    def column_type(self, fd: FieldDef) -> TypeEngine:
        return BooleanColumn()

    def coerce(self, fd: FieldDef, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in (*TRUE_WORDS, *FALSE_WORDS):
            return value.strip().lower() in TRUE_WORDS
        raise FieldError(f"expected true or false, got {kind_of(value)}")

    def openapi_schema(self, fd: FieldDef) -> dict[str, Any]:
        return {"type": "boolean"}

    def format(self, fd: FieldDef, value: Any) -> str:
        return "Yes" if value else "No"

    def widget_options(self, fd: FieldDef) -> dict[str, Any]:
        return {}

    def filter_operators(self, fd: FieldDef) -> list[tuple[str, str]]:
        return [("=", "is")]

    def type_options(self) -> list[StudioOption]:
        return [StudioOption("default", "Checked by default", "bool", default=False)]
