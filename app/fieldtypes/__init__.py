"""The field-type registry: every field type of the ⚑ metadata format, one module each.

    from app import fieldtypes
    fieldtypes.of(fd).coerce(fd, value)     # the behaviour of a field's stored value
    fieldtypes.get("currency").studio_options()

`of(fd)` answers with the type of the *stored value* (`fd.value_type`: a formula behaves
as its result format); `declared(fd)` with the type the metadata names (`fd.type`).

Adding a type: write `app/fieldtypes/<name>.py` with one `FieldType` subclass, add it
to `FIELD_TYPES` below, and to `FieldType` in app/metadata/models.py (the YAML format).
tests/unit/test_fieldtypes.py fails until the two lists agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.fieldtypes.autonumber import Autonumber
from app.fieldtypes.base import FieldError, FieldType, StudioOption
from app.fieldtypes.boolean import Boolean
from app.fieldtypes.currency import Currency
from app.fieldtypes.date import Date
from app.fieldtypes.date_time import DateTime
from app.fieldtypes.email import Email
from app.fieldtypes.formula import Formula
from app.fieldtypes.json_value import Json
from app.fieldtypes.lookup import Lookup
from app.fieldtypes.markdown import Markdown
from app.fieldtypes.master_detail import MasterDetail
from app.fieldtypes.multiselect import Multiselect
from app.fieldtypes.number import Number
from app.fieldtypes.percent import Percent
from app.fieldtypes.phone import Phone
from app.fieldtypes.select import Select
from app.fieldtypes.text import Text
from app.fieldtypes.textarea import Textarea
from app.fieldtypes.url import Url

if TYPE_CHECKING:
    from app.metadata.models import FieldDef

FIELD_TYPES: tuple[FieldType, ...] = (
    Text(), Textarea(), Email(), Url(), Phone(), Number(), Currency(), Percent(), Date(),
    DateTime(), Boolean(), Select(), Multiselect(), Lookup(), MasterDetail(), Formula(),
    Autonumber(), Json(), Markdown(),
)
_BY_NAME: dict[str, FieldType] = {t.name: t for t in FIELD_TYPES}
NUMERIC: tuple[str, ...] = tuple(t.name for t in FIELD_TYPES if t.numeric)


class UnknownFieldType(KeyError):
    """A name no registered field type has."""


def names() -> list[str]:
    return [t.name for t in FIELD_TYPES]


def get(name: str) -> FieldType:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownFieldType(name) from None


def of(fd: FieldDef) -> FieldType:
    """The type that stores, checks and shows `fd`'s values (a formula's result type)."""
    return get(fd.value_type)


def declared(fd: FieldDef) -> FieldType:
    """The type the metadata names for `fd` (formula, autonumber ... as such)."""
    return get(fd.type)


def is_numeric(fd: FieldDef | None) -> bool:
    """Values that can be summed and averaged (number, currency, percent, such formulas)."""
    return fd is not None and fd.value_type in NUMERIC


def catalogue() -> list[dict[str, object]]:
    """Every type as plain data, for a UI that offers field types (the admin studio)."""
    return [t.describe() for t in FIELD_TYPES]


__all__ = ["FIELD_TYPES", "NUMERIC", "FieldError", "FieldType", "StudioOption",
           "UnknownFieldType", "catalogue", "declared", "get", "is_numeric", "names", "of"]
