"""SQLAlchemy tables generated from object metadata, plus the SQLModel system tables."""

from __future__ import annotations

from dataclasses import dataclass

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


def _index_columns(obj: ObjectDef) -> list[tuple[str, tuple[str, ...], bool]]:
    """(name, columns, unique) for every plain index the object needs."""
    wanted: dict[tuple[str, ...], bool] = {}
    for fd in obj.all_fields.values():
        if fd.name == "id":
            continue
        if fd.unique is True:
            wanted[(fd.name,)] = True
        elif fd.is_lookup or fd.index or fd.searchable:
            wanted.setdefault((fd.name,), False)
    for view in obj.list_views.values():
        eq_fields = [f[0] for f in view.filters
                     if isinstance(f, list) and len(f) == 3 and f[1] == "=" and "." not in f[0]
                     and isinstance(f[0], str)]
        sort_fields = [s[0] for s in view.sort if "." not in s[0]]
        for name in sort_fields[:1]:
            wanted.setdefault((name,), False)
        combined = tuple(dict.fromkeys(eq_fields[:1] + sort_fields[:1]))
        if len(combined) > 1:
            wanted.setdefault(combined, False)
    # Private lists are always filtered by owner and usually sorted by the name field.
    wanted.setdefault(("owner", obj.name_field), False)
    for view in obj.list_views.values():
        if view.kanban:
            # Boards count and sum per column: covering indexes answer that from the index
            # alone, for everyone (group, sum) and within a rep's own records.
            summed = (view.kanban.sum,) if view.kanban.sum else ()
            wanted.setdefault((view.kanban.group_by, *summed), False)
            if obj.sharing_model == "private":
                wanted.setdefault(("owner", view.kanban.group_by, *summed), False)
    result = []
    for cols, unique in wanted.items():
        prefix = "ux" if unique else "ix"
        result.append((f"{prefix}_{obj.name}_{'_'.join(cols)}"[:63], cols, unique))
    return result


def build_table(metadata: MetaData, obj: ObjectDef) -> Table:
    columns = [build_column(obj, fd) for fd in obj.all_fields.values()]
    table = Table(obj.name, metadata, *columns)
    for name, cols, unique in _index_columns(obj):
        Index(name, *[table.c[c] for c in cols], unique=unique)
    for fd in obj.all_fields.values():
        if fd.unique == "case_insensitive":
            Index(f"ux_{obj.name}_{fd.name}_ci"[:63], func.lower(table.c[fd.name]), unique=True)
    return table


@dataclass(frozen=True)
class Schema:
    """All tables of one registry snapshot."""

    metadata: MetaData
    tables: dict[str, Table]

    def table(self, name: str) -> Table:
        return self.tables[name]


def build_schema(registry: Registry) -> Schema:
    metadata = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(metadata)
    tables = {name: build_table(metadata, obj) for name, obj in registry.items()}
    return Schema(metadata, tables)
