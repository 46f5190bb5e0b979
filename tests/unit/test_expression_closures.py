"""Expressions run as closures (app/expression_eval.py) give exactly what the former
simpleeval tree walker gave (tests/unit/expression_oracle.py): the same value of the
same type, or the same error — reason and column — for generated expressions and
records, and for the corners the generator does not reach."""

from __future__ import annotations

import datetime as dt
import types
from typing import Any

import pytest
import simpleeval
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.expressions import ExpressionError, compile_expression
from tests.unit import expression_oracle
from tests.unit.test_expressions import FIELDS, expressions, records

TODAY = dt.date(2024, 6, 15)
NOW = dt.datetime(2024, 6, 15, 9, 30)
MANY = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(run: Any) -> tuple[Any, ...]:
    try:
        value = run()
    except ExpressionError as error:
        return ("error", error.expression, error.reason, error.column, str(error),
                type(error.__cause__))
    return ("value", type(value), repr(value))


def both(source: str, record: dict[str, Any], **kwargs: Any) -> tuple[Any, Any]:
    expression = compile_expression(source)
    return (outcome(lambda: expression.evaluate(record, **kwargs)),
            outcome(lambda: expression_oracle.evaluate(expression, record, **kwargs)))


@MANY
@given(expressions, records, st.one_of(st.none(), records), st.booleans())
def test_closures_answer_as_the_tree_walker_did(
    source: str, record: dict[str, Any], prior: dict[str, Any] | None, is_new: bool
) -> None:
    expression = compile_expression(source, FIELDS)
    kwargs = {"prior": prior, "is_new": is_new, "today": TODAY, "now": NOW}
    ours = outcome(lambda: expression.evaluate(record, **kwargs))
    theirs = outcome(lambda: expression_oracle.evaluate(expression, record, **kwargs))
    assert ours == theirs


@pytest.mark.parametrize(("source", "record"), [
    ("a + 1", {"a": "x"}),                       # operator error: the BinOp's column
    ("1 + (b * 'x')", {"b": "y"}),               # the inner node's column
    ("LEN(a) > 2", {"a": 5}),                    # function error: the call's column
    ("a < b < c", {"a": 1, "b": 2, "c": "z"}),   # chained comparison, the last fails
    ("a < b < c", {"a": 3, "b": 2, "c": "z"}),   # ... or stops before it
    ("a and b + 'x'", {"a": 0, "b": 1}),         # and/or short-circuit
    ("a or b + 'x'", {"a": 0, "b": 1}),
    ("IF(a, 1, b + 'x')", {"a": 1, "b": 1}),     # IF evaluates one branch
    ("AND(a, b + 'x')", {"a": 0, "b": 1}),       # AND stops at the first false
    ("OR(a, b + 'x')", {"a": 1, "b": 1}),
    ("CONTAINS(a, 1)", {"a": 5}),
    ("a in b", {"a": 1, "b": "text"}),
    ("a + b", {"a": "x" * 60_000, "b": "y" * 60_000}),  # simpleeval's string limit
    ("a", {"a": types}),                         # a module in a record is refused
    ("a", {"a": [1, [types]]}),                  # ... also inside a list
    ("PRIORVALUE(a)", {}),
    ("-a", {"a": "x"}),
    ("not a", {"a": [1]}),
    ("a in [1, b, 'x']", {"a": "x", "b": None}),
])  # fmt: skip
def test_corner_cases_match(source: str, record: dict[str, Any]) -> None:
    ours, theirs = both(source, record, prior={"a": types}, today=TODAY, now=NOW)
    assert ours == theirs


def test_prior_value_of_a_module_is_refused_alike() -> None:
    ours, theirs = both("PRIORVALUE(a)", {}, prior={"a": types}, is_new=False)
    assert ours == theirs and ours[0] == "error"


def test_today_and_now_default_to_the_clock() -> None:
    expression = compile_expression("TODAY() <= NOW()")
    assert expression.evaluate({}) is True
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    value = compile_expression("NOW()").evaluate({})
    assert before <= value <= dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert compile_expression("TODAY()").evaluate({}, now=NOW) == NOW.date()


def test_string_limit_is_read_when_evaluating(monkeypatch: pytest.MonkeyPatch) -> None:
    expression = compile_expression("'abcdef' + a")
    monkeypatch.setattr(simpleeval, "MAX_STRING_LENGTH", 3)
    ours = outcome(lambda: expression.evaluate({"a": "x"}))
    theirs = outcome(lambda: expression_oracle.evaluate(expression, {"a": "x"}))
    assert ours == theirs and ours[0] == "error"


class _Evaluating:
    """A record value whose comparison evaluates another expression (re-entrancy)."""

    def __eq__(self, other: object) -> bool:
        return bool(compile_expression("b == 2").evaluate({"b": 2}))

    __hash__ = object.__hash__


def test_an_evaluation_inside_an_evaluation() -> None:
    ours, theirs = both("a == 1", {"a": _Evaluating()})
    assert ours == theirs == ("value", bool, "True")


def test_an_expression_is_shared_by_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    expression = compile_expression("IF(a > 1, a * 2, LEN(b))")
    inputs = [{"a": n, "b": "x" * n} for n in range(200)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(expression.evaluate, inputs))
    assert got == [n * 2 if n > 1 else n for n in range(200)]
