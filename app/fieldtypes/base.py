"""What every field type is: one class owning storage, checks, schema, display and editing.

A type never imports NiceGUI or components/: it describes its form widget, filter widget
and display as data (kinds, operator lists, `widget_options`) and pure functions
(`format`), and components/ maps those kinds to widgets (`pages → components → app`).
Field definitions are only read here (attributes of `FieldDef`), so this package imports
nothing of the metadata loader at run time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import String
from sqlalchemy.types import TypeEngine

from app.objectql.limits import has_surrogate

if TYPE_CHECKING:
    from app.metadata.models import FieldDef

MAX_TEXT = 100_000
ID_LENGTH = 32
CURRENCY_SYMBOL = "$"

# Filter operators offered by the list filter builder: (ObjectQL operator, words).
TEXT_OPS = [("contains", "contains"), ("=", "is"), ("!=", "is not"),
            ("startswith", "starts with")]
SELECT_OPS = [("=", "is"), ("!=", "is not"), ("in", "is any of"), ("not in", "is none of")]
NUMBER_OPS = [("=", "="), ("!=", "≠"), (">", ">"), (">=", "≥"), ("<", "<"), ("<=", "≤")]
DATE_OPS = [("=", "is"), ("<", "is before"), (">", "is after"), ("<=", "is on or before"),
            (">=", "is on or after")]
EMPTY_OPS = [("empty", "is empty"), ("not empty", "is not empty")]


class FieldError(ValueError):
    """A value that does not fit its field; the message is shown next to the field."""


@dataclass(frozen=True)
class StudioOption:
    """One setting an admin editor offers for a field of some type, as plain data.

    `key` is the attribute of the ⚑ field definition (YAML key) it edits; `kind` says
    what input it needs: text, int, number, bool, choice (one of `choices`), options
    (picklist values with labels and colours), object (the name of an object),
    expression (a formula/condition, checked by the loader) or format (a text pattern).
    """

    key: str
    label: str
    kind: str
    help: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["choices"] = list(self.choices)
        return data


# Settings every field has, whatever its type.
COMMON_OPTIONS = (
    StudioOption("label", "Label", "text", "Shown on forms, lists and filters"),
    StudioOption("help", "Help text", "text", "Shown under the input"),
    StudioOption("required", "Required", "bool", default=False),
    StudioOption("readonly", "Read-only", "bool", "Shown but never editable in forms",
                 default=False),
    StudioOption("visible_when", "Visible when", "expression",
                 "Show the field only when this condition holds"),
    StudioOption("track_history", "Track history", "bool", "Record changes in the audit "
                 "trail", default=True),
)
UNIQUE = StudioOption("unique", "Unique", "choice", "No two records share a value",
                      choices=("false", "true", "case_insensitive"), default="false")
INDEX = StudioOption("index", "Indexed", "bool", "Faster filters and sorts on it",
                     default=False)
SEARCHABLE = StudioOption("searchable", "Searchable", "bool", "Found by global search",
                          default=False)
DEFAULT = StudioOption("default", "Default value", "text", "Filled in on new records")
MAX_LENGTH = StudioOption("max_length", "Maximum length", "int", minimum=1,
                          maximum=MAX_TEXT)


class FieldType:
    """One field type. Subclasses set the class attributes and override what differs."""

    name: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    # Numeric: summable and averageable, right-aligned, totals on kanban columns.
    numeric: ClassVar[bool] = False
    # Values have an order (min/max/sort); False for booleans, lists and JSON.
    ordered: ClassVar[bool] = True
    temporal: ClassVar[bool] = False  # a date or date-time: avg counts days
    computed: ClassVar[bool] = False  # the server fills it (formula, autonumber)
    lookup: ClassVar[bool] = False
    # Form widget kind (components/field_widgets.py maps it): text, textarea, number,
    # date, datetime, checkbox, select, multiselect, lookup.
    widget: ClassVar[str] = "text"
    input_type: ClassVar[str] = "text"  # the HTML input type of a text widget
    check_on_blur: ClassVar[bool] = False  # format checked as the user leaves the input
    multiline: ClassVar[bool] = False  # shown read-only with its line breaks
    # Filter widget kind (components/filter_builder.py): text, number, date, select,
    # boolean, user; None = not filterable.
    filter_widget: ClassVar[str | None] = "text"
    mass_settable: ClassVar[bool] = False  # one value may be set on many records at once
    # Kanban "ask for a value when a card moves here": answerable in a small dialog.
    askable: ClassVar[bool] = False
    sortable: ClassVar[bool] = True

    def __repr__(self) -> str:
        return f"<field type {self.name}>"

    # -- storage --------------------------------------------------------------------------
    def column_type(self, fd: FieldDef) -> TypeEngine:
        return String(fd.max_length or 255)

    # -- incoming values ------------------------------------------------------------------
    def coerce(self, fd: FieldDef, value: Any) -> Any:
        """The stored form of a non-blank `value`, or FieldError with a readable message."""
        raise FieldError(f"field type {self.name} cannot be written")

    # -- REST -----------------------------------------------------------------------------
    def openapi_schema(self, fd: FieldDef) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if fd.max_length:
            schema["maxLength"] = fd.max_length
        return schema

    # -- display --------------------------------------------------------------------------
    def format(self, fd: FieldDef, value: Any) -> str:
        """Display text of a non-empty stored value (plain text, never HTML)."""
        return str(value)

    def href(self, value: str) -> str | None:
        """A link the value opens (mailto:, tel:, a web address), or None."""
        return None

    def widget_options(self, fd: FieldDef) -> dict[str, Any]:
        """Extra settings of the form widget as data (precision, prefix, maxlength ...)."""
        return {"maxlength": fd.max_length} if fd.max_length else {}

    # -- filters --------------------------------------------------------------------------
    def filter_operators(self, fd: FieldDef) -> list[tuple[str, str]]:
        return TEXT_OPS + EMPTY_OPS

    def filter_widget_for(self, fd: FieldDef) -> str | None:
        return self.filter_widget

    # -- the studio -----------------------------------------------------------------------
    def studio_options(self) -> list[StudioOption]:
        """Every setting an admin editor offers for this type: common ones first."""
        return [*COMMON_OPTIONS, *self.type_options()]

    def type_options(self) -> list[StudioOption]:
        """The settings particular to this type."""
        return []

    def settings_of(self, fd: FieldDef) -> dict[str, Any]:
        """The current value of each studio option of `fd`, as plain (JSON) data: what an
        editor form starts from. Picklist values come as dicts with label and colour."""
        values: dict[str, Any] = {}
        for option in self.studio_options():
            value = getattr(fd, option.key, None)
            if option.kind == "options":
                value = [o.model_dump(exclude_none=True) for o in value or []]
            elif option.kind == "choice" and isinstance(value, bool):
                value = str(value).lower()  # `unique: true` is the choice "true"
            values[option.key] = value
        return values

    def describe(self) -> dict[str, Any]:
        """The type as plain data for a UI: name, label, flags, options."""
        return {"name": self.name, "label": self.label, "description": self.description,
                "numeric": self.numeric, "computed": self.computed, "lookup": self.lookup,
                "widget": self.widget,
                "options": [o.as_dict() for o in self.studio_options()]}


class TextLike(FieldType):
    """Strings: refused when not text, NUL, lone surrogates or longer than the limit."""

    default_limit: ClassVar[int] = MAX_TEXT
    filter_widget = "text"

    def text(self, fd: FieldDef, value: Any) -> str:
        if not isinstance(value, str):
            raise FieldError(f"expected text, got {kind_of(value)}")
        if "\x00" in value:  # PostgreSQL cannot store it; refuse on every backend alike
            raise FieldError("contains a NUL character")
        if has_surrogate(value):  # no database can encode it
            raise FieldError("contains an unpaired UTF-16 surrogate")
        limit = fd.max_length or self.default_limit
        if len(value) > limit:
            raise FieldError(f"is longer than {limit} characters ({len(value)})")
        return value

    def coerce(self, fd: FieldDef, value: Any) -> Any:
        return self.text(fd, value)


def kind_of(value: Any) -> str:
    """How an unexpected value reads in an error message ("a boolean", "a list")."""
    return {bool: "a boolean", int: "a number", float: "a number", str: "text",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def fmt_number(number: float) -> str:
    return f"{number:,.0f}" if float(number).is_integer() else f"{number:,}"
