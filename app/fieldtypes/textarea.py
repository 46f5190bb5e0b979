"""textarea: several lines of plain text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Text
from sqlalchemy.types import TypeEngine

from app.fieldtypes.base import DEFAULT, MAX_LENGTH, SEARCHABLE, StudioOption, TextLike

if TYPE_CHECKING:
    from app.metadata.models import FieldDef


class Textarea(TextLike):
    name = "textarea"
    label = "Long text"
    description = "Several lines of plain text"
    widget = "textarea"
    multiline = True
    mass_settable = True

    def column_type(self, fd: FieldDef) -> TypeEngine:
        return Text()

    def type_options(self) -> list[StudioOption]:
        return [MAX_LENGTH, DEFAULT, SEARCHABLE]
