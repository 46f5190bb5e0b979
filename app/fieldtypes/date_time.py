"""datetime: a moment, stored in UTC without an offset; offsets given are converted."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime as DateTimeColumn
from sqlalchemy.types import TypeEngine

from app.fieldtypes.base import FieldError, kind_of
from app.fieldtypes.date import Date, format_date

if TYPE_CHECKING:
    from app.metadata.models import FieldDef

DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"


class DateTime(Date):
    name = "datetime"
    label = "Date and time"
    description = "A moment (stored in UTC)"
    widget = "datetime"
    askable = False

    def column_type(self, fd: FieldDef) -> TypeEngine:
        return DateTimeColumn()

    def coerce(self, fd: FieldDef, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                raise FieldError(f"'{value}' is not a date and time (use ISO 8601)") from None
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                try:  # 0001-01-01T00:00+05:00 is before year 1 in UTC
                    value = value.astimezone(UTC).replace(tzinfo=None)
                except OverflowError:
                    raise FieldError("is outside the years 1 to 9999 in UTC") from None
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        raise FieldError(f"expected a date and time, got {kind_of(value)}")

    def openapi_schema(self, fd: FieldDef) -> dict[str, Any]:
        # ISO 8601; stored and returned as UTC without an offset ("2025-05-14T10:30:00"),
        # which JSON Schema's RFC 3339 `date-time` format would reject.
        return {"type": "string", "pattern": DATETIME_PATTERN}

    def format(self, fd: FieldDef, value: Any) -> str:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value
        if isinstance(value, datetime):
            return f"{value:%b} {value.day}, {value.year} {value:%H:%M}"
        return format_date(value)
