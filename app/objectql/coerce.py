"""Type coercion and per-field checks: turn API input into the stored Python value."""

from __future__ import annotations

from typing import Any

from app import fieldtypes
from app.fieldtypes.base import FieldError
from app.metadata.models import FieldDef

__all__ = ["FieldError", "blank", "coerce_value"]


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def coerce_value(fd: FieldDef, value: Any) -> Any:
    """Return the stored form of `value` for field `fd`, or raise FieldError.

    The checks of each type live in its class in app/fieldtypes/."""
    if blank(value):
        return None
    try:
        field_type = fieldtypes.of(fd)
    except fieldtypes.UnknownFieldType:
        raise FieldError(f"field type {fd.value_type} cannot be written") from None
    return field_type.coerce(fd, value)
