"""The tree walker app/expressions.py used until 2026-12-07 (a simpleeval.SimpleEval
subclass), kept verbatim as the oracle for app/expression_eval.py's closures: both
must give the same values and the same errors (tests/unit/test_expression_closures.py).
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
import threading
from collections.abc import Callable, Mapping
from typing import Any

import simpleeval

from app.expression_eval import (
    _RUNTIME_ERRORS,
    COLUMN_ATTR,
    OPERATORS,
    ExpressionError,
    _as_date,
    _contains,
    _isblank,
    _len,
)
from app.expressions import Expression


def evaluate(expression: Expression, record: Mapping[str, Any], *,
             prior: Mapping[str, Any] | None = None, is_new: bool = False,
             today: dt.date | None = None, now: dt.datetime | None = None) -> Any:
    """Expression.evaluate as it was."""
    evaluator = getattr(_per_thread, "evaluator", None)
    if evaluator is None or evaluator.busy:  # busy: an evaluation inside an evaluation
        evaluator = _Evaluator()
        _per_thread.evaluator = evaluator
    return evaluator.run(expression.source, expression._tree, record, prior, is_new, today,
                         now)


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
        super().__init__(operators=OPERATORS, functions=functions, names={})
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
            raise ExpressionError(self._source, reason, getattr(node, COLUMN_ATTR, None)) from exc

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


_per_thread = threading.local()
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_DAY = _EPOCH.date()
