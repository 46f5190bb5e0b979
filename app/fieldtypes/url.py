"""url: a web address; "example.com" is stored as "https://example.com"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from app.fieldtypes.base import FieldError, TextLike
from app.fieldtypes.text import Text

if TYPE_CHECKING:
    from app.metadata.models import FieldDef


class Url(Text):
    name = "url"
    label = "Web address"
    description = "A link to a web page"
    default_limit = TextLike.default_limit
    input_type = "url"
    check_on_blur = True
    askable = False

    def coerce(self, fd: FieldDef, value: Any) -> str:
        text = self.text(fd, value).strip()
        candidate = text if "://" in text else f"https://{text}"
        try:
            parsed = urlparse(candidate)
        except ValueError:  # e.g. "[" reads as a broken IPv6 host
            raise FieldError(f"'{text}' is not a valid web address") from None
        if parsed.scheme not in ("http", "https") or "." not in parsed.netloc or " " in text:
            raise FieldError(f"'{text}' is not a valid web address")
        return candidate

    def href(self, value: str) -> str | None:
        return value if value.lower().startswith(("http://", "https://")) else None
