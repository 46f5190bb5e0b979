"""Type coercion and per-field checks: turn API input into the stored Python value."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlparse

from app.metadata.models import FieldDef
from app.objectql.limits import has_surrogate, structure_problem

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PHONE = re.compile(r"^[0-9+()\-./ xXext]{5,40}$")
ID = re.compile(r"^[0-9a-z_-]{1,32}$")
MAX_TEXT = 100_000


class FieldError(ValueError):
    """A value that does not fit its field; the message is shown next to the field."""


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def coerce_value(fd: FieldDef, value: Any) -> Any:
    """Return the stored form of `value` for field `fd`, or raise FieldError."""
    if blank(value):
        return None
    kind = fd.value_type
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise FieldError(f"field type {kind} cannot be written")
    return handler(fd, value)


def _text(fd: FieldDef, value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError(f"expected text, got {_kind(value)}")
    if "\x00" in value:  # PostgreSQL cannot store it; refuse on every backend alike
        raise FieldError("contains a NUL character")
    if has_surrogate(value):  # no database can encode it
        raise FieldError("contains an unpaired UTF-16 surrogate")
    limit = fd.max_length or (255 if fd.value_type == "text" else MAX_TEXT)
    if len(value) > limit:
        raise FieldError(f"is longer than {limit} characters ({len(value)})")
    return value


def _email(fd: FieldDef, value: Any) -> str:
    text = _text(fd, value).strip()
    if not EMAIL.match(text):
        raise FieldError(f"'{text}' is not a valid email address")
    return text


def _url(fd: FieldDef, value: Any) -> str:
    text = _text(fd, value).strip()
    candidate = text if "://" in text else f"https://{text}"
    try:
        parsed = urlparse(candidate)
    except ValueError:  # e.g. "[" reads as a broken IPv6 host
        raise FieldError(f"'{text}' is not a valid web address") from None
    if parsed.scheme not in ("http", "https") or "." not in parsed.netloc or " " in text:
        raise FieldError(f"'{text}' is not a valid web address")
    return candidate


def _phone(fd: FieldDef, value: Any) -> str:
    text = _text(fd, value).strip()
    if not PHONE.match(text) or sum(c.isdigit() for c in text) < 5:
        raise FieldError(f"'{text}' is not a valid phone number")
    return text


def _number(fd: FieldDef, value: Any) -> float | int:
    if isinstance(value, bool):
        raise FieldError("expected a number, got a boolean")
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", ""))
        except ValueError:
            raise FieldError(f"'{value}' is not a number") from None
    if not isinstance(value, int | float):
        raise FieldError(f"expected a number, got {_kind(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldError("must be a finite number")
    if abs(value) > 1e15:
        raise FieldError("is too large")
    if fd.min is not None and value < fd.min:
        raise FieldError(f"must be at least {_fmt(fd.min)}")
    if fd.max is not None and value > fd.max:
        raise FieldError(f"must be at most {_fmt(fd.max)}")
    if fd.scale == 0 and fd.value_type == "number":
        if float(value) != int(value):
            raise FieldError("must be a whole number")
        return int(value)
    scale = fd.scale if fd.scale is not None else (2 if fd.value_type == "currency" else None)
    return round(float(value), scale) if scale is not None else float(value)


def _date(fd: FieldDef, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10]) if len(value.strip()) >= 10 \
                else date.fromisoformat(value.strip())
        except ValueError:
            raise FieldError(f"'{value}' is not a date (use YYYY-MM-DD)") from None
    raise FieldError(f"expected a date, got {_kind(value)}")


def _datetime(fd: FieldDef, value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise FieldError(f"'{value}' is not a date and time (use ISO 8601)") from None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            try:  # 0001-01-01T00:00+05:00 is before year 1 in UTC
                value = value.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:
                raise FieldError("is outside the years 1 to 9999 in UTC") from None
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise FieldError(f"expected a date and time, got {_kind(value)}")


def _boolean(fd: FieldDef, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes",
                                                             "no"):
        return value.strip().lower() in ("true", "1", "yes")
    raise FieldError(f"expected true or false, got {_kind(value)}")


def _select(fd: FieldDef, value: Any) -> str:
    if not isinstance(value, str) or value not in fd.option_values:
        allowed = ", ".join(fd.option_values)
        raise FieldError(f"{value!r} is not one of: {allowed}")
    return value


def _multiselect(fd: FieldDef, value: Any) -> list[str]:
    items = value.split(";") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise FieldError(f"expected a list of values, got {_kind(value)}")
    result: list[str] = []
    for item in items:
        item = item.strip() if isinstance(item, str) else item
        if item not in result:
            result.append(_select(fd, item))
    return result


def _lookup(fd: FieldDef, value: Any) -> str:
    if not isinstance(value, str) or not ID.match(value):
        raise FieldError(f"expected the id of a {fd.reference_to} record, got {_kind(value)}")
    return value


def _json(fd: FieldDef, value: Any) -> Any:
    problem = structure_problem(value)
    if problem is not None:
        raise FieldError(problem)
    try:
        encoded = json.dumps(value)
    except RecursionError:
        raise FieldError("is nested too deeply") from None
    except (TypeError, ValueError):
        raise FieldError("is not JSON-serialisable") from None
    if len(encoded) > MAX_TEXT:
        raise FieldError(f"is larger than {MAX_TEXT} bytes of JSON")
    return value


_HANDLERS = {
    "text": _text, "textarea": _text, "markdown": _text, "autonumber": _text,
    "email": _email, "url": _url, "phone": _phone,
    "number": _number, "currency": _number, "percent": _number,
    "date": _date, "datetime": _datetime, "boolean": _boolean,
    "select": _select, "multiselect": _multiselect,
    "lookup": _lookup, "master_detail": _lookup, "json": _json,
}


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "text",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _fmt(number: float) -> str:
    return f"{number:,.0f}" if float(number).is_integer() else f"{number:,}"
