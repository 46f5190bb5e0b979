"""number: a number; `scale: 0` makes it a whole number stored as an integer."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import BigInteger, Float
from sqlalchemy.types import TypeEngine

from app.fieldtypes.base import (
    DEFAULT,
    EMPTY_OPS,
    INDEX,
    NUMBER_OPS,
    FieldError,
    FieldType,
    StudioOption,
    fmt_number,
    kind_of,
)

if TYPE_CHECKING:
    from app.metadata.models import FieldDef

LARGEST = 1e15  # beyond it a float loses cents


class Number(FieldType):
    name = "number"
    label = "Number"
    description = "A number; scale 0 for whole numbers"
    numeric = True
    widget = "number"
    filter_widget = "number"
    mass_settable = True
    askable = True
    default_scale: ClassVar[int | None] = None  # decimals kept when `scale` is not set
    prefix: ClassVar[str | None] = None
    suffix: ClassVar[str | None] = None

    def whole(self, fd: FieldDef) -> bool:
        """Stored as an integer: only plain numbers with `scale: 0`."""
        return fd.scale == 0 and self.name == "number"

    def scale(self, fd: FieldDef) -> int | None:
        return fd.scale if fd.scale is not None else self.default_scale

    def column_type(self, fd: FieldDef) -> TypeEngine:
        return BigInteger() if self.whole(fd) else Float()

    def coerce(self, fd: FieldDef, value: Any) -> float | int:
        if isinstance(value, bool):
            raise FieldError("expected a number, got a boolean")
        if isinstance(value, str):
            try:
                value = float(value.strip().replace(",", ""))
            except ValueError:
                raise FieldError(f"'{value}' is not a number") from None
        if not isinstance(value, int | float):
            raise FieldError(f"expected a number, got {kind_of(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise FieldError("must be a finite number")
        if abs(value) > LARGEST:
            raise FieldError("is too large")
        if fd.min is not None and value < fd.min:
            raise FieldError(f"must be at least {fmt_number(fd.min)}")
        if fd.max is not None and value > fd.max:
            raise FieldError(f"must be at most {fmt_number(fd.max)}")
        if self.whole(fd):
            if float(value) != int(value):
                raise FieldError("must be a whole number")
            return int(value)
        scale = self.scale(fd)
        return round(float(value), scale) if scale is not None else float(value)

    def openapi_schema(self, fd: FieldDef) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer" if self.whole(fd) else "number"}
        if fd.min is not None:
            schema["minimum"] = fd.min
        if fd.max is not None:
            schema["maximum"] = fd.max
        return schema

    def format(self, fd: FieldDef, value: Any) -> str:
        number = as_number(value)
        if number is None:
            return str(value)
        scale = fd.scale
        if scale == 0 or (scale is None and float(number).is_integer()):
            return f"{round(number):,}"
        text = f"{number:,.{scale if scale is not None else 2}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text

    def widget_options(self, fd: FieldDef) -> dict[str, Any]:
        scale = self.scale(fd)
        return {"min": fd.min, "max": fd.max, "precision": scale,
                "format": f"%.{scale}f" if scale is not None else None,
                "prefix": self.prefix, "suffix": self.suffix}

    def filter_operators(self, fd: FieldDef) -> list[tuple[str, str]]:
        return NUMBER_OPS + EMPTY_OPS

    def type_options(self) -> list[StudioOption]:
        return [
            StudioOption("scale", "Decimal places", "int", "0 for whole numbers",
                         default=self.default_scale, minimum=0, maximum=18),
            StudioOption("precision", "Digits", "int", minimum=1, maximum=38),
            StudioOption("min", "Minimum", "number"),
            StudioOption("max", "Maximum", "number"),
            DEFAULT, INDEX,
        ]


def as_number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return value
