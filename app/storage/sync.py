"""Bring the database up to the metadata: add tables, columns and indexes; never drop data.

Alembic's operation objects build the DDL, so each dialect gets its own correct
statements; we only decide *what* to add. Columns that metadata no longer names
are reported and left holding their data.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field

from alembic.operations import Operations
from alembic.operations.ops import AddColumnOp, CreateIndexOp, CreateTableOp
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, Index, inspect, text
from sqlalchemy.schema import CreateIndex

from app.storage.indexes import IndexSpec
from app.storage.schema import Schema
from app.storage.search import fts_drop_statements, fts_statements, fts_table_name
from app.storage.search_values import sync_search_values

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    created_tables: list[str] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)
    created_indexes: list[str] = field(default_factory=list)
    rebuilt_indexes: list[str] = field(default_factory=list)
    dropped_indexes: list[str] = field(default_factory=list)
    orphan_columns: list[str] = field(default_factory=list)
    rebuilt_search: list[str] = field(default_factory=list)  # SQLite FTS5 tables (re)built
    dropped_tables: list[str] = field(default_factory=list)  # rollups no dashboard uses

    @property
    def changed(self) -> bool:
        return bool(self.created_tables or self.added_columns or self.created_indexes
                    or self.rebuilt_indexes or self.dropped_indexes or self.rebuilt_search
                    or self.dropped_tables)


def sync_schema(engine: Engine, schema: Schema, only: set[str] | None = None) -> SyncReport:
    """`only`: the existing tables to look at (the metadata studio passes the objects a
    change touched; missing tables are created whatever it says)."""
    report = SyncReport()
    later: list[tuple[Index, bool]] = []  # (index, rebuild) on existing tables
    obsolete: list[str] = []
    add_columns: list[AddColumnOp] = []
    with engine.begin() as conn:
        inspector = inspect(conn)
        existing_tables = set(inspector.get_table_names())
        ops = Operations(MigrationContext.configure(conn))
        sqlite = conn.dialect.name == "sqlite"
        if conn.dialect.name == "postgresql" and schema.search:
            # Trigram indexes for search; pg_trgm is a trusted extension (PostgreSQL 13+):
            # a database owner may create it without superuser rights.
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # Referenced tables first so foreign keys resolve on every backend.
        for table in schema.all_tables:
            if table.name not in existing_tables:
                ops.invoke(CreateTableOp.from_table(table))
                for index in table.indexes:
                    ops.invoke(CreateIndexOp.from_index(index))
                report.created_tables.append(table.name)
                continue
            if only is not None and table.name not in only:
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
                # Added at the end of the transaction: ADD COLUMN locks the table until
                # commit, so no catalog reading may happen while every request waits.
                add_columns.append(AddColumnOp.from_column_and_tablename(None, table.name,
                                                                         new_column))
                report.added_columns.append(f"{table.name}.{column.name}")
            report.orphan_columns += [f"{table.name}.{name}" for name in sorted(present)
                                      if name not in table.columns]
            index_names = _index_names(conn, table.name)
            specs = {spec.name: spec for spec in schema.indexes.get(table.name, [])}
            shapes = _index_shapes(conn, table.name) if specs else {}
            for index in table.indexes:
                spec = specs.get(str(index.name))
                if index.name not in index_names:
                    later.append((index, False))
                elif spec is not None and index.name in shapes \
                        and shapes[str(index.name)] != _expected_shape(spec, conn.dialect.name):
                    later.append((index, True))
            if table.name in schema.indexes:
                # Indexes are derived from metadata and hold no data: one metadata no
                # longer asks for only slows every write down.
                wanted = {str(i.name) for i in table.indexes}
                obsolete += [name for name in sorted(index_names)
                             if name.startswith((f"ix_{table.name}_", f"tg_{table.name}_"))
                             and name not in wanted]
        if conn.dialect.name == "postgresql":
            _tune_autovacuum(conn, [t for t in schema.indexes if only is None or t in only
                                    or t in report.created_tables])
        for op in add_columns:
            ops.invoke(op)
    _apply_index_changes(engine, later, obsolete, report)
    if engine.dialect.name == "sqlite":
        _sync_fts(engine, schema, report, only)
    sync_search_values(engine, {table: schema.values.get(table) for table in schema.indexes
                                if only is None or table in only
                                or table in report.created_tables},
                       report.rebuilt_search)
    if report.orphan_columns:
        log.warning("columns no longer in metadata were kept: %s",
                    ", ".join(report.orphan_columns))
    return report


def _apply_index_changes(engine: Engine, indexes: list[tuple[Index, bool]],
                         obsolete: list[str], report: SyncReport) -> None:
    """Index work on tables that already hold data. On PostgreSQL it runs CONCURRENTLY
    (outside a transaction), so building an index on a large table never blocks saves."""
    if not indexes and not obsolete:
        return
    postgres = engine.dialect.name == "postgresql"
    options = {"isolation_level": "AUTOCOMMIT"} if postgres else {}
    with engine.connect().execution_options(**options) as conn, \
            (nullcontext() if postgres else conn.begin()):
        concurrently = " CONCURRENTLY" if postgres else ""
        for name in obsolete:
            conn.exec_driver_sql(f'DROP INDEX{concurrently} IF EXISTS "{name}"')
            report.dropped_indexes.append(name)
        for index, rebuild in indexes:
            if rebuild:
                conn.exec_driver_sql(f'DROP INDEX{concurrently} IF EXISTS "{index.name}"')
                report.rebuilt_indexes.append(str(index.name))
            else:
                report.created_indexes.append(str(index.name))
            if postgres:
                index.dialect_options["postgresql"]["concurrently"] = True
            try:
                conn.execute(CreateIndex(index))
            finally:
                if postgres:
                    index.dialect_options["postgresql"]["concurrently"] = False
            if not postgres:
                # SQLite plans from sqlite_stat1, which a new index is missing from: it
                # then guesses ten rows per key, and a rep's search (owner = me) was read
                # from (owner, subject) and sorted instead of walking the primary key
                # (3 -> 140 ms). PostgreSQL keeps statistics per column, not per index.
                conn.exec_driver_sql(f'ANALYZE "{index.name}"')


# Object tables are vacuumed after 1% of their rows changed, not PostgreSQL's 20%: on a
# 200k-row table the default let 40k updated rows clear visibility-map bits, and every
# capped count and board total read the heap again (2 ms became 17-22 ms).
AUTOVACUUM = {"autovacuum_vacuum_scale_factor": "0.01",
              "autovacuum_vacuum_insert_scale_factor": "0.01",
              "autovacuum_analyze_scale_factor": "0.02"}


def _tune_autovacuum(conn: Connection, tables: list[str]) -> None:
    current = {name: set(options or []) for name, options in conn.execute(text(
        "SELECT relname, reloptions FROM pg_class WHERE relkind = 'r' "
        "AND relnamespace = to_regnamespace(current_schema())"))}
    wanted = {f"{k}={v}" for k, v in AUTOVACUUM.items()}
    settings = ", ".join(f"{k} = {v}" for k, v in AUTOVACUUM.items())
    for table in tables:
        if table in current and not wanted <= current[table]:
            conn.exec_driver_sql(f'ALTER TABLE "{table}" SET ({settings})')


def _sync_fts(engine: Engine, schema: Schema, report: SyncReport,
              only: set[str] | None = None) -> None:
    """Each searchable object's FTS5 table and triggers exactly as `fts_statements` spells
    them; anything else (new object, changed searchable fields, older DDL) is dropped and
    rebuilt from the base table. Objects without searchable fields lose theirs."""
    with engine.begin() as conn:
        stored = {name: " ".join(sql.split()) for name, sql in conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'trigger') "
            "AND name LIKE '%\\_fts%' ESCAPE '\\'")}
        for table in schema.indexes:  # every object table
            if only is not None and table not in only and table not in report.created_tables:
                continue
            fts = fts_table_name(table)
            columns = schema.search.get(table)
            if not columns:
                if fts in stored:
                    for statement in fts_drop_statements(table):
                        conn.exec_driver_sql(statement)
                    report.rebuilt_search.append(table)
                continue
            wanted = fts_statements(table, columns)
            names = [fts, f"{fts}_ai", f"{fts}_ad", f"{fts}_au"]
            if all(stored.get(n) == " ".join(w.split()) for n, w in zip(names, wanted,
                                                                         strict=True)):
                continue
            for statement in [*fts_drop_statements(table), *wanted]:
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql(f'INSERT INTO "{fts}"("{fts}") VALUES (\'rebuild\')')
            report.rebuilt_search.append(table)


Shape = tuple[tuple[tuple[str, int], ...], tuple[str, ...]]


def _expected_shape(spec: IndexSpec, dialect: str) -> Shape:
    """((key column, order flags), ...), included columns) as the catalog reports them.
    PostgreSQL's flags: 1 = DESC, 2 = NULLS FIRST; SQLite's: 1 = DESC (nulls come first
    ascending by nature, and covered columns are trailing keys)."""
    if dialect == "postgresql":
        keys = tuple((k, 1 if d else 2) for k, d in zip(spec.keys, spec.descending,
                                                          strict=True))
        return keys, spec.include
    keys = tuple((k, int(d)) for k, d in zip(spec.keys, spec.descending, strict=True))
    return keys + tuple((n, 0) for n in spec.include), ()


def _index_shapes(conn: Connection, table: str) -> dict[str, Shape]:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text(
            "SELECT c.relname, i.indnkeyatts, i.indisvalid, i.indoption::int2[], "
            "ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(n, o) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE t.relname = :t AND t.relnamespace = to_regnamespace(current_schema())"),
            {"t": table})
        shapes: dict[str, Shape] = {}
        for name, nkeys, valid, flags, columns in rows:
            keys = tuple(zip(columns[:nkeys], [int(f) & 3 for f in flags[:nkeys]],
                             strict=False))
            # An invalid index (a concurrent build that failed) never matches: rebuilt.
            shapes[name] = (keys, tuple(columns[nkeys:])) if valid else ((), ("invalid",))
        return shapes
    if conn.dialect.name == "sqlite":
        result: dict[str, Shape] = {}
        for name in _index_names(conn, table):
            info = conn.exec_driver_sql(f'PRAGMA index_xinfo("{name}")').all()
            result[name] = (tuple((r[2], int(r[3])) for r in info if r[5]), ())
        return result
    return {}


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
