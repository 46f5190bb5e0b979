"""The write path. In one transaction, in this order:

defaults → coercion and field checks → before triggers → formulas → required fields and
validation rules → lookup and unique checks → autonumber → write → after triggers →
audit → commit → change event. Any failure rolls the whole unit back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from app import audit
from app.events import ChangeEvent
from app.expressions import Expression, ExpressionError
from app.metadata.models import FieldDef, ObjectDef
from app.objectql import rollup_upkeep
from app.objectql.coerce import FieldError, blank, coerce_value
from app.objectql.context import Context
from app.objectql.errors import (
    Conflict,
    NotFound,
    ObjectQLError,
    PermissionDenied,
    TriggerFailed,
    ValidationError,
)
from app.objectql.write_plan import InputCheck, WritePlan
from app.storage.ids import new_id
from app.storage.system_tables import AutonumberCounter
from app.triggers.registry import TriggerContext, triggers_for

if TYPE_CHECKING:
    from app.objectql.service import ObjectQL

log = logging.getLogger(__name__)
COUNTERS = AutonumberCounter.__table__  # type: ignore[attr-defined]
STAMPS = ("id", "created_at", "created_by", "modified_at", "modified_by", "version")
BULK_CHUNK = 2000


class WritePipeline:
    def __init__(self, ql: ObjectQL):
        self.ql = ql
        self._statements: dict[tuple[Any, ...], Any] = {}
        self._plans: dict[str, WritePlan] = {}

    def forget(self, keep_tables: set[int] | None = None) -> None:
        """Drop the cached statements (metadata or permissions changed), except those
        on the tables whose ids are in `keep_tables` (objects the change left alone).
        Write plans name the registry they were built from: all of them are stale now."""
        keep = keep_tables or set()
        self._statements = {k: v for k, v in self._statements.items() if k[1] in keep}
        self._plans = {}

    def _plan(self, obj: ObjectDef) -> WritePlan:
        """The object's write plan (write_plan.py), built again whenever the definition,
        the schema or the registry it came from is no longer the live one."""
        schema, registry = self.ql.schema, self.ql.registry
        plan = self._plans.get(obj.name)
        if plan is None or not plan.is_for(obj, schema, registry):
            plan = WritePlan(obj, schema, registry)
            if registry.get(obj.name) is obj:  # never cache a plan of a superseded definition
                self._plans[obj.name] = plan
        return plan

    # -- public entry points ---------------------------------------------------------------
    def insert(self, ctx: Context, name: str, data: dict[str, Any]) -> dict[str, Any]:
        obj = self.ql.object(name)
        self.ql.security.check_object(ctx, obj, "create")
        with _integrity_as_conflict(obj), self.ql.transaction() as conn:
            return self._readable(ctx, obj, self._insert(conn, ctx, obj, data))

    def update(self, ctx: Context, name: str, record_id: str, changes: dict[str, Any],
               expected_version: int | None) -> dict[str, Any]:
        obj = self.ql.object(name)
        self.ql.security.check_object(ctx, obj, "edit")
        with _integrity_as_conflict(obj), self.ql.transaction() as conn:
            record = self._update(conn, ctx, obj, record_id, changes, expected_version)
            return self._readable(ctx, obj, record)

    def delete(self, ctx: Context, name: str, record_id: str,
               expected_version: int | None) -> None:
        obj = self.ql.object(name)
        self.ql.security.check_object(ctx, obj, "delete")
        with _integrity_as_conflict(obj), self.ql.transaction() as conn:
            self._delete(conn, ctx, obj, record_id, expected_version)

    def many(self, ctx: Context, action: str, name: str, rows: list[dict[str, Any]],
             all_or_nothing: bool) -> list[Any]:
        obj = self.ql.object(name)
        self.ql.security.check_object(ctx, obj, {"insert": "create", "update": "edit",
                                                 "delete": "delete"}[action])
        results: list[Any] = []
        with _integrity_as_conflict(obj), self.ql.transaction() as conn:
            for index, row in enumerate(rows):
                if all_or_nothing:
                    try:
                        results.append(self._one(conn, ctx, obj, action, row))
                    except ObjectQLError as exc:
                        exc.message = f"row {index + 1}: {exc.message}"
                        exc.extra["row"] = index
                        raise
                    continue
                try:
                    with conn.begin_nested():
                        results.append({"ok": True, "record": self._one(conn, ctx, obj,
                                                                        action, row)})
                except ObjectQLError as exc:
                    results.append({"ok": False, "id": row.get("id"), **exc.to_dict()})
                except IntegrityError as exc:
                    results.append({"ok": False, "id": row.get("id"),
                                    **Conflict(_integrity_message(obj, exc)).to_dict()})
        return results

    def _one(self, conn: Connection, ctx: Context, obj: ObjectDef, action: str,
             row: dict[str, Any]) -> Any:
        if action == "insert":
            return self._readable(ctx, obj, self._insert(conn, ctx, obj, row))
        data = dict(row)
        record_id = data.pop("id", None)
        if not isinstance(record_id, str):
            raise ValidationError.of([("id", "each row needs the id of the record")])
        version = data.pop("version", None)
        if action == "update":
            return self._readable(ctx, obj, self._update(conn, ctx, obj, record_id, data,
                                                         version))
        self._delete(conn, ctx, obj, record_id, version)
        return {"id": record_id}

    # -- insert ----------------------------------------------------------------------------
    def _insert(self, conn: Connection, ctx: Context, obj: ObjectDef,
                data: dict[str, Any]) -> dict[str, Any]:
        plan = self._plan(obj)
        errors: list[tuple[str | None, str]] = []
        supplied = self._check_input(ctx, obj, data, True, errors)
        record: dict[str, Any] = dict.fromkeys(plan.field_names)
        for name, fd in plan.defaults:
            if name not in supplied:
                record[name] = self._default(ctx, fd, errors)
        coerced = self._coerce(obj, {k: data[k] for k in supplied}, errors)
        record.update(coerced)
        now = self.ql.clock()
        record["id"] = data["id"] if ctx.is_system and isinstance(data.get("id"), str) \
            else new_id()
        if "owner" not in supplied or record.get("owner") is None:
            record["owner"] = ctx.user_id
        # Trusted callers (imports, seeds) may backdate created_at; _check_input let it
        # through but it is not in `supplied`, so read it from the input here.
        stamp_at = self._coerce(obj, {"created_at": data["created_at"]}, errors) \
            .get("created_at") if ctx.is_system and data.get("created_at") else None
        record.update(created_at=stamp_at or now,
                      created_by=ctx.user_id, modified_at=now, modified_by=ctx.user_id,
                      version=1)
        if errors:
            raise ValidationError.of(self._also_invalid(obj, None, record, errors))
        self._run_triggers(conn, ctx, obj, "before_insert", None, record, supplied)
        postgres = conn.dialect.name == "postgresql"
        # PostgreSQL checks the lookups in the record's own statement (see _folded_insert)
        # when nothing the check precedes can fail first: no unique field to check, no
        # master record to be allowed to edit.
        pending: list[PendingLookup] | None = [] if postgres and not plan.unique and (
            ctx.is_system or obj.sharing_model != "controlled_by_parent") else None
        reached = self._finish_record(conn, ctx, obj, None, record,
                                      {k for k, v in record.items() if v is not None}, coerced,
                                      pending)
        self._assign_autonumbers(conn, obj, [record])
        values = _storable(obj, record)
        params = _bound(values)
        checks: dict[str, Any] = {}
        if pending:
            stmt, checks = self._folded_insert(ctx, obj, tuple(values), pending)
            params.update({f"_chk_{name}": value for name, _, value in pending})
        else:
            stmt = self._statement("insert", obj, tuple(values))
        rollups = plan.rollups
        riders: tuple[Any, ...] = ()
        rider_params: dict[str, Any] = {}
        if plan.insert_riders is not None and postgres:
            riders, rider_params = plan.insert_riders(conn, record, self.ql.schema.table,
                                                      reached, checks)
        # The row, its audit entry (and on PostgreSQL its rollups) in one round trip
        # (audit.py), written before the after-triggers so their own writes' entries
        # follow it.
        written = audit.write_with_entry(
            conn, stmt, params,
            object_name=obj.name, record_id=record["id"], action="insert",
            user_id=ctx.user_id, at=now, changes=audit.diff(obj, None, record), via=ctx.via,
            riders=riders, rider_params=rider_params)
        if pending and written != 1:
            # A lookup failed its check, so nothing was written (the rollups' riders may
            # have been: the error rolls them back). The usual check names the culprits.
            self._check_lookups(conn, ctx, obj, None, record)
            raise Conflict(f"{obj.label} could not be saved: a record it links to changed "
                           "while saving; try again")
        if rollups and not riders:
            self._roll_up(conn, obj, [(None, record)], reached)
        self._run_triggers(conn, ctx, obj, "after_insert", None, record, supplied)
        self.ql._emit(ChangeEvent(obj.name, record["id"], "insert", ctx.user_id,
                                  tuple(k for k, v in record.items() if v is not None), record))
        return record

    # -- update ----------------------------------------------------------------------------
    def _update(self, conn: Connection, ctx: Context, obj: ObjectDef, record_id: str,
                changes: dict[str, Any], expected_version: Any) -> dict[str, Any]:
        if not isinstance(changes, dict):
            raise ValidationError.of([(None, "changes must be an object of field values")])
        changes = dict(changes)
        if "version" in changes:
            expected_version = changes.pop("version")
        old = self._load_for_write(conn, ctx, obj, record_id)
        if expected_version is not None and _as_int(expected_version) != old["version"]:
            raise Conflict(f"{obj.label} was changed by someone else (your version "
                           f"{expected_version}, current {old['version']}); reload to see "
                           "the changes", current_version=old["version"])
        errors: list[tuple[str | None, str]] = []
        supplied = self._check_input(ctx, obj, changes, False, errors)
        new = dict(old)
        coerced = self._coerce(obj, {k: changes[k] for k in supplied}, errors)
        new.update(coerced)
        if errors:
            raise ValidationError.of(self._also_invalid(obj, old, new, errors))
        self._run_triggers(conn, ctx, obj, "before_update", old, new, supplied)
        reached = self._finish_record(conn, ctx, obj, old, new,
                                      {k for k in new if new[k] != old.get(k)}, coerced)
        changed = [k for k in obj.all_fields if new.get(k) != old.get(k) and k not in STAMPS]
        if not changed:
            return old
        new.update(modified_at=self.ql.clock(), modified_by=ctx.user_id,
                   version=old["version"] + 1)
        values = _storable(obj, {k: new[k] for k in [*changed, "modified_at", "modified_by",
                                                        "version"]})
        riders: tuple[Any, ...] = ()
        rider_params: dict[str, Any] = {}
        emptied: list[rollup_upkeep.Emptied] = []
        rollups = self._plan(obj).rollups
        rolls_along = conn.dialect.name == "postgresql" and bool(rollups)
        if rolls_along:  # the rollups' upserts in the UPDATE's own statement
            riders, rider_params, emptied = rollup_upkeep.update_riders(
                conn, rollups, old, new, self._version_guard(obj),
                self.ql.schema.table, reached)
        written = audit.write_with_entry(
            conn, self._statement("update", obj, tuple(values)),
            {**_bound(values), "_key_id": record_id, "_key_version": old["version"]},
            object_name=obj.name, record_id=record_id, action="update",
            user_id=ctx.user_id, at=new["modified_at"], changes=audit.diff(obj, old, new),
            via=ctx.via, riders=riders, rider_params=rider_params)
        if written != 1:
            raise Conflict(f"{obj.label} was changed by someone else while saving; reload",
                           current_version=None)
        if rolls_along:
            rollup_upkeep.remove_emptied(conn, emptied)
        else:
            self._roll_up(conn, obj, [(old, new)], reached)
        # An account changing industry moves its deals' figures (rollups keep it per deal).
        rollup_upkeep.follow(conn, self.ql.schema.rollups, self.ql.schema.table, obj.name, old, new)
        self._run_triggers(conn, ctx, obj, "after_update", old, new, supplied)
        self.ql._emit(ChangeEvent(obj.name, record_id, "update", ctx.user_id, tuple(changed),
                                  new))
        return new

    def _roll_up(self, conn: Connection, obj: ObjectDef,
                 changes: list[tuple[dict[str, Any] | None, dict[str, Any] | None]],
                 reached: dict[tuple[str, str], Any] | None = None) -> None:
        """The object's rollups follow the rows, in this transaction (rollup_upkeep.py);
        `reached` holds looked-up values the lookup check already read."""
        rollups = self.ql.schema.rollups.get(obj.name)
        if rollups:
            rollup_upkeep.apply_all(conn, rollups, changes, self.ql.schema.table, reached)

    def _version_guard(self, obj: ObjectDef) -> Any:
        """EXISTS the record at the version the versioned UPDATE expects (its `_key_id`
        and `_key_version` parameters): the update's rollup riders add only under it."""
        table = self.ql.schema.table(obj.name)
        key = ("guard", id(table))
        guard = self._statements.get(key)
        if guard is None:
            guard = exists().where(table.c.id == bindparam("_key_id"),
                                   table.c.version == bindparam("_key_version"))
            self._keep(key, guard)
        return guard

    def _keep(self, key: tuple[Any, ...], statement: Any) -> None:
        if len(self._statements) > 4096:  # callers sending ever new column sets
            self._statements.clear()
        self._statements[key] = statement

    def _statement(self, kind: str, obj: ObjectDef, columns: tuple[str, ...]) -> Any:
        """INSERT (or versioned UPDATE) of `columns`, built once per column set: the same
        object each time keeps SQLAlchemy's compiled cache and audit's CTE cache warm."""
        table = self.ql.schema.table(obj.name)
        key = (kind, id(table), columns)
        stmt = self._statements.get(key)
        if stmt is None:
            values = {c: bindparam(f"v_{c}", type_=table.c[c].type) for c in columns}
            stmt = insert(table).values(values) if kind == "insert" else \
                update(table).where(table.c.id == bindparam("_key_id"),
                                    table.c.version == bindparam("_key_version")).values(values)
            self._keep(key, stmt)
        return stmt

    # -- delete ----------------------------------------------------------------------------
    def _delete(self, conn: Connection, ctx: Context, obj: ObjectDef, record_id: str,
                expected_version: Any) -> None:
        old = self._load_for_write(conn, ctx, obj, record_id)
        if expected_version is not None and _as_int(expected_version) != old["version"]:
            raise Conflict(f"{obj.label} was changed by someone else; reload before deleting",
                           current_version=old["version"])
        self._run_triggers(conn, ctx, obj, "before_delete", old, None, frozenset())
        self._handle_children(conn, ctx, obj, old)
        table = self.ql.schema.table(obj.name)
        conn.execute(delete(table).where(table.c.id == record_id))
        self._roll_up(conn, obj, [(old, None)])
        self._run_triggers(conn, ctx, obj, "after_delete", old, None, frozenset())
        audit.record(conn, object_name=obj.name, record_id=record_id, action="delete",
                     user_id=ctx.user_id, at=self.ql.clock(),
                     changes=audit.diff(obj, old, None), via=ctx.via)
        self.ql._emit(ChangeEvent(obj.name, record_id, "delete", ctx.user_id, (), old))

    def _handle_children(self, conn: Connection, ctx: Context, obj: ObjectDef,
                         old: dict[str, Any]) -> None:
        children = self.ql.registry.children_of(obj.name)
        blockers = []
        for child, fd in children:
            if (fd.delete_behavior or "set_null") != "restrict":
                continue
            table = self.ql.schema.table(child.name)
            n = conn.execute(select(func.count()).select_from(table)
                             .where(table.c[fd.name] == old["id"])).scalar_one()
            if n and not (child.name == obj.name and n == 1 and old.get(fd.name) == old["id"]):
                label = child.label if n == 1 else child.display_plural
                blockers.append(f"{n} {label.lower()} (via {fd.display_label})")
        if blockers:
            name = old.get(obj.name_field) or old["id"]
            raise Conflict(f"Cannot delete {obj.label.lower()} '{name}': "
                           f"{', '.join(blockers)} still reference it",
                           [{"field": "", "message": b} for b in blockers])
        system = ctx.elevated("delete_behavior")
        for child, fd in children:
            behavior = fd.delete_behavior or "set_null"
            if behavior == "restrict":
                continue
            table = self.ql.schema.table(child.name)
            ids = conn.execute(select(table.c.id).where(table.c[fd.name] == old["id"],
                                                        table.c.id != old["id"])).scalars().all()
            for child_id in ids:
                if behavior == "cascade":
                    self._delete(conn, system, child, child_id, None)
                else:
                    self._update(conn, system, child, child_id, {fd.name: None}, None)

    # -- the shared steps ------------------------------------------------------------------
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
        today, now = self.ql.today(), self.ql.clock()
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

    def _folded_insert(self, ctx: Context, obj: ObjectDef, columns: tuple[str, ...],
                       pending: list[PendingLookup]) -> tuple[Any, dict[str, Any]]:
        """PostgreSQL: the INSERT of `columns` as INSERT ... SELECT from the lookups'
        checks — each a CTE reading the looked-up record as the caller may see it (FOR
        SHARE when rollups keep its fields) — so it writes nothing when one is missing or
        hidden, and the checks cost no round trip of their own. Returns the statement and
        {lookup field: its CTE} (the rollups' riders read reached fields from it)."""
        plan = self._plan(obj)
        checks = tuple((name, self._lookup_check(
            ctx, target, tuple(r.field for r in plan.reaches_by_lookup.get(name, ())),
            f"_chk_{name}")) for name, target, _ in pending)
        table = self.ql.schema.table(obj.name)
        key = ("fold", id(table), columns, checks)
        found = self._statements.get(key)
        if found is None:
            ctes = {name: check.cte(f"chk_{name}") for name, check in checks}
            joined = rollup_upkeep.side_by_side(list(ctes.values()))
            rows = select(*[bindparam(f"v_{c}", type_=table.c[c].type) for c in columns]) \
                .select_from(joined)
            found = (insert(table).from_select(list(columns), rows), ctes)
            self._keep(key, found)
        return found

    def _lookup_check(self, ctx: Context, target_obj: ObjectDef,
                      reached: tuple[str, ...] = (), param: str = "_lookup_id") -> Any:
        """SELECT id (and the `reached` fields) of a lookup's target as `ctx` may read it,
        built once per (target, caller, fields): the row filter depends on the caller's
        role, user and team only. `param` names the id's parameter."""
        table = self.ql.schema.table(target_obj.name)
        key = ("lookup", id(table), ctx.role, ctx.is_system, ctx.user_id, ctx.subordinate_ids,
               reached, param)
        stmt = self._statements.get(key)
        if stmt is None:
            stmt = select(table.c.id, *[table.c[f] for f in reached]) \
                .where(table.c.id == bindparam(param))
            # Linking to a record needs read access to it; a hidden record reads as missing.
            visible = self.ql.security.row_filter(ctx, target_obj, table)
            if visible is not None:
                stmt = stmt.where(visible)
            if reached:  # as rollup_upkeep reads them: FOR SHARE (see _reached_values)
                stmt = stmt.with_for_update(read=True, of=table)
            self._keep(key, stmt)
        return stmt

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

    def _run_triggers(self, conn: Connection, ctx: Context, obj: ObjectDef, event: str,
                      old: dict[str, Any] | None, new: dict[str, Any] | None,
                      supplied: frozenset[str]) -> None:
        functions = triggers_for(obj.name, event)
        if not functions:
            return
        tc = TriggerContext(obj.name, event, dict(old) if old else None, new, ctx, self.ql,
                            supplied)
        with self.ql._trigger_scope():
            for fn in functions:
                try:
                    fn(tc)
                except ObjectQLError:
                    raise
                except Exception as exc:
                    log.exception("trigger %s failed", fn.__qualname__)
                    raise TriggerFailed(f"The save was rolled back: {obj.name} trigger "
                                        f"{fn.__name__} failed ({exc})") from exc

    def _readable(self, ctx: Context, obj: ObjectDef, record: dict[str, Any]
                  ) -> dict[str, Any]:
        # The caller's readable fields come from the plan cache (one lookup, not a
        # permission check per field per save).
        return {k: record[k] for k in self.ql.readable_fields(ctx, obj) if k in record}

    # -- bulk ------------------------------------------------------------------------------
    def bulk_insert(self, ctx: Context, name: str, rows: list[dict[str, Any]]) -> int:
        """Typed and checked like `_insert` (coercion, defaults, formulas, required fields,
        validation rules; lookups and uniqueness by the database's constraints) but without
        triggers or per-row audit. Per-call work is done once in a `_BulkPlan`."""
        obj = self.ql.object(name)
        self.ql.security.check_object(ctx, obj, "create")
        table = self.ql.schema.table(obj.name)
        plan = _BulkPlan(self, ctx, obj)
        prepared = []
        for index, data in enumerate(rows):
            try:
                prepared.append(plan.prepare(data))
            except ObjectQLError as exc:
                exc.message = f"row {index + 1}: {exc.message}"
                raise
        with _integrity_as_conflict(obj), self.ql.transaction() as conn:
            self._assign_autonumbers(conn, obj, prepared)
            for start in range(0, len(prepared), BULK_CHUNK):
                # Records hold exactly the object's fields (see _BulkPlan.prepare).
                conn.execute(insert(table), prepared[start:start + BULK_CHUNK])
            self._roll_up(conn, obj, [(None, record) for record in prepared])
            audit.record(conn, object_name=obj.name, record_id="*", action="bulk_insert",
                         user_id=ctx.user_id, at=plan.now, changes={"count": len(prepared)})
            # One event for the whole load: caches of this object (dashboards, identity)
            # drop what they hold, here and in every other process.
            self.ql._emit(ChangeEvent(obj.name, "*", "bulk_insert", ctx.user_id))
        return len(prepared)


_UNHASHABLE = object()
# A lookup the write statement checks: (field, looked-up object, id).
PendingLookup = tuple[str, ObjectDef, Any]
# Values a trigger cannot change in place: one still the same object is the value coerced.
_IMMUTABLE = frozenset({str, int, float, bool, Decimal, date, datetime})


class _BulkPlan:
    """What bulk_insert can work out once per call instead of once per row: the field
    tables, defaults, required fields, and a memo per formula and validation rule.

    A new record has no prior values and TODAY()/NOW() are fixed for the call, so an
    expression's result depends only on the values of the fields it names: rows that
    agree on those (e.g. the same stage) reuse the result instead of evaluating again.
    """

    def __init__(self, writes: WritePipeline, ctx: Context, obj: ObjectDef):
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


def _bound(values: dict[str, Any]) -> dict[str, Any]:
    return {f"v_{k}": v for k, v in values.items()}


def _storable(obj: ObjectDef, record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k in obj.all_fields}


def _as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip('"W/ '))
    except ValueError:
        return None


def _integrity_message(obj: ObjectDef, exc: IntegrityError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    for name, fd in obj.fields.items():
        if fd.unique and (f"{obj.name}.{name}" in text or f"_{obj.name}_{name}" in text):
            return f"{fd.display_label} is already used by another {obj.label.lower()}"
    if "foreign key" in text.lower():
        return f"{obj.label} references a record that does not exist or is still referenced"
    return f"{obj.label} conflicts with existing data"


@contextmanager
def _integrity_as_conflict(obj: ObjectDef) -> Iterator[None]:
    """Database constraint violations surface as Conflict, never as a 500."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(_integrity_message(obj, exc)) from exc
