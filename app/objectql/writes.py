"""The write path. In one transaction, in this order:

defaults → coercion and field checks → before triggers → formulas → required fields and
validation rules → lookup and unique checks → autonumber → write → after triggers →
audit → commit → change event. Any failure rolls the whole unit back.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.events import ChangeEvent
from app.metadata.models import ObjectDef
from app.objectql import rollup_upkeep
from app.objectql.bulk_writes import _BulkPlan
from app.objectql.context import Context
from app.objectql.errors import (
    Conflict,
    ObjectQLError,
    TriggerFailed,
    ValidationError,
)
from app.objectql.write_checks import WriteChecks
from app.objectql.write_statements import (
    PendingLookup,
    _as_int,
    _bound,
    _integrity_as_conflict,
    _integrity_message,
    _storable,
)
from app.storage.ids import new_id
from app.triggers.registry import TriggerContext, triggers_for

log = logging.getLogger(__name__)
STAMPS = ("id", "created_at", "created_by", "modified_at", "modified_by", "version")
BULK_CHUNK = 2000


class WritePipeline(WriteChecks):
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
        # The record's storable fields and their parameters, as _storable and _bound
        # make them, with the parameter names worked out once (write_plan.py).
        bound = plan.bound_names
        columns = tuple(k for k in record if k in bound)
        params = {bound[k]: record[k] for k in columns}
        checks: dict[str, Any] = {}
        if pending:
            stmt, checks = self._folded_insert(ctx, obj, columns, pending)
            params.update({f"_chk_{name}": value for name, _, value in pending})
        else:
            stmt = self._statement("insert", obj, columns)
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
            user_id=ctx.user_id, at=now, changes=audit.diff(plan.tracked, None, record),
            via=ctx.via, riders=riders, rider_params=rider_params)
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
        plan = self._plan(obj)  # read once for the whole update
        rollups = plan.rollups
        rolls_along = conn.dialect.name == "postgresql" and bool(rollups)
        if rolls_along:  # the rollups' upserts in the UPDATE's own statement
            riders, rider_params, emptied = rollup_upkeep.update_riders(
                conn, rollups, old, new, self._version_guard(obj),
                self.ql.schema.table, reached)
        written = audit.write_with_entry(
            conn, self._statement("update", obj, tuple(values)),
            {**_bound(values), "_key_id": record_id, "_key_version": old["version"]},
            object_name=obj.name, record_id=record_id, action="update",
            user_id=ctx.user_id, at=new["modified_at"],
            changes=audit.diff(plan.tracked, old, new), via=ctx.via, riders=riders,
            rider_params=rider_params)
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
                     changes=audit.diff(self._plan(obj).tracked, old, None), via=ctx.via)
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
