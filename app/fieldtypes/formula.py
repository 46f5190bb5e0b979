"""formula: computed on every save from an expression; behaves as its result `format`.

Storage, checks, display and filters of a formula field are those of its result type
(`FieldDef.value_type`), so `app.fieldtypes.of(fd)` answers with that type; this class
is what the studio offers when an admin picks "Formula".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.types import TypeEngine

from app.fieldtypes.base import FieldType, StudioOption

if TYPE_CHECKING:
    from app.metadata.models import FieldDef

RESULT_FORMATS = ("currency", "number", "percent", "boolean", "text", "date")


class Formula(FieldType):
    name = "formula"
    label = "Formula"
    description = "Calculated from other fields on every save"
    computed = True

    def result(self, fd: FieldDef) -> FieldType:
        from app.fieldtypes import get

        return get(fd.format or "text")

    def column_type(self, fd: FieldDef) -> TypeEngine:
        return self.result(fd).column_type(fd)

    def coerce(self, fd: FieldDef, value: Any) -> Any:
        return self.result(fd).coerce(fd, value)

    def openapi_schema(self, fd: FieldDef) -> dict[str, Any]:
        return self.result(fd).openapi_schema(fd)

    def format(self, fd: FieldDef, value: Any) -> str:
        return self.result(fd).format(fd, value)

    def filter_operators(self, fd: FieldDef) -> list[tuple[str, str]]:
        return self.result(fd).filter_operators(fd)

    def filter_widget_for(self, fd: FieldDef) -> str | None:
        return self.result(fd).filter_widget_for(fd)

    def type_options(self) -> list[StudioOption]:
        return [
            StudioOption("formula", "Formula", "expression",
                         "An expression over this record's fields, e.g. amount * probability "
                         "/ 100", required=True),
            StudioOption("format", "Result type", "choice", choices=RESULT_FORMATS,
                         default="text"),
            StudioOption("scale", "Decimal places", "int", "For number results",
                         minimum=0, maximum=18),
        ]
