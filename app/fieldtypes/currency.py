"""currency: an amount of money, kept to the cent unless `scale` says otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.fieldtypes.base import CURRENCY_SYMBOL
from app.fieldtypes.number import Number, as_number

if TYPE_CHECKING:
    from app.metadata.models import FieldDef


class Currency(Number):
    name = "currency"
    label = "Currency"
    description = "An amount of money"
    default_scale = 2
    prefix = CURRENCY_SYMBOL

    def format(self, fd: FieldDef, value: Any) -> str:
        number = as_number(value)
        if number is None:
            return str(value)
        decimals = 0 if float(number).is_integer() else 2
        text = f"{abs(number):,.{decimals}f}"
        return f"-{CURRENCY_SYMBOL}{text}" if number < 0 else f"{CURRENCY_SYMBOL}{text}"
