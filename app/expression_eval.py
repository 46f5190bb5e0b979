"""How an expression runs (the language and its checks are in app/expressions.py).

A checked tree is turned once into nested Python closures, one per node, which an
evaluation calls with the record at hand: no tree walk, no handler table, no evaluator
object per thread. The semantics are simpleeval's walk with our null-safe operators,
exactly: the same evaluation order and short-circuits, the same checks on what a field
or PRIORVALUE() yields, and an error raised where a node fails carries that node's
column, as before. tests/unit/expression_oracle.py keeps the former tree walker, and
tests/unit/test_expression_closures.py holds the two to the same answers and errors.
No user text is compiled by Python: the closures are built from the checked tree.
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import simpleeval

COLUMN_ATTR = "_hotcrm_col"  # 1-based column stashed on checked nodes, for evaluation errors
_SEQUENCES = (list, tuple, set, frozenset)
_RUNTIME_ERRORS = (TypeError, ValueError, ArithmeticError, LookupError)
_CAUGHT = (*_RUNTIME_ERRORS, simpleeval.InvalidExpression)


class ExpressionError(ValueError):
    """Invalid expression (compile time) or failed evaluation (run time)."""

    def __init__(self, expression: str, reason: str, column: int | None = None) -> None:
        self.expression, self.reason, self.column = expression, reason, column
        where = "" if column is None else f"column {column}: "
        super().__init__(f"{where}{reason} in expression: {expression}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.expression, self.reason, self.column))


def type_name(value: Any) -> str:
    names = {str: "text", bool: "boolean", type(None): "null", dt.date: "date"}
    number = _is_num(value) and not isinstance(value, bool)
    return "number" if number else names.get(type(value), type(value).__name__)


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal))


def _mismatch(symbol: str, a: Any, b: Any) -> TypeError:
    return TypeError(f"cannot apply '{symbol}' to {type_name(a)} and {type_name(b)}")


def _as_date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _dates(a: Any, b: Any) -> tuple[Any, Any]:
    """A date compared with a datetime compares the date part."""
    mixed = isinstance(a, dt.datetime) != isinstance(b, dt.datetime)
    if mixed and isinstance(a, dt.date) and isinstance(b, dt.date):
        return _as_date(a), _as_date(b)
    return a, b


def _arithmetic(symbol: str) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        if _is_num(a) and _is_num(b):
            if isinstance(a, Decimal) != isinstance(b, Decimal) and float in (type(a), type(b)):
                a, b = float(a), float(b)  # Decimal mixes with int, not with float
            if symbol == "/":
                return None if b == 0 else a / b
            return {"+": operator.add, "-": operator.sub, "*": simpleeval.safe_mult}[symbol](a, b)
        if symbol in "+-" and isinstance(a, dt.date) and _is_num(b):
            days = dt.timedelta(days=float(b))
            return a + days if symbol == "+" else a - days
        if symbol == "+" and _is_num(a) and isinstance(b, dt.date):
            return b + dt.timedelta(days=float(a))
        if symbol == "+" and isinstance(a, str) and isinstance(b, str):
            return simpleeval.safe_add(a, b)  # enforces MAX_STRING_LENGTH
        if symbol == "-" and isinstance(a, dt.date) and isinstance(b, dt.date):
            if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
                return (a - b).total_seconds() / 86400
            return (_as_date(a) - _as_date(b)).days
        raise _mismatch(symbol, a, b)  # also keeps 'x' * 'y' away from safe_mult

    return apply


def _compare(fn: Callable[[Any, Any], Any], symbol: str) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if (a is None or b is None) and symbol not in ("==", "!="):
            return False  # ordering with null is false; == and != compare normally
        a, b = _dates(a, b)
        try:
            return bool(fn(a, b))
        except TypeError:
            raise _mismatch(symbol, a, b) from None

    return compare


def _neg(a: Any) -> Any:
    if a is None or _is_num(a):
        return None if a is None else -a
    raise TypeError(f"cannot negate {type_name(a)}")


def _in(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    if isinstance(b, str) and not isinstance(a, str):
        raise _mismatch("in", a, b)
    if not isinstance(b, (str, *_SEQUENCES)):
        raise TypeError(f"'in' needs text or a list on the right, not {type_name(b)}")
    return a in b


OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Add: _arithmetic("+"), ast.Sub: _arithmetic("-"), ast.Mult: _arithmetic("*"),
    ast.Div: _arithmetic("/"), ast.USub: _neg, ast.Not: operator.not_,
    ast.Eq: _compare(operator.eq, "=="), ast.NotEq: _compare(operator.ne, "!="),
    ast.Lt: _compare(operator.lt, "<"), ast.LtE: _compare(operator.le, "<="),
    ast.Gt: _compare(operator.gt, ">"), ast.GtE: _compare(operator.ge, ">="),
    ast.In: _in, ast.NotIn: lambda a, b: not _in(a, b),
}  # fmt: skip


def _isblank(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, (*_SEQUENCES, dict)) and not value)


def _len(value: Any) -> int:
    if value is None or isinstance(value, (str, *_SEQUENCES)):
        return 0 if value is None else len(value)
    raise TypeError(f"LEN() expects text or a list, not {type_name(value)}")


def _contains(haystack: Any, needle: Any) -> bool:
    if haystack is None or needle is None:
        return False
    if isinstance(haystack, str) and isinstance(needle, str):
        return needle.casefold() in haystack.casefold()
    if isinstance(haystack, _SEQUENCES):
        if isinstance(needle, str):
            return any(isinstance(x, str) and x.casefold() == needle.casefold() for x in haystack)
        return needle in haystack
    raise TypeError(f"CONTAINS() cannot look for {type_name(needle)} in {type_name(haystack)}")


class Scope:
    """What one evaluation reads besides the tree: the record, its prior values, and
    the moment (ISNEW, TODAY, NOW)."""

    __slots__ = ("is_new", "now", "prior", "record", "today")

    def __init__(self, record: Mapping[str, Any], prior: Mapping[str, Any] | None,
                 is_new: bool, today: dt.date | None, now: dt.datetime | None) -> None:
        now = now if now is not None else dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.record, self.prior, self.is_new = record, prior, is_new
        self.now, self.today = now, today if today is not None else _as_date(now)


Run = Callable[[Scope], Any]
_PRIMITIVE = simpleeval._PRIMITIVE_TYPES
# simpleeval checks every node's result; only a field's value and PRIORVALUE() can be
# other than what our operators and functions return (numbers, text, dates, booleans).
_check_result = simpleeval.SimpleEval(functions={}, names={})._check_disallowed_items


def compile_tree(source: str, node: ast.AST) -> Run:
    """The closure that evaluates checked `node` of `source` against a Scope."""
    col = getattr(node, COLUMN_ATTR, None)

    def failed(exc: Exception) -> ExpressionError:
        return ExpressionError(source, str(exc) or type(exc).__name__, col)

    if isinstance(node, ast.Constant):
        return _constant(node.value, failed)
    if isinstance(node, ast.Name):
        return _name(node.id, failed)
    if isinstance(node, ast.BinOp):
        return _binary(OPERATORS[type(node.op)], compile_tree(source, node.left),
                       compile_tree(source, node.right), failed)
    if isinstance(node, ast.UnaryOp):
        return _unary(OPERATORS[type(node.op)], compile_tree(source, node.operand), failed)
    if isinstance(node, ast.BoolOp):
        return _boolean(isinstance(node.op, ast.And),
                        [compile_tree(source, value) for value in node.values], failed)
    if isinstance(node, ast.Compare):
        return _comparison(compile_tree(source, node.left),
                           [(OPERATORS[type(op)], compile_tree(source, right))
                            for op, right in zip(node.ops, node.comparators, strict=True)],
                           failed)
    if isinstance(node, ast.List | ast.Tuple):
        items = [compile_tree(source, item) for item in node.elts]
        return lambda scope: [item(scope) for item in items]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _call(node.func.id, [compile_tree(source, arg) for arg in node.args], failed)
    # The checker lets nothing else through; simpleeval would refuse it at run time.
    reason = f"Sorry, {type(node).__name__} is not available in this evaluator"

    def refused(scope: Scope) -> Any:
        exc = simpleeval.FeatureNotAvailable(reason)
        raise failed(exc) from exc

    return refused


Failed = Callable[[Exception], ExpressionError]


def _constant(value: Any, failed: Failed) -> Run:
    if not hasattr(value, "__len__"):
        return lambda scope: value

    def constant(scope: Scope) -> Any:  # simpleeval reads its limit at run time
        if len(value) > simpleeval.MAX_STRING_LENGTH:
            exc = simpleeval.IterableTooLong(
                f"Literal in statement is too long! ({len(value)}, when "
                f"{simpleeval.MAX_STRING_LENGTH} is max)")
            raise failed(exc) from exc
        return value

    return constant


def _name(name: str, failed: Failed) -> Run:
    def field(scope: Scope) -> Any:
        try:
            value = scope.record.get(name)  # missing -> None; never a function
            if type(value) not in _PRIMITIVE:
                _check_result(value)
            return value
        except ExpressionError:
            raise
        except _CAUGHT as exc:
            raise failed(exc) from exc

    return field


def _binary(op: Callable[[Any, Any], Any], left: Run, right: Run, failed: Failed) -> Run:
    def binary(scope: Scope) -> Any:
        a, b = left(scope), right(scope)
        try:
            return op(a, b)
        except ExpressionError:
            raise
        except _CAUGHT as exc:
            raise failed(exc) from exc

    return binary


def _unary(op: Callable[[Any], Any], operand: Run, failed: Failed) -> Run:
    def unary(scope: Scope) -> Any:
        value = operand(scope)
        try:
            return op(value)
        except ExpressionError:
            raise
        except _CAUGHT as exc:
            raise failed(exc) from exc

    return unary


def _boolean(is_and: bool, values: list[Run], failed: Failed) -> Run:
    def boolean(scope: Scope) -> Any:  # Python's and/or: the last value looked at
        result: Any = False
        try:
            for value in values:
                result = value(scope)
                if (not result) if is_and else result:
                    break
        except ExpressionError:
            raise
        except _CAUGHT as exc:
            raise failed(exc) from exc
        return result

    return boolean


def _comparison(left: Run, rest: list[tuple[Callable[[Any, Any], Any], Run]],
                failed: Failed) -> Run:
    def comparison(scope: Scope) -> Any:  # a < b < c: stops at the first false
        right = left(scope)
        result: Any = True
        try:
            for op, comparator in rest:
                if not result:
                    break
                before, right = right, comparator(scope)
                result = op(before, right)
        except ExpressionError:
            raise
        except _CAUGHT as exc:
            raise failed(exc) from exc
        return result

    return comparison


def _call(name: str, args: list[Run], failed: Failed) -> Run:
    if name == "IF":
        condition, then, otherwise = args

        def if_(scope: Scope) -> Any:
            try:
                return (then if condition(scope) else otherwise)(scope)
            except ExpressionError:
                raise
            except _CAUGHT as exc:
                raise failed(exc) from exc

        return if_
    if name in ("AND", "OR"):
        every = all if name == "AND" else any

        def and_or(scope: Scope) -> Any:
            try:
                return every(arg(scope) for arg in args)
            except ExpressionError:
                raise
            except _CAUGHT as exc:
                raise failed(exc) from exc

        return and_or
    function = _FUNCTIONS[name]

    def call(scope: Scope) -> Any:
        values = [arg(scope) for arg in args]  # every argument first, as simpleeval
        try:
            result = function(scope, *values)
            if type(result) not in _PRIMITIVE:
                _check_result(result)
            return result
        except ExpressionError:
            raise
        except _CAUGHT as exc:
            raise failed(exc) from exc

    return call


def _is_changed(scope: Scope, name: Any) -> bool:
    prior = scope.prior
    return not (scope.is_new or prior is None) and prior.get(name) != scope.record.get(name)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "ISBLANK": lambda scope, value: _isblank(value),
    "LEN": lambda scope, value: _len(value),
    "CONTAINS": lambda scope, haystack, needle: _contains(haystack, needle),
    "NOT": lambda scope, value: operator.not_(value),
    "TODAY": lambda scope: scope.today, "NOW": lambda scope: scope.now,
    "ISNEW": lambda scope: scope.is_new, "ISCHANGED": _is_changed,
    "PRIORVALUE": lambda scope, name: None if scope.prior is None else scope.prior.get(name),
}  # fmt: skip
