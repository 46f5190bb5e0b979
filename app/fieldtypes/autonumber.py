"""autonumber: a counter the server fills on create from a `format` such as "CASE-{0000}"."""

from __future__ import annotations

from app.fieldtypes.base import StudioOption, TextLike


class Autonumber(TextLike):
    name = "autonumber"
    label = "Auto number"
    description = "A numbered reference filled on create"
    computed = True

    def type_options(self) -> list[StudioOption]:
        return [StudioOption("format", "Format", "format",
                             "Text with a counter such as CASE-{0000}", required=True)]
