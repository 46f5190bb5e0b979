"""Safe expression language for validation rules, formulas and visible_when conditions.

``simpleeval.SimpleEval.parse`` parses once; the tree is checked against a whitelist by our own
walk (before any evaluation) and evaluated by a restricted SimpleEval subclass with null-safe
operators.  User text never reaches Python's eval/exec/compile.
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
import re
import threading
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import simpleeval

__all__ = ["Expression", "ExpressionError", "compile_expression"]

_MAX_DEPTH = 100  # keeps our walk and simpleeval's recursive evaluator far from the limit
_COL = "_hotcrm_col"  # 1-based column stashed on checked nodes, for evaluation errors
_ALIASES: dict[str, Any] = {"true": True, "false": False, "null": None}
_RESERVED = frozenset(  # harmless as record keys, but never accepted as field names
    ["eval", "exec", "compile", "open", "globals", "locals", "vars", "getattr", "setattr",
     "delattr", "hasattr", "breakpoint", "input", "help", "exit", "quit", "memoryview"]
)  # fmt: skip
_ARITY: dict[str, tuple[int, int | None]] = {  # name -> (min, max or None = variadic)
    "ISBLANK": (1, 1), "TODAY": (0, 0), "NOW": (0, 0), "LEN": (1, 1), "ISCHANGED": (1, 1),
    "PRIORVALUE": (1, 1), "IF": (3, 3), "AND": (1, None), "OR": (1, None), "NOT": (1, 1),
    "CONTAINS": (2, 2), "ISNEW": (0, 0),
}  # fmt: skip
_BAD_OPS: dict[type[ast.AST], str] = {  # operators we reject, for the error message
    ast.Pow: "**", ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&",
    ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>", ast.Invert: "~",
    ast.UAdd: "unary +", ast.Is: "is", ast.IsNot: "is not",
}  # fmt: skip
_DESCRIPTIONS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripting", ast.Slice: "slicing",
    ast.Lambda: "lambda", ast.ListComp: "comprehension", ast.SetComp: "comprehension",
    ast.DictComp: "comprehension", ast.GeneratorExp: "comprehension", ast.JoinedStr: "f-string",
    ast.NamedExpr: "the walrus operator ':='", ast.Starred: "starred expression",
    ast.IfExp: "'a if c else b' (use IF(c, a, b))", ast.Dict: "dict literal",
    ast.Set: "set literal", ast.List: "list literal outside 'in'",
    ast.Tuple: "tuple literal outside 'in'",
}  # fmt: skip
_SEQUENCES = (list, tuple, set, frozenset)
_MAX_STR = simpleeval.MAX_STRING_LENGTH
_RUNTIME_ERRORS = (TypeError, ValueError, ArithmeticError, LookupError)


class ExpressionError(ValueError):
    """Invalid expression (compile time) or failed evaluation (run time)."""

    def __init__(self, expression: str, reason: str, column: int | None = None) -> None:
        self.expression, self.reason, self.column = expression, reason, column
        where = "" if column is None else f"column {column}: "
        super().__init__(f"{where}{reason} in expression: {expression}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.expression, self.reason, self.column))


def _tname(value: Any) -> str:
    names = {str: "text", bool: "boolean", type(None): "null", dt.date: "date"}
    number = _is_num(value) and not isinstance(value, bool)
    return "number" if number else names.get(type(value), type(value).__name__)


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal))


def _mismatch(symbol: str, a: Any, b: Any) -> TypeError:
    return TypeError(f"cannot apply '{symbol}' to {_tname(a)} and {_tname(b)}")


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
    raise TypeError(f"cannot negate {_tname(a)}")


def _in(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    if isinstance(b, str) and not isinstance(a, str):
        raise _mismatch("in", a, b)
    if not isinstance(b, (str, *_SEQUENCES)):
        raise TypeError(f"'in' needs text or a list on the right, not {_tname(b)}")
    return a in b


_OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
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
    raise TypeError(f"LEN() expects text or a list, not {_tname(value)}")


def _contains(haystack: Any, needle: Any) -> bool:
    if haystack is None or needle is None:
        return False
    if isinstance(haystack, str) and isinstance(needle, str):
        return needle.casefold() in haystack.casefold()
    if isinstance(haystack, _SEQUENCES):
        if isinstance(needle, str):
            return any(isinstance(x, str) and x.casefold() == needle.casefold() for x in haystack)
        return needle in haystack
    raise TypeError(f"CONTAINS() cannot look for {_tname(needle)} in {_tname(haystack)}")


class _Evaluator(simpleeval.SimpleEval):
    """Walks a parsed tree against one record. Building one (simpleeval's node table, a
    warnings filter) cost more than most evaluations, so each thread keeps one and
    `run` points it at the record at hand; the parsed tree is shared, read-only."""

    def __init__(self) -> None:
        functions: dict[str, Callable[..., Any]] = {
            "ISBLANK": _isblank, "LEN": _len, "CONTAINS": _contains, "NOT": operator.not_,
            "TODAY": lambda: self._today, "NOW": lambda: self._now,
            "ISNEW": lambda: self._is_new, "ISCHANGED": self._is_changed,
            "PRIORVALUE": lambda f: None if self._prior is None else self._prior.get(f),
        }  # fmt: skip
        super().__init__(operators=_OPERATORS, functions=functions, names={})
        self.nodes[ast.List] = self.nodes[ast.Tuple] = self._eval_sequence
        self.busy = False
        self._forget()

    def _forget(self) -> None:
        self._source = ""
        self._record: Mapping[str, Any] = {}
        self._prior: Mapping[str, Any] | None = None
        self._is_new, self._today, self._now = False, _EPOCH_DAY, _EPOCH

    def run(self, source: str, tree: ast.expr, record: Mapping[str, Any],
            prior: Mapping[str, Any] | None, is_new: bool, today: dt.date | None,
            now: dt.datetime | None) -> Any:  # fmt: skip
        now = now if now is not None else dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self._source, self._record, self._prior, self._is_new = source, record, prior, is_new
        self._now, self._today = now, today if today is not None else _as_date(now)
        self.busy = True
        try:
            return self.eval(source, previously_parsed=tree)
        finally:
            self.busy = False
            self._forget()  # no record outlives its evaluation

    def _is_changed(self, name: Any) -> bool:
        prior, record = self._prior, self._record
        return not (self._is_new or prior is None) and prior.get(name) != record.get(name)

    def _eval(self, node: ast.AST) -> Any:
        try:
            return super()._eval(node)
        except ExpressionError:
            raise
        except (*_RUNTIME_ERRORS, simpleeval.InvalidExpression) as exc:
            reason = str(exc) or type(exc).__name__
            raise ExpressionError(self._source, reason, getattr(node, _COL, None)) from exc

    def _eval_name(self, node: ast.Name) -> Any:
        return self._record.get(node.id)  # missing -> None; never falls back to functions

    def _eval_sequence(self, node: ast.List | ast.Tuple) -> list[Any]:
        return [self._eval(item) for item in node.elts]

    def _eval_call(self, node: ast.Call) -> Any:  # simpleeval evaluates all args eagerly
        name, args = getattr(node.func, "id", ""), node.args
        if name == "IF":
            return self._eval(args[1] if self._eval(args[0]) else args[2])
        if name in ("AND", "OR"):
            return (all if name == "AND" else any)(self._eval(arg) for arg in args)
        return super()._eval_call(node)


@dataclass(frozen=True)
class Expression:
    source: str
    names: frozenset[str]
    _tree: ast.expr = field(repr=False, compare=False)

    def evaluate(self, record: Mapping[str, Any], *, prior: Mapping[str, Any] | None = None,
                 is_new: bool = False, today: dt.date | None = None,
                 now: dt.datetime | None = None) -> Any:  # fmt: skip
        evaluator = getattr(_per_thread, "evaluator", None)
        if evaluator is None or evaluator.busy:  # busy: an evaluation inside an evaluation
            evaluator = _Evaluator()
            _per_thread.evaluator = evaluator
        return evaluator.run(self.source, self._tree, record, prior, is_new, today, now)


_per_thread = threading.local()
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_DAY = _EPOCH.date()


class _Checker:
    """Whitelist walk; rewrites true/false/null and the ISCHANGED/PRIORVALUE field arguments."""

    def __init__(self, source: str, known_names: Collection[str] | None) -> None:
        self.source, self.names = source, set[str]()
        self.known = None if known_names is None else frozenset(known_names)
        # simpleeval's parse() strips the text: positions are relative to the stripped text
        self.base, self.text = len(source) - len(source.lstrip()), source.strip()
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", self.text)]

    def index(self, lineno: int | None, col: int | None, in_bytes: bool = True) -> int | None:
        """0-based index into the source of an AST (line, byte column) position."""
        if lineno is None or col is None:
            return None
        start, col = self.starts[min(max(lineno, 1), len(self.starts)) - 1], max(col, 0)
        if in_bytes:
            col = len(self.text[start : start + col].encode(errors="surrogatepass")[:col].decode(
                errors="ignore"))  # fmt: skip
        return min(self.base + start + col, len(self.source))

    def error(self, reason: str, node: ast.AST | None = None, at: int | None = None) -> Exception:
        if at is None and node is not None:
            at = self.index(getattr(node, "lineno", None), getattr(node, "col_offset", None))
        return ExpressionError(self.source, reason, None if at is None else at + 1)

    def check_op(self, op: ast.AST, node: ast.AST) -> None:  # op nodes are shared singletons
        if type(op) not in _OPERATORS:
            symbol = _BAD_OPS.get(type(op), type(op).__name__)
            raise self.error(f"operator '{symbol}' is not allowed", node)

    def field(self, name: str, node: ast.AST) -> None:
        if name.startswith("_"):
            raise self.error(f"name '{name}' is not allowed (names may not start with '_')", node)
        if name in _ARITY:
            raise self.error(f"function '{name}' must be called, e.g. {name}(...)", node)
        if name in _RESERVED or name in _ALIASES:
            raise self.error(f"'{name}' is a reserved name, not a field", node)
        if self.known is not None and name not in self.known:
            raise self.error(f"unknown field '{name}'", node)
        self.names.add(name)

    def check(self, node: ast.expr, depth: int = 0) -> ast.expr:
        if depth > _MAX_DEPTH:
            raise self.error("expression is too deeply nested", node)
        at = self.index(node.lineno, node.col_offset)
        setattr(node, _COL, None if at is None else at + 1)
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (bool, int, float, str, type(None))):
                raise self.error(f"{type(node.value).__name__} literals are not allowed", node)
            if isinstance(node.value, str) and len(node.value) > _MAX_STR:
                raise self.error(f"text literal is longer than {_MAX_STR}", node)
        elif isinstance(node, ast.Name) and node.id in _ALIASES:
            return self.check(ast.copy_location(ast.Constant(_ALIASES[node.id]), node), depth)
        elif isinstance(node, ast.Name):
            self.field(node.id, node)
        elif isinstance(node, ast.BinOp):
            self.check_op(node.op, node)
            node.left = self.check(node.left, depth + 1)
            node.right = self.check(node.right, depth + 1)
        elif isinstance(node, ast.UnaryOp):
            self.check_op(node.op, node)
            node.operand = self.check(node.operand, depth + 1)
        elif isinstance(node, ast.BoolOp):
            node.values = [self.check(value, depth + 1) for value in node.values]
        elif isinstance(node, ast.Compare):
            node.left = self.check(node.left, depth + 1)
            for i, (op, right) in enumerate(zip(node.ops, node.comparators, strict=True)):
                self.check_op(op, node)
                last_in = isinstance(op, (ast.In, ast.NotIn)) and i == len(node.ops) - 1
                if last_in and isinstance(right, (ast.List, ast.Tuple)):
                    right.elts = [self.check(item, depth + 2) for item in right.elts]
                else:
                    node.comparators[i] = self.check(right, depth + 1)
        elif isinstance(node, ast.Call):
            self.check_call(node, depth)
        else:
            what = _DESCRIPTIONS.get(type(node), type(node).__name__)
            raise self.error(f"{what} is not allowed", node)
        return node

    def check_call(self, node: ast.Call, depth: int) -> None:
        func, args = node.func, node.args
        if not isinstance(func, ast.Name):
            what = _DESCRIPTIONS.get(type(func), "calling an expression")
            raise self.error(f"{what} is not allowed", func)
        if func.id.startswith("_") or func.id not in _ARITY:
            hint = f" (did you mean {func.id.upper()}?)" if func.id.upper() in _ARITY else ""
            raise self.error(f"unknown function '{func.id}'{hint}", func)
        if node.keywords:
            raise self.error(f"{func.id}() does not take keyword arguments", node.keywords[0])
        for arg in args:
            if isinstance(arg, ast.Starred):
                raise self.error("starred arguments are not allowed", arg)
        low, high = _ARITY[func.id]
        if len(args) < low or (high is not None and len(args) > high):
            expected = f"at least {low}" if high is None else str(low)
            expected += " argument" if expected == "1" else " arguments"
            raise self.error(f"{func.id}() takes {expected}, got {len(args)}", node)
        if func.id in ("ISCHANGED", "PRIORVALUE"):
            if not isinstance(args[0], ast.Name):
                raise self.error(f"{func.id}() expects a field name", args[0])
            self.field(args[0].id, args[0])  # the function receives the name, not the value
            node.args = [self.check(ast.copy_location(ast.Constant(args[0].id), args[0]))]
        else:
            node.args = [self.check(arg, depth + 1) for arg in args]


def compile_expression(source: str, known_names: Collection[str] | None = None) -> Expression:
    """Parse and validate ``source``; with ``known_names`` every field must be one of them."""
    if not isinstance(source, str):  # e.g. YAML turned `visible_when: true` into a bool
        raise ExpressionError(repr(source), f"expression must be text, not {_tname(source)}")
    if not source.strip():
        raise ExpressionError(source, "expression is empty")
    checker = _Checker(source, known_names)
    with warnings.catch_warnings(record=True) as caught:  # SyntaxWarnings must not leak out
        warnings.simplefilter("always")
        try:
            statement = simpleeval.SimpleEval.parse(source)
        except SyntaxError as exc:
            col = None if exc.offset is None else exc.offset - 1
            at = checker.index(exc.lineno, col, in_bytes=False)
            raise checker.error(f"syntax error: {exc.msg}", at=at) from None
        except simpleeval.InvalidExpression:  # e.g. only a comment
            raise checker.error("expression is empty") from None
        except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, deep nesting
            raise checker.error(f"expression cannot be parsed ({type(exc).__name__})") from None
    if any(issubclass(w.category, simpleeval.MultipleExpressions) for w in caught):
        raise checker.error("only a single expression is allowed")
    if not isinstance(statement, ast.Expr):
        raise checker.error("statements are not allowed, only an expression", statement)
    try:
        tree = checker.check(statement.value)
    except RecursionError:
        raise checker.error("expression is too deeply nested") from None
    return Expression(source, frozenset(checker.names), tree)
