"""bulk_insert's per-call plan (writes.py): typed and checked like a save, with the
work that does not depend on the row done once per call."""

from __future__ import annotations

from typing import Any

from app.expressions import Expression, ExpressionError
from app.metadata.models import FieldDef, ObjectDef
from app.objectql.coerce import FieldError, blank, coerce_value
from app.objectql.context import Context
from app.objectql.errors import ValidationError
from app.objectql.write_checks import WriteChecks
from app.storage.ids import new_id

_UNHASHABLE = object()


class _BulkPlan:
    """What bulk_insert can work out once per call instead of once per row: the field
    tables, defaults, required fields, and a memo per formula and validation rule.

    A new record has no prior values and TODAY()/NOW() are fixed for the call, so an
    expression's result depends only on the values of the fields it names: rows that
    agree on those (e.g. the same stage) reuse the result instead of evaluating again.
    """

    def __init__(self, writes: WriteChecks, ctx: Context, obj: ObjectDef):
        self.writes, self.ctx, self.obj = writes, ctx, obj
        self.all_fields = obj.all_fields
        self.field_names = tuple(self.all_fields)
        self.now, self.today = writes.ql.clock(), writes.ql.today()
        self.default_errors: dict[str, list[tuple[str | None, str]]] = {}
        self.defaults: dict[str, Any] = {}
        for fname, fd in obj.fields.items():
            if fd.default is not None and not fd.is_computed:
                errors: list[tuple[str | None, str]] = []
                self.defaults[fname] = writes._default(ctx, fd, errors)
                if errors:
                    self.default_errors[fname] = errors
        self.required = [(n, f"{fd.display_label} is required")
                         for n, fd in obj.fields.items() if fd.required and not fd.is_computed]
        self.formulas: list[tuple[FieldDef, Expression, tuple[str, ...], dict[Any, Any]]] = []
        for fd in obj.formula_fields:
            if (formula := fd.compiled_formula) is not None:
                self.formulas.append((fd, formula, tuple(sorted(formula.names)), {}))
        self.rules: list[tuple[Any, tuple[str, ...], dict[Any, Any]]] = [
            (rule, tuple(sorted(rule.compiled.names)), {}) for rule in obj.validation_rules]
        self.supplied_by_keys: dict[tuple[Any, ...], frozenset[str]] = {}

    @staticmethod
    def _key(record: dict[str, Any], names: tuple[str, ...]) -> Any:
        key = tuple((type(v := record[n]), v) for n in names)
        try:
            hash(key)
        except TypeError:
            return _UNHASHABLE
        return key

    def prepare(self, data: Any) -> dict[str, Any]:
        ctx, all_fields = self.ctx, self.all_fields
        keys = tuple(data) if isinstance(data, dict) else None
        supplied = self.supplied_by_keys.get(keys) if keys is not None else None
        if supplied is None:  # the check depends only on which fields a row sets
            supplied = self.writes._check_input(ctx, self.obj, data, creating=True)
            self.supplied_by_keys[keys] = supplied  # type: ignore[index]
        errors: list[tuple[str | None, str]] = []
        record: dict[str, Any] = dict.fromkeys(self.field_names)
        for fname, value in self.defaults.items():
            if fname not in supplied:
                record[fname] = value
                errors.extend(self.default_errors.get(fname, ()))
        for fname in supplied:
            value = data[fname]
            if value is None:  # what coerce_value makes of it, without the call
                record[fname] = None
                continue
            fd = all_fields[fname]
            try:
                record[fname] = coerce_value(fd, value)
            except FieldError as exc:
                errors.append((fname, f"{fd.display_label} {exc}"))
        created = data.get("created_at") if ctx.is_system else None
        if created:
            try:
                created = coerce_value(all_fields["created_at"], created)
            except FieldError as exc:
                errors.append(("created_at", f"Created {exc}"))
        if errors:
            raise ValidationError.of(errors)
        record_id = data.get("id")
        record.update(id=record_id if isinstance(record_id, str) and record_id else new_id(),
                      owner=record["owner"] or ctx.user_id, created_at=created or self.now,
                      created_by=ctx.user_id, modified_at=self.now, modified_by=ctx.user_id,
                      version=1)
        today, now = self.today, self.now
        for fd, expression, names, memo in self.formulas:
            key = self._key(record, names)
            if key is not _UNHASHABLE and key in memo:
                record[fd.name] = memo[key]
                continue
            try:
                value = expression.evaluate(record, is_new=True, today=today, now=now)
                value = coerce_value(fd, value) if value is not None else None
            except (ExpressionError, FieldError):
                value = None
            record[fd.name] = value
            if key is not _UNHASHABLE:
                memo[key] = value
        errors = [(n, message) for n, message in self.required if blank(record[n])]
        for rule, names, memo in self.rules:
            key = self._key(record, names)
            outcome = memo.get(key) if key is not _UNHASHABLE else None
            if outcome is None:
                try:
                    outcome = bool(rule.compiled.evaluate(record, is_new=True, today=today,
                                                          now=now))
                except ExpressionError as exc:
                    outcome = f"rule {rule.name} could not be checked: {exc.reason}"
                if key is not _UNHASHABLE:
                    memo[key] = outcome
            if outcome is True:
                errors.append((rule.field, rule.message))
            elif isinstance(outcome, str):
                errors.append((rule.field, outcome))
        if errors:
            raise ValidationError.of(errors)
        return record
