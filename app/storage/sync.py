"""Bring the database up to the metadata: add tables, columns and indexes; never drop.

Alembic's operation objects build the DDL, so each dialect gets its own correct
statements; we only decide *what* to add. Columns that metadata no longer names
are reported and left holding their data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from alembic.operations import Operations
from alembic.operations.ops import AddColumnOp, CreateIndexOp, CreateTableOp
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text

from app.storage.schema import Schema

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    created_tables: list[str] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)
    created_indexes: list[str] = field(default_factory=list)
    orphan_columns: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created_tables or self.added_columns or self.created_indexes)


def sync_schema(engine: Engine, schema: Schema) -> SyncReport:
    report = SyncReport()
    with engine.begin() as conn:
        inspector = inspect(conn)
        existing_tables = set(inspector.get_table_names())
        ops = Operations(MigrationContext.configure(conn))
        sqlite = conn.dialect.name == "sqlite"
        # Referenced tables first so foreign keys resolve on every backend.
        for table in schema.metadata.sorted_tables:
            if table.name not in existing_tables:
                ops.invoke(CreateTableOp.from_table(table))
                for index in table.indexes:
                    ops.invoke(CreateIndexOp.from_index(index))
                report.created_tables.append(table.name)
                continue
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                new_column = column._copy()
                new_column.nullable = True
                if sqlite:  # SQLite cannot add a column with a constraint in place.
                    new_column.foreign_keys.clear()
                    new_column.constraints.clear()
                ops.invoke(AddColumnOp.from_column_and_tablename(None, table.name, new_column))
                report.added_columns.append(f"{table.name}.{column.name}")
            report.orphan_columns += [f"{table.name}.{name}" for name in sorted(present)
                                      if name not in table.columns]
            index_names = _index_names(conn, table.name)
            for index in table.indexes:
                if index.name not in index_names:
                    ops.invoke(CreateIndexOp.from_index(index))
                    report.created_indexes.append(str(index.name))
    if report.orphan_columns:
        log.warning("columns no longer in metadata were kept: %s",
                    ", ".join(report.orphan_columns))
    return report


def _index_names(conn: Connection, table: str) -> set[str]:
    """Names of all indexes, including expression indexes the inspector cannot reflect."""
    if conn.dialect.name == "sqlite":
        query = text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t")
    elif conn.dialect.name == "postgresql":
        query = text("SELECT indexname FROM pg_indexes WHERE tablename = :t "
                     "AND schemaname = current_schema()")
    else:
        return {str(i["name"]) for i in inspect(conn).get_indexes(table)}
    return {row[0] for row in conn.execute(query, {"t": table})}
