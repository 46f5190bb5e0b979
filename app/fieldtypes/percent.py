"""percent: a percentage, stored as the number shown (25 means 25%)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.fieldtypes.number import Number, as_number

if TYPE_CHECKING:
    from app.metadata.models import FieldDef


class Percent(Number):
    name = "percent"
    label = "Percent"
    description = "A percentage (25 means 25%)"
    suffix = "%"

    def format(self, fd: FieldDef, value: Any) -> str:
        text = super().format(fd, value)
        return f"{text}%" if as_number(value) is not None else text
