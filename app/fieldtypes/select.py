"""select: one value of a picklist (values with labels and colours)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.fieldtypes.base import (
    EMPTY_OPS,
    INDEX,
    SELECT_OPS,
    FieldError,
    FieldType,
    StudioOption,
)

if TYPE_CHECKING:
    from app.metadata.models import FieldDef

OPTION_COLORS = ("blue", "green", "purple", "red", "orange", "amber", "yellow", "pink",
                 "indigo", "teal", "grey")
PICKLIST = StudioOption("options", "Values", "options",
                        "Lower snake_case values, each with a label and a colour",
                        required=True, choices=OPTION_COLORS)


class Select(FieldType):
    name = "select"
    label = "Picklist"
    description = "One value of a list"
    widget = "select"
    filter_widget = "select"
    mass_settable = True
    askable = True

    def coerce(self, fd: FieldDef, value: Any) -> str:
        if not isinstance(value, str) or value not in fd.option_values:
            allowed = ", ".join(fd.option_values)
            raise FieldError(f"{value!r} is not one of: {allowed}")
        return value

    def openapi_schema(self, fd: FieldDef) -> dict[str, Any]:
        return {"type": "string", "enum": fd.option_values}

    def format(self, fd: FieldDef, value: Any) -> str:
        option = fd.option(value)
        return option.label if option else str(value)

    def widget_options(self, fd: FieldDef) -> dict[str, Any]:
        return {"options": {o.value: o.label for o in fd.options}}

    def filter_operators(self, fd: FieldDef) -> list[tuple[str, str]]:
        return SELECT_OPS + EMPTY_OPS

    def type_options(self) -> list[StudioOption]:
        return [PICKLIST, StudioOption("default", "Default value", "choice",
                                       "One of the values"), INDEX]
