"""Typed models of the ⚑ metadata format (DESIGN.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from app.expressions import Expression

FieldType = Literal[
    "text", "textarea", "email", "url", "phone", "number", "currency", "percent",
    "date", "datetime", "boolean", "select", "multiselect", "lookup", "master_detail",
    "formula", "autonumber", "json", "markdown",
]
FORMULA_FORMATS = ("currency", "number", "percent", "boolean", "text", "date")
# What each type means lives in app/fieldtypes/ (one class per type); these name lists
# stay for the loader's public API, and tests/unit/test_fieldtypes.py keeps them in step.
LOOKUP_TYPES = ("lookup", "master_detail")
NUMERIC_TYPES = ("number", "currency", "percent")
STRING_TYPES = ("text", "textarea", "email", "url", "phone", "markdown", "select", "autonumber")
SYSTEM_FIELD_NAMES = ("id", "owner", "created_at", "created_by", "modified_at", "modified_by",
                      "version")
SharingModel = Literal["private", "public_read", "public_read_write", "controlled_by_parent"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class OptionDef(BaseModel):
    """A picklist value; extra keys (probability, is_won ...) are kept for triggers and UI."""

    model_config = ConfigDict(extra="allow")
    value: str
    label: str
    color: str | None = None

    def extra(self, key: str, default: Any = None) -> Any:
        return (self.model_extra or {}).get(key, default)


class FieldDef(_Strict):
    type: FieldType
    label: str | None = None
    required: bool = False
    unique: bool | Literal["case_insensitive"] = False
    default: Any = None
    help: str | None = None
    readonly: bool = False
    index: bool = False
    searchable: bool = False
    max_length: int | None = Field(default=None, gt=0, le=100_000)
    precision: int | None = Field(default=None, ge=1, le=38)
    scale: int | None = Field(default=None, ge=0, le=18)
    min: float | None = None
    max: float | None = None
    options: list[OptionDef] = Field(default_factory=list)
    reference_to: str | None = None
    delete_behavior: Literal["set_null", "cascade", "restrict"] | None = None
    formula: str | None = None
    format: str | None = None
    visible_when: str | None = None
    track_history: bool = True

    # Filled by the loader: the API name and compiled expressions.
    name: str = Field(default="", exclude=True)
    system: bool = Field(default=False, exclude=True)
    _formula: Expression | None = PrivateAttr(default=None)
    _visible_when: Expression | None = PrivateAttr(default=None)

    @property
    def is_lookup(self) -> bool:
        return self.type in LOOKUP_TYPES

    @property
    def value_type(self) -> str:
        """The type of the stored value: a formula's result format, else the field type."""
        if self.type == "formula":
            return self.format or "text"
        return self.type

    @property
    def display_label(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    @property
    def option_values(self) -> list[str]:
        return [o.value for o in self.options]

    def option(self, value: Any) -> OptionDef | None:
        return next((o for o in self.options if o.value == value), None)

    @property
    def compiled_formula(self) -> Expression | None:
        return self.__pydantic_private__["_formula"]  # type: ignore[index]  # hot path

    @property
    def compiled_visible_when(self) -> Expression | None:
        return self.__pydantic_private__["_visible_when"]  # type: ignore[index]

    @property
    def is_computed(self) -> bool:
        return self.type in ("formula", "autonumber")


class Features(_Strict):
    searchable: bool = True
    track_history: bool = True
    activities: bool = False


class ValidationRule(_Strict):
    name: str
    condition: str
    message: str
    field: str | None = None
    _condition: Expression | None = PrivateAttr(default=None)

    @property
    def compiled(self) -> Expression:
        condition = self.__pydantic_private__["_condition"]  # type: ignore[index]
        assert condition is not None, "validation rule used before compilation"
        return condition


class Kanban(_Strict):
    group_by: str
    sum: str | None = None


class ListView(_Strict):
    label: str | None = None
    columns: list[str] = Field(default_factory=list)
    filters: list[Any] = Field(default_factory=list)
    sort: list[tuple[str, Literal["asc", "desc"]]] = Field(default_factory=list)
    kanban: Kanban | None = None


class LayoutSection(_Strict):
    label: str
    columns: Literal[1, 2] = 2
    fields: list[str] = Field(default_factory=list)
    visible_when: str | None = None


class RelatedList(_Strict):
    object: str
    field: str
    columns: list[str] = Field(default_factory=list)
    label: str | None = None


class PageLayout(_Strict):
    sections: list[LayoutSection] = Field(default_factory=list)
    related_lists: list[RelatedList] = Field(default_factory=list)


class ObjectDef(_Strict):
    name: str
    label: str
    plural_label: str | None = None
    icon: str | None = None
    description: str | None = None
    name_field: str = "name"
    sharing_model: SharingModel = "private"
    features: Features = Field(default_factory=Features)
    fields: dict[str, FieldDef] = Field(default_factory=dict)
    validation_rules: list[ValidationRule] = Field(default_factory=list)
    list_views: dict[str, ListView] = Field(default_factory=dict)
    page_layouts: dict[str, PageLayout] = Field(default_factory=dict)

    # Filled by the loader.
    source_file: str = Field(default="", exclude=True)
    system: bool = Field(default=False, exclude=True)
    _all_fields: dict[str, FieldDef] = PrivateAttr(default_factory=dict)

    @property
    def all_fields(self) -> dict[str, FieldDef]:
        """Declared fields plus the system fields every object has."""
        # Direct access: pydantic's private-attribute lookup is slow on the write hot path.
        return self.__pydantic_private__["_all_fields"]  # type: ignore[index]

    def field(self, name: str) -> FieldDef | None:
        return self.all_fields.get(name)

    @property
    def searchable_fields(self) -> list[FieldDef]:
        return [f for f in self._all_fields.values() if f.searchable]

    @property
    def formula_fields(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.type == "formula"]

    @property
    def display_plural(self) -> str:
        return self.plural_label or f"{self.label}s"


def system_fields() -> dict[str, FieldDef]:
    """The fields every object has without declaring them."""
    specs: dict[str, dict[str, Any]] = {
        "id": {"type": "text", "label": "ID", "readonly": True, "max_length": 32},
        "owner": {"type": "lookup", "label": "Owner", "reference_to": "user", "index": True,
                  "delete_behavior": "restrict"},
        "created_at": {"type": "datetime", "label": "Created", "readonly": True, "index": True},
        "created_by": {"type": "lookup", "label": "Created by", "reference_to": "user",
                       "readonly": True, "delete_behavior": "restrict"},
        "modified_at": {"type": "datetime", "label": "Modified", "readonly": True,
                        "index": True},
        "modified_by": {"type": "lookup", "label": "Modified by", "reference_to": "user",
                        "readonly": True, "delete_behavior": "restrict"},
        "version": {"type": "number", "label": "Version", "readonly": True, "scale": 0},
    }
    result = {}
    for name, spec in specs.items():
        fd = FieldDef(**spec)
        fd.name = name
        fd.system = True
        fd.track_history = name == "owner"
        result[name] = fd
    return result


OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "in", "not in", "contains", "startswith",
             "endswith", "between")
