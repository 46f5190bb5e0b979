"""What a save needs to know about its object, worked out once per object definition
instead of once per save: which fields have defaults, are required, unique, lookups,
formulas, autonumbers or tracked by the audit trail; the rollups' reaches and insert
riders; and the outcome of the input check per (caller's role, set of field names).

A plan belongs to one ObjectDef, one Schema and one Registry (permission sets are part
of the registry). Metadata is never changed in place — a change builds a new registry
and schema and swaps them (ObjectQL.apply_registry) — so a plan whose three are not the
live ones is stale and is built again (WritePipeline._plan).
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

from app import fieldtypes
from app.expressions import Expression
from app.metadata.models import FieldDef, ObjectDef
from app.objectql import rollup_upkeep
from app.objectql.coerce import blank, coerce_value
from app.objectql.insert_riders import InsertRiders
from app.storage.rollups import Reach

if TYPE_CHECKING:
    from app.metadata.registry import Registry
    from app.storage.schema import Schema

Errors = list[tuple[str | None, str]]
# (names to write, type errors to report, names the caller may not edit)
InputCheck = tuple[frozenset[str], tuple[tuple[str | None, str], ...], tuple[str, ...]]
AUDIT_SKIPPED = ("id", "version")


class WritePlan:
    def __init__(self, obj: ObjectDef, schema: Schema, registry: Registry):
        self.obj, self.schema, self.registry = obj, schema, registry
        fields = obj.fields
        self.all_fields = obj.all_fields
        self.field_names = tuple(self.all_fields)
        self.bound_names = {name: f"v_{name}" for name in self.all_fields}  # see _bound
        self.defaults = [(name, fd) for name, fd in fields.items()
                         if fd.default is not None and not fd.is_computed]
        self.required = [(name, f"{fd.display_label} is required")
                         for name, fd in fields.items() if fd.required and not fd.is_computed]
        # Values a trigger may have set are coerced again; these are the fields it may set.
        self.settable = {name: fd for name, fd in self.all_fields.items()
                         if not fd.is_computed and not fd.system}
        self.formulas: list[tuple[FieldDef, Expression]] = [
            (fd, fd.compiled_formula) for fd in obj.formula_fields
            if fd.compiled_formula is not None]
        self.lookups = [(name, fd) for name, fd in self.all_fields.items() if fd.is_lookup]
        self.unique = [(name, fd) for name, fd in fields.items() if fd.unique]
        self.master_details = [fd for fd in fields.values()
                               if fd.type == "master_detail" and fd.reference_to]
        self.autonumbers = [fd for fd in fields.values() if fd.type == "autonumber"]
        self.tracked = tuple(name for name, fd in self.all_fields.items()
                             if fd.track_history and name not in AUDIT_SKIPPED)
        self.rollups = schema.rollups.get(obj.name, [])
        self.reaches_by_lookup: dict[str, tuple[Reach, ...]] = {
            lookup: tuple(reaches) for lookup, reaches
            in rollup_upkeep.reaches_by_lookup(self.rollups).items()}
        self.insert_riders = InsertRiders(self.rollups) \
            if self.rollups else None
        self._inputs: dict[tuple[Any, ...], InputCheck] = {}
        self._types: dict[str, fieldtypes.FieldType] = {}
        for name, fd in self.all_fields.items():
            # An unknown type is left to coerce_value, which reports it when a value comes.
            with suppress(fieldtypes.UnknownFieldType):
                self._types[name] = fieldtypes.of(fd)

    def coerce(self, name: str, value: Any) -> Any:
        """coerce_value() for field `name` of the object, its type looked up once."""
        if blank(value):
            return None
        field_type = self._types.get(name)
        fd = self.all_fields[name]
        return field_type.coerce(fd, value) if field_type is not None \
            else coerce_value(fd, value)

    def is_for(self, obj: ObjectDef, schema: Schema, registry: Registry) -> bool:
        return self.obj is obj and self.schema is schema and self.registry is registry

    def input_check(self, key: tuple[Any, ...]) -> InputCheck | None:
        return self._inputs.get(key)

    def remember_input_check(self, key: tuple[Any, ...], check: InputCheck) -> None:
        if len(self._inputs) > 1024:  # callers sending ever new field sets
            self._inputs.clear()
        self._inputs[key] = check
