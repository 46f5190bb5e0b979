"""How a stored value reads on screen, per field type — shared by lists and record pages.

Public API, kept small on purpose:
- `format_value(fd, value) -> str`: the display text of one value ("" when empty).
- `select_chip(fd, value)`: a small coloured chip (a NiceGUI element) for a select value.
- `chip_classes(color) -> str`: the Tailwind classes of a chip of that option colour,
  for places that render chips in a Vue template (the data table).

Everything returned is plain text; callers render it as text, never as HTML.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from app import fieldtypes
from app.fieldtypes.base import CURRENCY_SYMBOL
from app.metadata.models import FieldDef

__all__ = ["CURRENCY_SYMBOL", "chip_classes", "format_value", "option_color", "select_chip"]

EMPTY = ""

# Option colours of the metadata → calm chip colours (light and dark mode).
_CHIP_COLORS = {
    "blue": "bg-blue-50 text-blue-700 ring-blue-200 dark:bg-blue-950 dark:text-blue-200",
    "green": "bg-emerald-50 text-emerald-700 ring-emerald-200 dark:bg-emerald-950 "
             "dark:text-emerald-200",
    "purple": "bg-violet-50 text-violet-700 ring-violet-200 dark:bg-violet-950 "
              "dark:text-violet-200",
    "red": "bg-rose-50 text-rose-700 ring-rose-200 dark:bg-rose-950 dark:text-rose-200",
    "orange": "bg-orange-50 text-orange-700 ring-orange-200 dark:bg-orange-950 "
              "dark:text-orange-200",
    "amber": "bg-amber-50 text-amber-800 ring-amber-200 dark:bg-amber-950 dark:text-amber-200",
    "yellow": "bg-yellow-50 text-yellow-800 ring-yellow-200 dark:bg-yellow-950 "
              "dark:text-yellow-200",
    "pink": "bg-pink-50 text-pink-700 ring-pink-200 dark:bg-pink-950 dark:text-pink-200",
    "indigo": "bg-indigo-50 text-indigo-700 ring-indigo-200 dark:bg-indigo-950 "
              "dark:text-indigo-200",
    "teal": "bg-teal-50 text-teal-700 ring-teal-200 dark:bg-teal-950 dark:text-teal-200",
    "grey": "bg-slate-100 text-slate-600 ring-slate-200 dark:bg-slate-800 dark:text-slate-300",
}
_CHIP_BASE = "inline-flex items-center rounded-full px-2 py-px text-xs font-medium ring-1 " \
             "ring-inset whitespace-nowrap"


def chip_classes(color: str | None) -> str:
    return f"{_CHIP_BASE} {_CHIP_COLORS.get(color or 'grey', _CHIP_COLORS['grey'])}"


def format_value(fd: FieldDef, value: Any) -> str:
    """The display text of `value` stored in field `fd` (its type's rule, app/fieldtypes/).

    Lookups: pass the expanded record (`{"id", "name", ...}`) or the related record's
    name (as a list requests `owner.name`); a bare id is shown as is.
    """
    if value is None or value == "" or value == []:
        return EMPTY
    try:
        field_type = fieldtypes.of(fd)
    except fieldtypes.UnknownFieldType:
        return str(value)
    return field_type.format(fd, value)


def select_chip(fd: FieldDef, value: Any) -> ui.label | None:
    """A coloured chip with the option's label (None for an empty value)."""
    if value is None or value == "":
        return None
    option = fd.option(value)
    text = option.label if option else str(value)
    return ui.label(text).classes(chip_classes(option.color if option else None))


def option_color(fd: FieldDef, value: Any) -> str | None:
    option = fd.option(value) if value is not None else None
    return option.color if option else None
