"""phone: a phone number (digits and + ( ) - . / x), shown as a tel: link."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from app.fieldtypes.base import FieldError, TextLike
from app.fieldtypes.text import Text

if TYPE_CHECKING:
    from app.metadata.models import FieldDef

PHONE = re.compile(r"^[0-9+()\-./ xXext]{5,40}$")


class Phone(Text):
    name = "phone"
    label = "Phone"
    description = "A phone number"
    default_limit = TextLike.default_limit
    input_type = "tel"
    check_on_blur = True
    askable = False

    def coerce(self, fd: FieldDef, value: Any) -> str:
        text = self.text(fd, value).strip()
        if not PHONE.match(text) or sum(c.isdigit() for c in text) < 5:
            raise FieldError(f"'{text}' is not a valid phone number")
        return text

    def href(self, value: str) -> str | None:
        return "tel:" + "".join(c for c in value if c.isdigit() or c == "+")
