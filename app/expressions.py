"""Safe expression language for validation rules, formulas and visible_when conditions.

``simpleeval.SimpleEval.parse`` parses once; the tree is checked against a whitelist by our own
walk (before any evaluation) and turned into closures that evaluate it with simpleeval's
semantics and our null-safe operators (app/expression_eval.py).  User text never reaches
Python's eval/exec/compile.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import simpleeval

from app.expression_eval import (
    COLUMN_ATTR,
    OPERATORS,
    ExpressionError,
    Run,
    Scope,
    compile_tree,
    type_name,
)

__all__ = ["Expression", "ExpressionError", "compile_expression"]

_MAX_DEPTH = 100  # keeps our walk and simpleeval's recursive evaluator far from the limit
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
_MAX_STR = simpleeval.MAX_STRING_LENGTH


@dataclass(frozen=True)
class Expression:
    source: str
    names: frozenset[str]
    _tree: ast.expr = field(repr=False, compare=False)
    # The checked tree as closures (app/expression_eval.py), built once at compile time.
    _run: Run = field(repr=False, compare=False)

    def evaluate(self, record: Mapping[str, Any], *, prior: Mapping[str, Any] | None = None,
                 is_new: bool = False, today: dt.date | None = None,
                 now: dt.datetime | None = None) -> Any:  # fmt: skip
        return self._run(Scope(record, prior, is_new, today, now))


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
        if type(op) not in OPERATORS:
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
        setattr(node, COLUMN_ATTR, None if at is None else at + 1)
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
        raise ExpressionError(repr(source), f"expression must be text, not {type_name(source)}")
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
    return Expression(source, frozenset(checker.names), tree, compile_tree(source, tree))
