"""The field-type registry (app/fieldtypes/): one class per type owns storage, checks,
OpenAPI schema, display, widget and filter kinds and the studio's options."""

from __future__ import annotations

import json
import typing
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Float, String, Text

from app import fieldtypes
from app.fieldtypes import FieldError, StudioOption
from app.metadata import models
from app.metadata.models import FieldDef
from app.objectql.coerce import coerce_value


def field(kind: str, **spec: Any) -> FieldDef:
    fd = FieldDef(type=kind, **spec)  # type: ignore[arg-type]
    fd.name = "f"
    return fd


STAGE = [{"value": "new", "label": "New", "color": "blue"},
         {"value": "won", "label": "Won", "color": "green"}]


def examples() -> list[FieldDef]:
    """One field of every type, with the settings it needs to be valid metadata."""
    needs: dict[str, dict[str, Any]] = {
        "select": {"options": STAGE}, "multiselect": {"options": STAGE},
        "lookup": {"reference_to": "account"}, "master_detail": {"reference_to": "account"},
        "formula": {"formula": "1 + 1", "format": "number"},
        "autonumber": {"format": "C-{0000}"},
    }
    return [field(name, **needs.get(name, {})) for name in fieldtypes.names()]


# -- the registry ------------------------------------------------------------------------
def test_every_metadata_type_is_registered_and_nothing_else() -> None:
    allowed = set(typing.get_args(models.FieldType))
    assert set(fieldtypes.names()) == allowed
    assert len(fieldtypes.names()) == len(allowed)  # no type registered twice


def test_the_numeric_types_are_the_ones_the_metadata_names() -> None:
    assert set(fieldtypes.NUMERIC) == set(models.NUMERIC_TYPES) == {
        "number", "currency", "percent"}
    assert fieldtypes.is_numeric(field("formula", formula="1", format="currency"))
    assert not fieldtypes.is_numeric(field("formula", formula="1", format="date"))
    assert not fieldtypes.is_numeric(None)


def test_unknown_type_is_a_clear_error() -> None:
    with pytest.raises(fieldtypes.UnknownFieldType):
        fieldtypes.get("colour")


def test_a_formula_behaves_as_its_result_type() -> None:
    fd = field("formula", formula="amount * 2", format="currency")
    assert fieldtypes.of(fd).name == "currency"
    assert fieldtypes.declared(fd).name == "formula"
    assert fieldtypes.declared(fd).format(fd, 1200) == "$1,200"
    assert isinstance(fieldtypes.declared(fd).column_type(fd), Float)


@pytest.mark.parametrize("fd", examples(), ids=lambda fd: fd.type)
def test_every_type_answers_every_question(fd: FieldDef) -> None:
    ft = fieldtypes.of(fd)
    assert ft.column_type(fd) is not None
    assert isinstance(ft.openapi_schema(fd), dict)
    assert isinstance(ft.widget_options(fd), dict)
    assert ft.widget in ("text", "textarea", "number", "date", "datetime", "checkbox",
                         "select", "multiselect", "lookup")
    assert ft.filter_widget_for(fd) in ("text", "number", "date", "select", "boolean",
                                         "user", None)
    if ft.filter_widget_for(fd) is not None:
        assert ft.filter_operators(fd)
    described = fieldtypes.declared(fd).describe()
    json.dumps(described)  # plain data, a UI or an API can send it as is
    assert described["name"] == fd.type


# -- storage ------------------------------------------------------------------------------
@pytest.mark.parametrize(("fd", "column", "length"), [
    (field("text"), String, 255), (field("text", max_length=40), String, 40),
    (field("email"), String, 255), (field("textarea"), Text, None),
    (field("markdown"), Text, None), (field("number"), Float, None),
    (field("number", scale=0), BigInteger, None), (field("currency", scale=0), Float, None),
    (field("percent"), Float, None), (field("date"), Date, None),
    (field("datetime"), DateTime, None), (field("boolean"), Boolean, None),
    (field("select", options=STAGE), String, 255), (field("multiselect", options=STAGE),
                                                    JSON, None),
    (field("lookup", reference_to="account"), String, 32), (field("json"), JSON, None),
    (field("autonumber", format="C-{0}"), String, 255),
    (field("formula", formula="1", format="date"), Date, None),
])
def test_column_types(fd: FieldDef, column: type, length: int | None) -> None:
    made = fieldtypes.of(fd).column_type(fd)
    assert isinstance(made, column)
    if length is not None:
        assert made.length == length  # type: ignore[attr-defined]


# -- coercion -----------------------------------------------------------------------------
@pytest.mark.parametrize(("fd", "given", "stored"), [
    (field("text"), "hello", "hello"),
    (field("email"), "  ann@example.com ", "ann@example.com"),
    (field("url"), "example.com/x", "https://example.com/x"),
    (field("url"), "http://example.com", "http://example.com"),
    (field("phone"), "+1 (555) 010-2030", "+1 (555) 010-2030"),
    (field("number"), "1,250.5", 1250.5),
    (field("number", scale=0), 12.0, 12),
    (field("number", scale=1), 1.26, 1.3),
    (field("currency"), 10.005, 10.01),
    (field("currency"), "19.999", 20.0),
    (field("percent"), 12.5, 12.5),
    (field("date"), "2025-05-14T10:00:00", date(2025, 5, 14)),
    (field("date"), datetime(2025, 5, 14, 23, 0), date(2025, 5, 14)),
    (field("datetime"), "2025-05-14T10:30:00Z", datetime(2025, 5, 14, 10, 30)),
    (field("datetime"), datetime(2025, 5, 14, 12, 30, tzinfo=timezone(timedelta(hours=2))),
     datetime(2025, 5, 14, 10, 30)),
    (field("datetime"), date(2025, 5, 14), datetime(2025, 5, 14)),
    (field("boolean"), "Yes", True), (field("boolean"), 0, False),
    (field("select", options=STAGE), "won", "won"),
    (field("multiselect", options=STAGE), "won; new;won", ["won", "new"]),
    (field("lookup", reference_to="account"), "a1b2_c3", "a1b2_c3"),
    (field("json"), {"a": [1, 2]}, {"a": [1, 2]}),
    (field("formula", formula="1", format="number"), "3", 3.0),
])
def test_coercion_stores(fd: FieldDef, given: Any, stored: Any) -> None:
    result = coerce_value(fd, given)
    assert result == stored
    assert type(result) is type(stored)


@pytest.mark.parametrize(("fd", "given", "message"), [
    (field("text"), 5, "expected text, got a number"),
    (field("text"), "x" * 256, "is longer than 255 characters (256)"),
    (field("text", max_length=3), "abcd", "is longer than 3 characters (4)"),
    (field("textarea"), "a\x00b", "contains a NUL character"),
    (field("text"), "\ud800", "contains an unpaired UTF-16 surrogate"),
    (field("email"), "ann@", "'ann@' is not a valid email address"),
    (field("url"), "not a url", "'not a url' is not a valid web address"),
    (field("url"), "[", "'[' is not a valid web address"),
    (field("phone"), "12-34", "'12-34' is not a valid phone number"),
    (field("number"), True, "expected a number, got a boolean"),
    (field("number"), "ten", "'ten' is not a number"),
    (field("number"), float("nan"), "must be a finite number"),
    (field("number"), 1e16, "is too large"),
    (field("number", min=0), -1, "must be at least 0"),
    (field("number", max=1000), 1500.5, "must be at most 1,000"),
    (field("number", scale=0), 1.5, "must be a whole number"),
    (field("currency"), [1], "expected a number, got a list"),
    (field("date"), "14/05/2025", "'14/05/2025' is not a date (use YYYY-MM-DD)"),
    (field("date"), 20250514, "expected a date, got a number"),
    (field("datetime"), "tomorrow", "'tomorrow' is not a date and time (use ISO 8601)"),
    (field("datetime"), "0001-01-01T00:00+05:00", "is outside the years 1 to 9999 in UTC"),
    (field("boolean"), 2, "expected true or false, got a number"),
    (field("select", options=STAGE), "lost", "'lost' is not one of: new, won"),
    (field("multiselect", options=STAGE), {"a": 1}, "expected a list of values, got an "
                                                    "object"),
    (field("multiselect", options=STAGE), ["new", "lost"], "'lost' is not one of: new, won"),
    (field("lookup", reference_to="account"), "Not An Id", "expected the id of a account "
                                                           "record, got text"),
    (field("json"), {"a": {1, 2}}, "is not JSON-serialisable"),
])
def test_coercion_refuses_with_a_message(fd: FieldDef, given: Any, message: str) -> None:
    with pytest.raises(FieldError) as refused:
        coerce_value(fd, given)
    assert str(refused.value) == message


@pytest.mark.parametrize("blank", [None, "", "   ", []])
def test_blank_is_none_for_every_type(blank: Any) -> None:
    for fd in examples():
        assert coerce_value(fd, blank) is None


def test_email_url_phone_allow_long_values_unless_limited() -> None:
    """Only `text` has the 255 default limit; the other strings take up to 100,000."""
    long_email = "a" * 300 + "@example.com"
    assert coerce_value(field("email"), long_email) == long_email


# -- OpenAPI ------------------------------------------------------------------------------
@pytest.mark.parametrize(("fd", "schema"), [
    (field("text", max_length=80), {"type": "string", "maxLength": 80}),
    (field("number", min=0, max=10), {"type": "number", "minimum": 0, "maximum": 10}),
    (field("number", scale=0), {"type": "integer"}),
    (field("currency", scale=0), {"type": "number"}),
    (field("boolean"), {"type": "boolean"}),
    (field("date"), {"type": "string", "format": "date"}),
    (field("select", options=STAGE), {"type": "string", "enum": ["new", "won"]}),
    (field("multiselect", options=STAGE), {"type": "array", "uniqueItems": True,
                                           "items": {"type": "string",
                                                     "enum": ["new", "won"]}}),
    (field("json"), {}),
    (field("lookup", reference_to="account"), {
        "type": "string", "maxLength": 32, "pattern": "^[0-9a-z_-]{1,32}$",
        "description": "id of a account"}),
])
def test_openapi_schema(fd: FieldDef, schema: dict[str, Any]) -> None:
    assert fieldtypes.of(fd).openapi_schema(fd) == schema


def test_openapi_datetime_accepts_what_the_api_returns() -> None:
    import re

    pattern = fieldtypes.get("datetime").openapi_schema(field("datetime"))["pattern"]
    assert re.match(pattern, "2025-05-14T10:30:00")
    assert re.match(pattern, "2025-05-14T10:30:00+02:00")
    assert not re.match(pattern, "May 14")


# -- display, widgets, filters ------------------------------------------------------------
@pytest.mark.parametrize(("fd", "value", "text"), [
    (field("currency"), -1234.5, "-$1,234.50"), (field("percent"), 12.5, "12.5%"),
    (field("number", scale=0), 1234.4, "1,234"), (field("date"), "2025-05-14", "May 14, 2025"),
    (field("datetime"), datetime(2025, 5, 14, 9, 5, tzinfo=UTC), "May 14, 2025 09:05"),
    (field("boolean"), False, "No"), (field("select", options=STAGE), "won", "Won"),
    (field("multiselect", options=STAGE), ["won", "x"], "Won, x"),
    (field("lookup", reference_to="account"), {"id": "a1", "name": "Acme"}, "Acme"),
])
def test_display_format(fd: FieldDef, value: Any, text: str) -> None:
    assert fieldtypes.of(fd).format(fd, value) == text


def test_widget_and_filter_kinds_are_data() -> None:
    money = field("currency", min=0)
    assert fieldtypes.of(money).widget == "number"
    assert fieldtypes.of(money).widget_options(money) == {
        "min": 0, "max": None, "precision": 2, "format": "%.2f", "prefix": "$",
        "suffix": None}
    owner = field("lookup", reference_to="user")
    account = field("lookup", reference_to="account")
    assert fieldtypes.of(owner).filter_widget_for(owner) == "user"
    assert [op for op, _ in fieldtypes.of(owner).filter_operators(owner)] == [
        "=", "!=", "empty", "not empty"]
    assert fieldtypes.of(account).filter_widget_for(account) == "text"
    assert fieldtypes.get("json").filter_widget is None
    assert fieldtypes.get("email").href("a@b.co") == "mailto:a@b.co"
    assert fieldtypes.get("phone").href("+1 (555) 0102") == "tel:+15550102"
    assert fieldtypes.get("url").href("javascript:alert(1)") is None


# -- the studio ----------------------------------------------------------------------------
def test_studio_options_are_plain_data_naming_real_field_settings() -> None:
    settings = set(FieldDef.model_fields) - {"type", "name", "system"}
    for ft in fieldtypes.FIELD_TYPES:
        options = ft.studio_options()
        keys = [o.key for o in options]
        assert len(keys) == len(set(keys)), f"{ft.name} offers a setting twice"
        assert set(keys) <= settings, f"{ft.name}: {set(keys) - settings}"
        for option in options:
            assert isinstance(option, StudioOption)
            assert option.kind in ("text", "int", "number", "bool", "choice", "options",
                                   "object", "expression", "format")
            json.dumps(option.as_dict())


@pytest.mark.parametrize(("name", "must_offer"), [
    ("select", {"options"}), ("multiselect", {"options"}),
    ("lookup", {"reference_to", "delete_behavior"}), ("master_detail", {"reference_to"}),
    ("number", {"scale", "min", "max"}), ("currency", {"scale"}),
    ("text", {"max_length", "unique"}), ("formula", {"formula", "format"}),
    ("autonumber", {"format"}),
])
def test_studio_offers_what_the_type_needs(name: str, must_offer: set[str]) -> None:
    keys = {o.key for o in fieldtypes.get(name).studio_options()}
    assert must_offer <= keys
    assert {"label", "required", "help"} <= keys


def test_studio_required_settings_are_marked() -> None:
    def required(name: str) -> set[str]:
        return {o.key for o in fieldtypes.get(name).studio_options() if o.required}

    assert required("select") == {"options"}
    assert required("lookup") == {"reference_to"}
    assert required("formula") == {"formula"}
    assert required("text") == set()


def test_master_detail_offers_no_set_null() -> None:
    behaviour = next(o for o in fieldtypes.get("master_detail").studio_options()
                     if o.key == "delete_behavior")
    assert "set_null" not in behaviour.choices
    assert behaviour.default in behaviour.choices


def test_formula_result_choices_are_the_metadata_formats() -> None:
    result = next(o for o in fieldtypes.get("formula").studio_options() if o.key == "format")
    assert set(result.choices) == set(models.FORMULA_FORMATS)


def test_catalogue_lists_every_type_once() -> None:
    catalogue = fieldtypes.catalogue()
    assert [t["name"] for t in catalogue] == fieldtypes.names()
    json.dumps(catalogue)


def test_settings_of_a_field_are_its_current_values_as_data() -> None:
    fd = field("select", label="Stage", required=True, options=STAGE, default="new")
    settings = fieldtypes.declared(fd).settings_of(fd)
    assert settings["label"] == "Stage"
    assert settings["required"] is True
    assert settings["default"] == "new"
    assert settings["options"] == STAGE
    assert set(settings) == {o.key for o in fieldtypes.declared(fd).studio_options()}
    json.dumps(settings)
    assert fieldtypes.get("text").settings_of(field("text", unique=True))["unique"] == "true"
    lookup = field("master_detail", reference_to="account", delete_behavior="cascade")
    assert fieldtypes.declared(lookup).settings_of(lookup)["reference_to"] == "account"
