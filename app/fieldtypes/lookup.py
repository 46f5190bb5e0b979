"""lookup: the id of a record of another object (`reference_to`); a foreign key."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import String
from sqlalchemy.types import TypeEngine

from app.fieldtypes.base import (
    EMPTY_OPS,
    ID_LENGTH,
    INDEX,
    TEXT_OPS,
    FieldError,
    FieldType,
    StudioOption,
    kind_of,
)

if TYPE_CHECKING:
    from app.metadata.models import FieldDef

ID = re.compile(r"^[0-9a-z_-]{1,32}$")


class Lookup(FieldType):
    name = "lookup"
    label = "Lookup"
    description = "A link to a record of another object"
    lookup = True
    widget = "lookup"
    delete_behaviors: ClassVar[tuple[str, ...]] = ("set_null", "cascade", "restrict")

    def column_type(self, fd: FieldDef) -> TypeEngine:
        return String(ID_LENGTH)

    def coerce(self, fd: FieldDef, value: Any) -> str:
        if not isinstance(value, str) or not ID.match(value):
            raise FieldError(f"expected the id of a {fd.reference_to} record, "
                             f"got {kind_of(value)}")
        return value

    def openapi_schema(self, fd: FieldDef) -> dict[str, Any]:
        return {"type": "string", "maxLength": ID_LENGTH, "pattern": ID.pattern,
                "description": f"id of a {fd.reference_to}"}

    def format(self, fd: FieldDef, value: Any) -> str:
        """The expanded record (`{"id", "name", ...}`) reads as its name; an id as is."""
        if isinstance(value, dict):
            named = [v for k, v in value.items() if k != "id" and v not in (None, "")]
            return str(named[0]) if named else str(value.get("id") or "")
        return str(value)

    def widget_options(self, fd: FieldDef) -> dict[str, Any]:
        return {"reference_to": fd.reference_to}

    def filter_operators(self, fd: FieldDef) -> list[tuple[str, str]]:
        if is_user_lookup(fd):
            return [("=", "is"), ("!=", "is not"), *EMPTY_OPS]
        return TEXT_OPS + EMPTY_OPS

    def filter_widget_for(self, fd: FieldDef) -> str | None:
        return "user" if is_user_lookup(fd) else "text"

    def type_options(self) -> list[StudioOption]:
        return [
            StudioOption("reference_to", "Related object", "object", required=True),
            StudioOption("delete_behavior", "When the related record is deleted", "choice",
                         choices=self.delete_behaviors, default=self.delete_behaviors[0]),
            INDEX,
        ]


def is_user_lookup(fd: FieldDef) -> bool:
    return fd.reference_to == "user"
