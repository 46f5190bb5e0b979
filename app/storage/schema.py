"""SQLAlchemy tables generated from object metadata, plus the SQLModel system tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    func,
)
from sqlalchemy.types import TypeEngine
from sqlmodel import SQLModel

from app import fieldtypes
from app.fieldtypes.base import ID_LENGTH
from app.metadata.models import FieldDef, ObjectDef
from app.metadata.registry import Registry
from app.storage import system_tables  # noqa: F401  (registers the SQLModel tables)
from app.storage.indexes import IndexSpec, dashboard_queries, index_specs
from app.storage.rollups import RollupSpec, build_rollup_table, rollup_specs
from app.storage.search import search_columns, trigram_index_name
from app.storage.search_values import values_field


def column_type(fd: FieldDef) -> TypeEngine:
    """The column of `fd`; each field type owns its own (app/fieldtypes/)."""
    if fd.name == "version":
        return BigInteger()
    try:
        return fieldtypes.of(fd).column_type(fd)
    except fieldtypes.UnknownFieldType:
        raise ValueError(f"no column type for field type {fd.value_type!r}") from None


def build_column(obj: ObjectDef, fd: FieldDef, *, with_foreign_key: bool = True,
                 kept: dict[str, Table] | None = None) -> Column:
    """`kept`: tables carried over from the previous schema (build_schema); a foreign key
    to one of them names its column object, as it lives in that schema's MetaData."""
    args: list = []
    if fd.is_lookup and with_foreign_key and fd.reference_to:
        target = (kept or {}).get(fd.reference_to)
        args.append(ForeignKey(target.c.id if target is not None else f"{fd.reference_to}.id",
                               name=f"fk_{obj.name}_{fd.name}"))
    if fd.name == "id":
        return Column("id", String(ID_LENGTH), primary_key=True)
    nullable = fd.name not in ("created_at", "modified_at", "version")
    return Column(fd.name, column_type(fd), *args, nullable=nullable)


def index_elements(table: Table, spec: IndexSpec, dialect: str) -> tuple[list[Any], list[str]]:
    """(key expressions, included columns) of `spec` in the backend's own spelling.

    PostgreSQL: keys `NULLS FIRST` (ascending) or `DESC NULLS LAST`, so the index order is
    ObjectQL's sort order in both scan directions; covered columns go to `INCLUDE`.
    SQLite already orders that way and has no INCLUDE: covered columns become trailing keys.
    """
    keys: list[Any] = []
    for name, desc in zip(spec.keys, spec.descending, strict=True):
        column = table.c[name]
        if dialect == "postgresql":
            keys.append(column.desc().nulls_last() if desc else column.asc().nulls_first())
        else:
            keys.append(column.desc() if desc else column)
    if dialect == "postgresql":
        return keys, list(spec.include)
    return keys + [table.c[n] for n in spec.include], []


def build_table(metadata: MetaData, obj: ObjectDef, dialect: str = "sqlite",
                specs: list[IndexSpec] | None = None, kept: dict[str, Table] | None = None
                ) -> Table:
    columns = [build_column(obj, fd, kept=kept) for fd in obj.all_fields.values()]
    table = Table(obj.name, metadata, *columns)
    for spec in index_specs(obj) if specs is None else specs:
        keys, include = index_elements(table, spec, dialect)
        options: dict[str, Any] = {"postgresql_include": include} if include else {}
        Index(spec.name, *keys, unique=spec.unique, **options)
    for fd in obj.all_fields.values():
        if fd.unique == "case_insensitive":
            Index(f"ux_{obj.name}_{fd.name}_ci"[:63], func.lower(table.c[fd.name]), unique=True)
    if dialect == "postgresql":  # search: `lower(col) LIKE '%term%'` off a trigram index
        for name in search_columns(obj):
            label = f"{name}_lower"
            Index(trigram_index_name(obj.name, name), func.lower(table.c[name]).label(label),
                  postgresql_using="gin", postgresql_ops={label: "gin_trgm_ops"})
    return table


@dataclass(frozen=True)
class Schema:
    """All tables of one registry snapshot.

    `metadata` holds the tables built for this snapshot; tables carried over unchanged
    from the previous snapshot (build_schema's `previous`) stay in their own MetaData.
    `all_tables` is every table, referenced ones first."""

    metadata: MetaData
    tables: dict[str, Table]
    # The metadata-derived indexes of each object table (see app/storage/indexes.py).
    indexes: dict[str, list[IndexSpec]] = field(default_factory=dict)
    dialect: str = "sqlite"
    aliases: dict[tuple[str, str], Any] = field(default_factory=dict)
    # The searchable text fields of each object (its FTS5 table's columns on SQLite).
    search: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The field whose distinct values each object keeps (app/storage/search_values.py).
    values: dict[str, str] = field(default_factory=dict)
    # The rollup tables the dashboards ask for, per object (see app/storage/rollups.py).
    rollups: dict[str, list[tuple[RollupSpec, Table]]] = field(default_factory=dict)
    system_tables: tuple[Table, ...] = ()

    @property
    def all_tables(self) -> list[Table]:
        """System, object and rollup tables, each after the tables it references.

        Sorted by the names foreign keys point at, not by the Table they resolved to: a
        table carried over from the previous snapshot may still resolve its keys to
        that snapshot's table of a changed object. A cycle of lookups is broken at the
        first table left, as SQLAlchemy's own sort does."""
        tables = [*self.system_tables, *self.tables.values(),
                  *(table for pairs in self.rollups.values() for _, table in pairs)]
        names = {table.name for table in tables}
        needs = {table.name: {fk.target_fullname.split(".")[0] for fk in table.foreign_keys}
                 & names - {table.name} for table in tables}
        ordered: list[Table] = []
        done: set[str] = set()
        while len(ordered) < len(tables):
            ready = [t for t in tables if t.name not in done and needs[t.name] <= done] \
                or [next(t for t in tables if t.name not in done)]
            ordered += ready
            done.update(t.name for t in ready)
        return ordered

    def table(self, name: str) -> Table:
        return self.tables[name]

    def alias(self, name: str, alias_name: str) -> Any:
        """`table(name).alias(alias_name)`, made once: building an alias's column
        collection (40 columns) cost more than the 20-row join page it was for."""
        key = (name, alias_name)
        found = self.aliases.get(key)
        if found is None:
            found = self.tables[name].alias(alias_name)
            found.c  # noqa: B018  build the column collection now, not on a thread's first use
            self.aliases[key] = found
        return found


def build_schema(registry: Registry, dialect: str = "sqlite",
                 previous: tuple[Registry, Schema] | None = None) -> Schema:
    """Tables for `registry`; indexes in the spelling of `dialect` (the engine's name).

    `previous` (the live registry and its schema): the table of an object whose ObjectDef
    is the very same instance there (the metadata studio keeps unchanged definitions
    identical) and whose indexes did not change is carried over, not built again. A
    live change to one object then builds one table instead of all of them: building
    every table was ~25-50 ms of pure Python holding the GIL while requests waited,
    and ~10k objects for the garbage collector (docs/benchmarks.md, metadata apply).
    Plans cached for the kept tables stay valid (ObjectQL.apply_registry)."""
    metadata = MetaData()
    indexes = {name: index_specs(obj, dashboard_queries(registry, name))
               for name, obj in registry.items()}
    kept: dict[str, Table] = {}
    if previous is not None and previous[1].dialect == dialect:
        old_registry, old_schema = previous
        kept = {name: old_schema.tables[name] for name, obj in registry.items()
                if old_registry.get(name) is obj and name in old_schema.tables
                and old_schema.indexes.get(name) == indexes[name]}
        system = old_schema.system_tables
    else:
        system = tuple(table.to_metadata(metadata)
                       for table in SQLModel.metadata.tables.values())
    tables = {name: kept[name] if name in kept
              else build_table(metadata, obj, dialect, indexes[name], kept)
              for name, obj in registry.items()}
    old_rollups = {spec: table for pairs in (previous[1].rollups.values() if previous else ())
                   for spec, table in pairs} if kept else {}
    rollups: dict[str, list[tuple[RollupSpec, Table]]] = {}
    for spec in rollup_specs(registry):
        table = old_rollups[spec] if spec in old_rollups \
            else build_rollup_table(metadata, spec)
        rollups.setdefault(spec.object, []).append((spec, table))
    search = {name: cols for name, obj in registry.items() if (cols := search_columns(obj))}
    values = {name: one for name, obj in registry.items() if (one := values_field(obj))}
    return Schema(metadata, tables, indexes, dialect, search=search, values=values,
                  rollups=rollups, system_tables=system)
