"""The steps every save shares (writes.py runs them in order): the input check,
coercion and defaults, formulas, required fields and validation rules, lookup,
uniqueness and master-record checks, autonumbers, and loading a record to change.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from app.expressions import ExpressionError
from app.metadata.models import FieldDef, ObjectDef
from app.objectql.coerce import FieldError, blank, coerce_value
from app.objectql.context import Context
from app.objectql.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.objectql.write_plan import InputCheck
from app.objectql.write_statements import PendingLookup, WriteStatements
from app.storage.system_tables import AutonumberCounter

COUNTERS = AutonumberCounter.__table__  # type: ignore[attr-defined]
# Values a trigger cannot change in place: one still the same object is the value coerced.
_IMMUTABLE = frozenset({str, int, float, bool, Decimal, date, datetime})


class WriteChecks(WriteStatements):
    def _check_input(self, ctx: Context, obj: ObjectDef, data: Any, creating: bool,
                     errors: list[tuple[str | None, str]] | None = None) -> frozenset[str]:
        """The names to write. Unknown, computed and read-only names go to `errors` (and
        are left out) so the caller can report them with every other problem at once;
        without an `errors` list they are raised at once."""
        if not isinstance(data, dict):
            raise ValidationError.of([(None, "a record is an object of field values")])
        raise_now = errors is None
        errors = [] if errors is None else errors
        # The outcome depends only on the names, the caller's role and whether this is a
        # create: remembered per object definition and registry (write_plan.py).
        names = tuple(data)
        key = (ctx.role, ctx.is_system, creating, names) \
            if all(type(name) is str for name in names) else None
        plan = self._plan(obj)
        check = plan.input_check(key) if key is not None else None
        if check is None:
            check = self._judge_input(ctx, obj, data, creating)
            if key is not None:
                plan.remember_input_check(key, check)
        supplied, found, denied = check
        errors.extend(found)
        if errors and raise_now:
            raise ValidationError.of(errors)
        if denied and not errors:
            raise PermissionDenied(f"you may not edit {', '.join(denied)} on {obj.label}",
                                   [{"field": d, "message": "not editable"} for d in denied])
        if len(errors) != len(found):
            # Errors from before this check keep their fields out of `supplied` too.
            bad = {field for field, _ in errors}
            supplied = frozenset(k for k in supplied if k not in bad)
        return supplied

    def _judge_input(self, ctx: Context, obj: ObjectDef, data: dict[Any, Any],
                     creating: bool) -> InputCheck:
        errors: list[tuple[str | None, str]] = []
        denied: list[str] = []
        for name in data:
            fd = obj.field(name) if isinstance(name, str) else None
            if fd is None or not self.ql.security.field_readable(ctx, obj, fd):
                errors.append((str(name), f"unknown field '{name}' on {obj.name}"))
            elif fd.is_computed or (fd.system and name != "owner"):
                if ctx.is_system and creating and name in ("id", "created_at"):
                    continue
                errors.append((name, f"'{name}' is computed and cannot be set"))
            elif fd.readonly and not ctx.is_system:
                errors.append((name, f"'{name}' is read-only"))
            elif not ctx.is_system and not self.ql.security.field_editable(ctx, obj, fd):
                denied.append(name)
        bad = {field for field, _ in errors}
        return (frozenset(k for k in data if k not in ("id", "created_at") and k not in bad),
                tuple(errors), tuple(denied))

    def _coerce(self, obj: ObjectDef, values: dict[str, Any],
                errors: list[tuple[str | None, str]]) -> dict[str, Any]:
        result = {}
        plan = self._plan(obj)
        for name, value in values.items():
            try:
                result[name] = plan.coerce(name, value)
            except FieldError as exc:
                errors.append((name, f"{obj.all_fields[name].display_label} {exc}"))
        return result

    def _default(self, ctx: Context, fd: FieldDef, errors: list[tuple[str | None, str]]
                 ) -> Any:
        token = fd.default
        if token == "$user":
            return ctx.user_id
        if token in ("$today", "today"):
            return self.ql.today()
        if token == "$now":
            return self.ql.clock()
        try:
            return coerce_value(fd, token)
        except FieldError as exc:
            errors.append((fd.name, f"default {exc}"))
            return None

    def _finish_record(self, conn: Connection, ctx: Context, obj: ObjectDef,
                       old: dict[str, Any] | None, new: dict[str, Any], touched: set[str],
                       coerced: dict[str, Any] | None = None,
                       pending: list[PendingLookup] | None = None
                       ) -> dict[tuple[str, str], Any]:
        """Formulas, required fields, validation rules, lookups and uniqueness. Returns
        what the lookup check read for the object's rollups (see `_check_lookups`).
        `coerced`: values this save already coerced; one still in place, immutable (so
        no trigger changed it), is not coerced again. With a `pending` list the lookups
        to check go there instead, for the caller to check in its write statement."""
        plan = self._plan(obj)
        errors: list[tuple[str | None, str]] = []
        settable = plan.settable
        coerced = coerced or {}
        for name in list(touched):  # values a trigger set must still be well-typed
            fd = settable.get(name)
            if fd is None:
                continue
            value = new[name]
            if type(value) in _IMMUTABLE and name in coerced and coerced[name] is value:
                continue
            try:
                new[name] = plan.coerce(name, value)
            except FieldError as exc:
                errors.append((name, f"{fd.display_label} {exc}"))
        self._compute_formulas(obj, old, new)
        for name, message in plan.required:
            if blank(new.get(name)):
                errors.append((name, message))
        errors += self._rule_errors(obj, old, new, {f for f, _ in errors if f})
        if errors:
            raise ValidationError.of(errors)
        owner = new.get("owner")
        if owner != (old.get("owner") if old else ctx.user_id) \
                and not self.ql.security.can_assign(ctx, obj, owner):
            raise PermissionDenied("you may assign records only to yourself or your team",
                                   [{"field": "owner", "message": "not your team"}])
        reached = self._check_lookups(conn, ctx, obj, old, new, pending)
        self._check_unique(conn, obj, old, new)
        self._check_master_editable(conn, ctx, obj, old, new)
        return reached

    def _also_invalid(self, obj: ObjectDef, old: dict[str, Any] | None, new: dict[str, Any],
                      errors: list[tuple[str | None, str]]) -> list[tuple[str | None, str]]:
        """Input failed its type checks; add what else is already known to be wrong, so a
        form gets every field's error in one answer: required fields left empty and the
        rules that do not read a field in error. (Triggers run only on well-typed input,
        so a value a before-trigger would have filled in is not known here.)"""
        bad = {field for field, _ in errors if field}
        record = dict(new)
        self._compute_formulas(obj, old, record)
        more = [(name, f"{fd.display_label} is required") for name, fd in obj.fields.items()
                if fd.required and not fd.is_computed and name not in bad
                and blank(record.get(name))]
        bad |= {name for name, _ in more}
        return errors + more + self._rule_errors(obj, old, record, bad)

    def _rule_errors(self, obj: ObjectDef, old: dict[str, Any] | None, new: dict[str, Any],
                     bad: set[str]) -> list[tuple[str | None, str]]:
        """Validation rules that fail, skipping those that read a field already in error
        (directly or through a formula): their answer would be about a value not saved."""
        formulas = self._plan(obj).formulas
        tainted, grew = set(bad), bool(bad)
        while grew:  # formulas may read formulas: follow until nothing new is tainted
            before = len(tainted)
            tainted |= {fd.name for fd, formula in formulas if formula.names & tainted}
            grew = len(tainted) > before
        errors: list[tuple[str | None, str]] = []
        now = self.ql.clock()  # one reading: ql.today() is its date
        today = now.date()
        for rule in obj.validation_rules:
            if rule.field in bad or rule.compiled.names & tainted:
                continue
            try:
                failed = rule.compiled.evaluate(new, prior=old, is_new=old is None,
                                                today=today, now=now)
            except ExpressionError as exc:
                errors.append((rule.field, f"rule {rule.name} could not be checked: "
                                           f"{exc.reason}"))
                continue
            if failed:
                errors.append((rule.field, rule.message))
        return errors

    def _check_master_editable(self, conn: Connection, ctx: Context, obj: ObjectDef,
                               old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        """Under controlled_by_parent, adding a detail to a master (or moving it there) is
        editing the master: the user must be allowed to edit that master record."""
        if ctx.is_system or obj.sharing_model != "controlled_by_parent":
            return
        for fd in self._plan(obj).master_details:
            value = new.get(fd.name)
            if value is None or (old is not None and old.get(fd.name) == value):
                continue
            parent = self.ql.object(fd.reference_to or "")
            table = self.ql.schema.table(parent.name)
            editable = self.ql.security.row_filter(ctx, parent, table, "edit")
            if editable is not None and conn.execute(
                    select(table.c.id).where(table.c.id == value, editable)).first() is None:
                raise PermissionDenied(
                    f"you may not add {obj.display_plural.lower()} to this "
                    f"{parent.label.lower()}",
                    [{"field": fd.name, "message": f"{parent.label} not editable"}])

    def _compute_formulas(self, obj: ObjectDef, old: dict[str, Any] | None,
                          new: dict[str, Any]) -> None:
        plan = self._plan(obj)
        if not plan.formulas:
            return
        now = self.ql.clock()
        today = now.date()
        for fd, expression in plan.formulas:
            try:
                value = expression.evaluate(new, prior=old, is_new=old is None, today=today,
                                            now=now)
                new[fd.name] = plan.coerce(fd.name, value) if value is not None else None
            except (ExpressionError, FieldError):
                new[fd.name] = None

    def _check_lookups(self, conn: Connection, ctx: Context, obj: ObjectDef,
                       old: dict[str, Any] | None, new: dict[str, Any],
                       pending: list[PendingLookup] | None = None
                       ) -> dict[tuple[str, str], Any]:
        """Each newly set lookup points at a record the caller may read. The same read
        brings the fields the object's rollups keep from that record (`account.industry`)
        under the lock their upkeep needs: {(reach path, id): value}, one round trip less
        per save. Lookups to check are added to `pending` instead when it is given."""
        errors: list[tuple[str | None, str]] = []
        reached: dict[tuple[str, str], Any] = {}
        plan = self._plan(obj)
        for name, fd in plan.lookups:
            value = new.get(name)
            if value is None or (old and old.get(name) == value):
                continue
            if fd.system and value == ctx.user_id:
                continue  # the caller's own id was resolved when the context was built
            target_obj = self.ql.object(fd.reference_to or "")
            if pending is not None:
                pending.append((name, target_obj, value))
                continue
            reaches = plan.reaches_by_lookup.get(name, ())
            row = conn.execute(self._lookup_check(ctx, target_obj,
                                                  tuple(r.field for r in reaches)),
                               {"_lookup_id": value}).first()
            if row is None:
                errors.append((name, f"{fd.display_label}: no {fd.reference_to} with id "
                                     f"'{value}'"))
                continue
            for n, reach in enumerate(reaches, start=1):
                reached[(reach.path, value)] = row[n]
        if errors:
            raise ValidationError.of(errors)
        return reached

    def _check_unique(self, conn: Connection, obj: ObjectDef, old: dict[str, Any] | None,
                      new: dict[str, Any]) -> None:
        table = self.ql.schema.table(obj.name)
        for name, fd in self._plan(obj).unique:
            value = new.get(name)
            if value is None or (old and old.get(name) == value):
                continue
            column = table.c[name]
            match = func.lower(column) == value.lower() if fd.unique == "case_insensitive" \
                and isinstance(value, str) else column == value
            clash = conn.execute(select(table.c.id).where(match, table.c.id != new["id"])
                                 .limit(1)).first()
            if clash is not None:
                message = f"{fd.display_label} '{value}' is already used by another " \
                          f"{obj.label.lower()}"
                raise Conflict(message, [{"field": name, "message": message}])

    def _assign_autonumbers(self, conn: Connection, obj: ObjectDef,
                            records: list[dict[str, Any]]) -> None:
        if not records:
            return
        for fd in self._plan(obj).autonumbers:
            last = _reserve(conn, obj.name, fd.name, len(records))
            first = last - len(records) + 1
            for offset, record in enumerate(records):
                record[fd.name] = format_autonumber(fd.format or "{0000}", first + offset,
                                                    record.get("created_at") or self.ql.clock())

    def _load_for_write(self, conn: Connection, ctx: Context, obj: ObjectDef,
                        record_id: str) -> dict[str, Any]:
        table = self.ql.schema.table(obj.name)
        if not isinstance(record_id, str) or "\x00" in record_id:
            raise NotFound(f"{obj.name} '{record_id}' not found")
        stmt = select(table).where(table.c.id == record_id)
        visible = self.ql.security.row_filter(ctx, obj, table, "edit")
        if visible is not None:
            stmt = stmt.where(visible)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is None:
            readable = self.ql.security.row_filter(ctx, obj, table, "read")
            if visible is not None and conn.execute(
                    select(table.c.id).where(table.c.id == record_id,
                                             *([readable] if readable is not None else []))
            ).first() is not None:
                # Visible but not theirs to change (e.g. another rep's account): say so.
                raise PermissionDenied(f"you may not change this {obj.label.lower()}")
            raise NotFound(f"{obj.name} '{record_id}' not found")
        return dict(row._mapping)


def format_autonumber(pattern: str, number: int, at: datetime) -> str:
    text = (pattern.replace("{YYYY}", f"{at.year:04d}").replace("{YY}", f"{at.year % 100:02d}")
            .replace("{MM}", f"{at.month:02d}").replace("{DD}", f"{at.day:02d}"))
    return re.sub(r"\{(0+)\}", lambda m: f"{number:0{len(m.group(1))}d}", text)


def _reserve(conn: Connection, object_name: str, field_name: str, count: int) -> int:
    where = (COUNTERS.c.object == object_name, COUNTERS.c.field == field_name)
    result = conn.execute(update(COUNTERS).where(*where)
                          .values(value=COUNTERS.c.value + count).returning(COUNTERS.c.value))
    value = result.scalar()
    if value is None:
        conn.execute(insert(COUNTERS).values(object=object_name, field=field_name, value=count))
        return count
    return int(value)
