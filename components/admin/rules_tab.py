"""Validation rules: the record is refused when the condition is true. Each rule has an
expression editor that checks itself while typing and can be tried on a real record."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from nicegui import ui

from app.metadata.models import SYSTEM_FIELD_NAMES
from components.admin.documents import snake_name
from components.admin.expression_input import ExpressionInput
from components.admin.frame import CARD, MUTED, problem_box, section_heading, show_problem

if TYPE_CHECKING:
    from components.admin.object_editor import ObjectEditor


class RulesTab:
    def __init__(self, editor: ObjectEditor) -> None:
        self.editor = editor
        rules = list(editor.doc.get("validation_rules") or [])
        with ui.row().classes("w-full items-center gap-3"):
            section_heading("Validation rules")
            ui.space()
            ui.button("New rule", icon="add", on_click=lambda: RuleDialog(editor, None).open()
                      ).props('unelevated no-caps color=primary data-testid="rule-new"')
        ui.label("A record is refused with the message when its condition is true.").classes(
            f"text-sm {MUTED} -mt-2")
        if not rules:
            ui.label("No rules yet.").classes(f"text-sm {MUTED}")
        for index, rule in enumerate(rules):
            with ui.card().classes(CARD + " gap-1").props(
                    f'data-rule="{rule.get("name")}"'):
                with ui.row().classes("w-full items-center gap-2"):
                    ui.label(str(rule.get("name"))).classes("font-medium font-mono text-sm")
                    if rule.get("field"):
                        ui.label(f"shown at {rule['field']}").classes(f"text-xs {MUTED}")
                    ui.space()
                    ui.button(icon="edit", on_click=lambda i=index: RuleDialog(
                        editor, i).open()).props(
                        f'flat round dense color=grey-8 aria-label="Edit rule {rule.get("name")}"'
                        ' data-testid="rule-edit"')
                    ui.button(icon="delete", on_click=lambda i=index: self.remove(i)).props(
                        f'flat round dense color=grey-8 aria-label="Remove rule '
                        f'{rule.get("name")}" data-testid="rule-remove"')
                ui.label(str(rule.get("condition"))).classes("font-mono text-xs break-all")
                ui.label(str(rule.get("message"))).classes(f"text-sm {MUTED}")
        self.problem = problem_box()

    async def remove(self, index: int) -> None:
        doc = copy.deepcopy(self.editor.doc)
        removed = doc["validation_rules"].pop(index)
        comment = f"Remove validation rule {removed.get('name')}"
        outcome = await self.editor.save_or_report(doc, comment, self.problem)
        if outcome is None:
            return
        self.editor.saved(f"Rule {removed.get('name')} removed", outcome, tab="rules")


class RuleDialog:
    def __init__(self, editor: ObjectEditor, index: int | None) -> None:
        self.editor, self.index = editor, index
        rules = editor.doc.get("validation_rules") or []
        self.rule: dict[str, Any] = dict(rules[index]) if index is not None else {}

    def open(self) -> None:
        editor = self.editor
        fields = dict(editor.doc.get("fields") or {})
        self.dialog = ui.dialog().props('aria-label="Validation rule"')
        with self.dialog, ui.card().classes(
                "p-5 gap-3 w-full max-w-2xl").props('data-testid="rule-dialog"'):
            ui.label("New validation rule" if self.index is None else
                     f"Rule · {self.rule.get('name')}").classes("text-lg font-semibold")
            self.name = ui.input("Rule name", value=self.rule.get("name") or "").props(
                'outlined dense maxlength=60 data-testid="rule-name"').classes("w-full")
            self.condition = ExpressionInput(
                "Condition (the record is refused when this is true)",
                self.rule.get("condition"), set(fields) | set(SYSTEM_FIELD_NAMES),
                ql=editor.services.ql, ctx=editor.ctx, object_name=editor.object_name,
                testid="rule-condition", verdict=("fails", "passes"),
                help_text="e.g. ISBLANK(phone) and ISBLANK(email) · functions: ISBLANK, "
                          "TODAY, NOW, LEN, ISCHANGED, PRIORVALUE, IF, AND, OR, NOT, "
                          "CONTAINS, ISNEW")
            self.message = ui.input("Message shown to the user",
                                    value=self.rule.get("message") or "").props(
                'outlined dense maxlength=300 data-testid="rule-message"').classes("w-full")
            self.field = ui.select({n: str(s.get("label") or n) for n, s in fields.items()},
                                   label="Show the message at field (optional)",
                                   value=self.rule.get("field"), clearable=True).props(
                'outlined dense data-testid="rule-field"').classes("w-full")
            self.problem = problem_box()
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat no-caps")
                ui.button("Save rule", on_click=self.save).props(
                    'unelevated no-caps color=primary data-testid="rule-save"')
        self.dialog.open()

    async def save(self) -> None:
        name = snake_name(str(self.name.value or ""))
        if not name or not self.condition.value or not str(self.message.value or "").strip():
            show_problem(self.problem, "A rule needs a name, a condition and a message.")
            return
        rule: dict[str, Any] = {"name": name, "condition": self.condition.value,
                                "message": str(self.message.value).strip()}
        if self.field.value:
            rule["field"] = self.field.value
        doc = copy.deepcopy(self.editor.doc)
        rules = doc.setdefault("validation_rules", [])
        if self.index is None:
            rules.append(rule)
        else:
            rules[self.index] = rule
        comment = (f"{'Add' if self.index is None else 'Change'} "
                   f"validation rule {name}")
        outcome = await self.editor.save_or_report(doc, comment, self.problem)
        if outcome is None:
            return
        self.dialog.close()
        self.editor.saved(f"Rule {name} saved", outcome, tab="rules")
