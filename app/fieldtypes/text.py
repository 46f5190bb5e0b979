"""text: one line of text, 255 characters unless `max_length` says otherwise."""

from __future__ import annotations

from typing import ClassVar

from app.fieldtypes.base import (
    DEFAULT,
    INDEX,
    MAX_LENGTH,
    SEARCHABLE,
    UNIQUE,
    StudioOption,
    TextLike,
)


class Text(TextLike):
    name = "text"
    label = "Text"
    description = "One line of text"
    default_limit: ClassVar[int] = 255
    mass_settable = True
    askable = True

    def type_options(self) -> list[StudioOption]:
        return [MAX_LENGTH, DEFAULT, UNIQUE, INDEX, SEARCHABLE]
