"""SQLAlchemy tables generated from object metadata, plus the SQLModel system tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.types import TypeEngine
from sqlmodel import SQLModel

from app.metadata.models import FieldDef, ObjectDef
from app.metadata.registry import Registry
from app.storage import system_tables  # noqa: F401  (registers the SQLModel tables)
from app.storage.indexes import IndexSpec, dashboard_queries, index_specs
from app.storage.rollups import RollupSpec, build_rollup_table, rollup_specs
from app.storage.search import search_columns, trigram_index_name

ID_LENGTH = 32


def column_type(fd: FieldDef) -> TypeEngine:
    kind = fd.value_type
    if fd.name == "version":
        return BigInteger()
    if kind in ("text", "email", "url", "phone", "select", "autonumber"):
        return String(fd.max_length or 255)
    if kind in ("textarea", "markdown"):
        return Text()
    if kind in ("number", "currency", "percent"):
        return BigInteger() if fd.scale == 0 and kind == "number" else Float()
    if kind == "date":
        return Date()
    if kind == "datetime":
        return DateTime()
    if kind == "boolean":
        return Boolean()
    if kind in ("multiselect", "json"):
        return JSON()
    if kind in ("lookup", "master_detail"):
        return String(ID_LENGTH)
    raise ValueError(f"no column type for field type {kind!r}")


def build_column(obj: ObjectDef, fd: FieldDef, *, with_foreign_key: bool = True) -> Column:
    args: list = []
    if fd.is_lookup and with_foreign_key and fd.reference_to:
        args.append(ForeignKey(f"{fd.reference_to}.id", name=f"fk_{obj.name}_{fd.name}"))
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
                specs: list[IndexSpec] | None = None) -> Table:
    columns = [build_column(obj, fd) for fd in obj.all_fields.values()]
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
    """All tables of one registry snapshot."""

    metadata: MetaData
    tables: dict[str, Table]
    # The metadata-derived indexes of each object table (see app/storage/indexes.py).
    indexes: dict[str, list[IndexSpec]] = field(default_factory=dict)
    dialect: str = "sqlite"
    aliases: dict[tuple[str, str], Any] = field(default_factory=dict)
    # The searchable text fields of each object (its FTS5 table's columns on SQLite).
    search: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The rollup tables the dashboards ask for, per object (see app/storage/rollups.py).
    rollups: dict[str, list[tuple[RollupSpec, Table]]] = field(default_factory=dict)

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


def build_schema(registry: Registry, dialect: str = "sqlite") -> Schema:
    """Tables for `registry`; indexes in the spelling of `dialect` (the engine's name)."""
    metadata = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(metadata)
    indexes = {name: index_specs(obj, dashboard_queries(registry, name))
               for name, obj in registry.items()}
    tables = {name: build_table(metadata, obj, dialect, indexes[name])
              for name, obj in registry.items()}
    rollups: dict[str, list[tuple[RollupSpec, Table]]] = {}
    for spec in rollup_specs(registry):
        rollups.setdefault(spec.object, []).append((spec, build_rollup_table(metadata, spec)))
    search = {name: cols for name, obj in registry.items() if (cols := search_columns(obj))}
    return Schema(metadata, tables, indexes, dialect, search=search, rollups=rollups)
