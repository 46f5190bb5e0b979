"""date: a calendar day (YYYY-MM-DD); a date-time given is cut to its day."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date as DateColumn
from sqlalchemy.types import TypeEngine

from app.fieldtypes.base import (
    DATE_OPS,
    DEFAULT,
    EMPTY_OPS,
    INDEX,
    FieldError,
    FieldType,
    StudioOption,
    kind_of,
)

if TYPE_CHECKING:
    from app.metadata.models import FieldDef


class Date(FieldType):
    name = "date"
    label = "Date"
    description = "A calendar day"
    temporal = True
    widget = "date"
    filter_widget = "date"
    mass_settable = True
    askable = True

    def column_type(self, fd: FieldDef) -> TypeEngine:
        return DateColumn()

    def coerce(self, fd: FieldDef, value: Any) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            text = value.strip()
            try:
                return date.fromisoformat(text[:10] if len(text) >= 10 else text)
            except ValueError:
                raise FieldError(f"'{value}' is not a date (use YYYY-MM-DD)") from None
        raise FieldError(f"expected a date, got {kind_of(value)}")

    def openapi_schema(self, fd: FieldDef) -> dict[str, Any]:
        return {"type": "string", "format": "date"}

    def format(self, fd: FieldDef, value: Any) -> str:
        return format_date(value)

    def widget_options(self, fd: FieldDef) -> dict[str, Any]:
        return {}

    def filter_operators(self, fd: FieldDef) -> list[tuple[str, str]]:
        return DATE_OPS + EMPTY_OPS

    def type_options(self) -> list[StudioOption]:
        return [DEFAULT, INDEX]


def format_date(value: Any) -> str:
    """"May 14, 2025"; text that is no date is shown as it is."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, date):
        return f"{value:%b} {value.day}, {value.year}"
    return str(value)
