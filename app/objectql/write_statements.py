"""The write pipeline's state: its write plans (write_plan.py), the statements it builds
once and keeps (INSERT/UPDATE per column set, lookup checks per caller, the folded insert
of PostgreSQL), the rollups' upkeep, and the small helpers the other write modules share.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.metadata.models import ObjectDef
from app.objectql import rollup_upkeep
from app.objectql.context import Context
from app.objectql.errors import Conflict
from app.objectql.write_plan import WritePlan

if TYPE_CHECKING:
    from app.objectql.service import ObjectQL

# A lookup the write statement checks: (field, looked-up object, id).
PendingLookup = tuple[str, ObjectDef, Any]


class WriteStatements:
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
