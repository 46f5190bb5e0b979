"""email: an email address, checked for its shape, shown as a mailto: link."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from app.fieldtypes.base import FieldError, TextLike
from app.fieldtypes.text import Text

if TYPE_CHECKING:
    from app.metadata.models import FieldDef

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


class Email(Text):
    name = "email"
    label = "Email"
    description = "An email address"
    default_limit = TextLike.default_limit
    input_type = "email"
    check_on_blur = True
    askable = False

    def coerce(self, fd: FieldDef, value: Any) -> str:
        text = self.text(fd, value).strip()
        if not EMAIL.match(text):
            raise FieldError(f"'{text}' is not a valid email address")
        return text

    def href(self, value: str) -> str | None:
        return f"mailto:{value}" if "@" in value else None
