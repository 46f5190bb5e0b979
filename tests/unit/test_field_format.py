"""Display formatting of stored values per field type (components/field_format.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from app.metadata.models import FieldDef
from components.field_format import (
    chip_classes,
    format_value,
    option_color,
    select_chip,
)


def field(kind: str, **spec: Any) -> FieldDef:
    fd = FieldDef(type=kind, **spec)  # type: ignore[arg-type]
    fd.name = "f"
    return fd


STAGE = field("select", options=[
    {"value": "closed_won", "label": "Closed won", "color": "green"},
    {"value": "proposal", "label": "Proposal", "color": "purple"},
    {"value": "odd", "label": "Odd colour", "color": "chartreuse"},
])


@pytest.mark.parametrize("value", [None, "", []])
def test_empty_values_are_blank_for_every_type(value: Any) -> None:
    for kind in ("text", "number", "currency", "percent", "date", "datetime", "boolean",
                 "select", "multiselect", "lookup", "json"):
        assert format_value(field(kind, reference_to="account") if kind == "lookup"
                            else field(kind), value) == ""


@pytest.mark.parametrize(("value", "expected"), [
    (1250000, "$1,250,000"), (1250000.0, "$1,250,000"), (1234.5, "$1,234.50"),
    (0, "$0"), (-42.25, "-$42.25"), ("17", "$17"),
])
def test_currency_has_symbol_thousands_and_cents_only_when_needed(value: Any,
                                                                   expected: str) -> None:
    assert format_value(field("currency", scale=2), value) == expected


@pytest.mark.parametrize(("spec", "value", "expected"), [
    ({"scale": 0}, 1234567, "1,234,567"),
    ({"scale": 0}, 12.6, "13"),
    ({"scale": 2}, 1234.5, "1,234.5"),
    ({"scale": 2}, 3.0, "3"),
    ({}, 1234, "1,234"),
    ({}, 0.127, "0.13"),
])
def test_numbers_use_thousands_separators_and_the_field_scale(spec: dict[str, Any],
                                                               value: Any, expected: str) -> None:
    assert format_value(field("number", **spec), value) == expected


def test_percent_is_the_stored_number_with_a_percent_sign() -> None:
    assert format_value(field("percent", scale=0), 60) == "60%"
    assert format_value(field("percent", scale=2), 12.5) == "12.5%"
    assert format_value(field("percent", scale=0), 100.0) == "100%"


def test_formula_fields_format_by_their_result_type() -> None:
    revenue = field("formula", formula="amount * 2", format="currency")
    won = field("formula", formula="stage == 'closed_won'", format="boolean")
    assert format_value(revenue, 5000.0) == "$5,000"
    assert format_value(won, True) == "Yes"


def test_dates_and_datetimes_read_naturally() -> None:
    assert format_value(field("date"), date(2025, 3, 4)) == "Mar 4, 2025"
    assert format_value(field("date"), "2025-12-31") == "Dec 31, 2025"
    assert format_value(field("date"), datetime(2025, 3, 4, 10, 0)) == "Mar 4, 2025"
    assert format_value(field("datetime"), datetime(2025, 3, 4, 9, 5)) == "Mar 4, 2025 09:05"
    assert format_value(field("datetime"), "2025-03-04T17:30:00") == "Mar 4, 2025 17:30"
    assert format_value(field("date"), "not a date") == "not a date"


def test_booleans_are_yes_and_no() -> None:
    assert format_value(field("boolean"), True) == "Yes"
    assert format_value(field("boolean"), False) == "No"


def test_select_shows_the_option_label_and_unknown_values_as_stored() -> None:
    assert format_value(STAGE, "closed_won") == "Closed won"
    assert format_value(STAGE, "retired_value") == "retired_value"


def test_multiselect_joins_labels() -> None:
    tags = field("multiselect", options=[{"value": "a", "label": "Alpha"},
                                         {"value": "b", "label": "Beta"}])
    assert format_value(tags, ["a", "b", "zzz"]) == "Alpha, Beta, zzz"


def test_lookups_show_the_related_records_name() -> None:
    account = field("lookup", reference_to="account")
    assert format_value(account, {"id": "01abc", "name": "Acme Corp"}) == "Acme Corp"
    assert format_value(account, "Acme Corp") == "Acme Corp"  # a requested `account.name`
    assert format_value(account, {"id": "01abc", "name": None}) == "01abc"


def test_text_is_returned_verbatim_never_interpreted() -> None:
    hostile = "<img src=x onerror=alert(1)>"
    assert format_value(field("text"), hostile) == hostile
    assert format_value(field("json"), {"a": [1, "é"]}) == '{"a": [1, "é"]}'


def test_chip_colours_follow_the_option_and_fall_back_to_grey() -> None:
    assert option_color(STAGE, "closed_won") == "green"
    assert option_color(STAGE, "missing") is None
    assert "emerald" in chip_classes("green")
    assert "violet" in chip_classes("purple")
    assert chip_classes("chartreuse") == chip_classes(None) == chip_classes("grey")
    assert "rounded-full" in chip_classes("blue")


def test_select_chip_renders_nothing_for_an_empty_value() -> None:
    assert select_chip(STAGE, None) is None
    assert select_chip(STAGE, "") is None
