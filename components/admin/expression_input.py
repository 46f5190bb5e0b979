"""An expression input (formula, validation rule condition, visible_when) that checks
itself as the admin types — the same parser and name check the loader uses — and can
evaluate the expression on a real record the admin picks."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from nicegui import ui

from app.expressions import ExpressionError, compile_expression
from app.objectql.context import Context
from app.objectql.errors import ObjectQLError
from app.objectql.service import ObjectQL
from components.field_widgets import search_records

OK = "text-xs text-green-700 dark:text-green-300"
BAD = "text-xs text-red-700 dark:text-red-300"


def check(source: str, known: Collection[str]) -> str | None:
    """None when `source` compiles against `known` field names, else the reason."""
    try:
        compile_expression(source, set(known))
    except ExpressionError as exc:
        return str(exc)
    return None


def evaluate(source: str, known: Collection[str], record: dict[str, Any], today: Any
             ) -> tuple[bool, Any]:
    """(True, value) or (False, reason) of `source` on `record`."""
    try:
        value = compile_expression(source, set(known)).evaluate(record, today=today)
    except (ExpressionError, TypeError, ValueError, ZeroDivisionError, ArithmeticError) as exc:
        return False, str(exc)
    return True, value


class ExpressionInput:
    def __init__(self, label: str, value: str | None, known: Collection[str], *,
                 ql: ObjectQL, ctx: Context, object_name: str, testid: str,
                 help_text: str = "", verdict: tuple[str, str] | None = None) -> None:
        """`verdict` names the outcomes of a condition (e.g. ("fails", "passes")) shown
        when trying it on a record; without it the value itself is shown."""
        self.known, self.ql, self.ctx, self.object_name = set(known), ql, ctx, object_name
        self.verdict = verdict
        self.input = ui.textarea(label, value=value or "").props(
            f'outlined dense autogrow spellcheck=false data-testid="{testid}"').classes(
            "w-full font-mono")
        if help_text:
            ui.label(help_text).classes("text-xs text-slate-500 dark:text-slate-400 -mt-2")
        self.status = ui.label().props(f'data-testid="{testid}-status" aria-live="polite"')
        self.input.on_value_change(lambda _e: self.refresh())
        with ui.row().classes("w-full items-center gap-2 no-wrap") as trial:
            self.record = ui.select({}, label="Try it on a record", with_input=True,
                                    clearable=True).props(
                f'outlined dense options-dense input-debounce=200 '
                f'data-testid="{testid}-record"').classes("grow")
            self.record.on("input-value", lambda e: self._search(
                e.args if isinstance(e.args, str) else ""), throttle=0.2)
            self.record.on("popup-show", lambda: self._search(""))
            self.record.on_value_change(lambda _e: self.refresh())
        trial.bind_visibility_from(self.input, "value", backward=lambda v: bool(v))
        self.result = ui.label().props(f'data-testid="{testid}-result" aria-live="polite"')
        self.refresh()

    @property
    def value(self) -> str:
        return str(self.input.value or "").strip()

    def _search(self, text: str) -> None:
        try:
            found = search_records(self.ql, self.ctx, self.ql.object(self.object_name), text)
        except ObjectQLError:  # a brand-new object has no table yet
            found = {}
        chosen = self.record.value
        if chosen and chosen not in found and isinstance(self.record.options, dict):
            found[chosen] = self.record.options.get(chosen, chosen)
        self.record.set_options(found, value=chosen)

    def refresh(self) -> None:
        source = self.value
        if not source:
            self.status.set_text("")
            self.result.set_text("")
            return
        problem = check(source, self.known)
        self.status.set_text(f"✗ {problem}" if problem else "✓ Valid expression")
        self.status.classes(replace=BAD if problem else OK)
        self.result.set_text("")
        if problem or not self.record.value:
            return
        try:
            record = self.ql.get(self.ctx, self.object_name, str(self.record.value))
        except ObjectQLError as exc:
            self.result.set_text(exc.message)
            return
        ok, value = evaluate(source, self.known, record, self.ql.today())
        if not ok:
            self.result.set_text(f"On this record: error — {value}")
            self.result.classes(replace=BAD)
        elif self.verdict:
            self.result.set_text(f"On this record the rule {self.verdict[0 if value else 1]}"
                                 f" (condition is {bool(value)}).")
            self.result.classes(replace=BAD if value else OK)
        else:
            self.result.set_text(f"On this record: {value!r}")
            self.result.classes(replace="text-xs text-slate-700 dark:text-slate-200")
