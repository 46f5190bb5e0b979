"""The distinct values of a searched field, kept by the database, for pages sorted by it.

A list sorted by the very field a quick search looks in ("follow" in the activities'
subjects, then a click on the Subject header) is the one search page no index orders:
the trigram index finds the 81k matching rows of 1M in no particular order, and sorting
them meant fetching every one (130-150 ms on PostgreSQL, 90 ms on SQLite). But a field
such as a subject repeats a few phrasings ("Follow up on open invoice"), so its matches
hold few distinct values, and the first of them in sort order tells where the page
starts: every matching row sorts at or after the smallest matching value. ObjectQL looks
that value up here and walks the field's own index from it (app/objectql/search_plans.py,
`value_window`), stopping after the page.

So each such object gets a table of the field's distinct values, with its own substring
index (pg_trgm on PostgreSQL, an FTS5 trigram table on SQLite), filled by database
triggers on the object's table: every way a row is written (ObjectQL saves, bulk
inserts, seeds, a restore) keeps it complete, which is what makes the bound exact. It is
a superset: values no row holds any more stay (they only move the bound earlier, and the
page walk skips them); schema sync rebuilds it whenever the kept field changes.

Only objects with one searchable field get one: with several, a row may match through
another field whatever its value in the sorted one, and the bound would not hold. A
unique field is left out too: its values are as many as its rows.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from app.metadata.models import ObjectDef
from app.storage.search import TEXT_TYPES

# Bumped when the DDL below changes: trigger names carry it, so sync rebuilds.
VERSION = 3


def values_field(obj: ObjectDef) -> str | None:
    """The field whose distinct values `obj` keeps, or None (see the module notes)."""
    fields = [f for f in obj.searchable_fields if f.value_type != "multiselect"]
    if len(fields) != 1 or fields[0].value_type not in TEXT_TYPES or fields[0].unique:
        return None
    return fields[0].name


def values_table_name(table: str) -> str:
    return f"{table}_search_values"


def _trigger_name(table: str, field: str) -> str:
    return f"{table}_sv{VERSION}_{field}"[:63]


def postgres_statements(table: str, field: str) -> list[str]:
    """The values table, its trigram index, the trigger keeping it, and its first fill.
    `value` is text in the database's default collation, as object columns are, so
    `min(value)` and the object's ORDER BY agree."""
    values = values_table_name(table)
    trigger = _trigger_name(table, field)
    index = f"{values}_trgm"[:63]
    return [
        # `folded` is lower(value), stored: the probe's recheck of each candidate then
        # skips lower() (33k values of 'call with': 19-21 -> 13-14 ms).
        f'CREATE TABLE "{values}" (value text PRIMARY KEY, folded text NOT NULL)',
        f'CREATE OR REPLACE FUNCTION "{trigger}"() RETURNS trigger LANGUAGE plpgsql AS $$ '
        f'BEGIN INSERT INTO "{values}"(value, folded) VALUES (NEW."{field}", '
        f'lower(NEW."{field}")) ON CONFLICT DO NOTHING; RETURN NULL; END $$',
        # The trigger first: its lock holds off writers until commit, so no row can be
        # written between the fill and the trigger without either seeing it.
        f'CREATE TRIGGER "{trigger}" AFTER INSERT OR UPDATE OF "{field}" ON "{table}" '
        f'FOR EACH ROW WHEN (NEW."{field}" IS NOT NULL) EXECUTE FUNCTION "{trigger}"()',
        f'INSERT INTO "{values}"(value, folded) SELECT "{field}", lower("{field}") '
        f'FROM (SELECT DISTINCT "{field}" FROM "{table}" WHERE "{field}" IS NOT NULL) d',
        # Built after the fill, in one pass; without the pending list (fastupdate), which
        # every probe would scan linearly: new values are rare, and each goes straight
        # into the index.
        f'CREATE INDEX "{index}" ON "{values}" USING gin (folded gin_trgm_ops) '
        "WITH (fastupdate = off)",
        f'ANALYZE "{values}"',
    ]


def sqlite_statements(table: str, field: str) -> list[str]:
    """The values table (a rowid table: FTS5's external content needs one), its FTS5
    trigram index kept by the FTS5 recipe's insert trigger (values are never updated or
    deleted), the two triggers on the object's table, and the first fill. INSERT OR
    IGNORE inserts nothing for a known value, so the FTS trigger fires once per value."""
    values = values_table_name(table)
    fts = f"{values}_fts"
    trigger = _trigger_name(table, field)
    add = f'INSERT OR IGNORE INTO "{values}"(value) VALUES (new."{field}");'
    return [
        f'CREATE TABLE "{values}" (value TEXT NOT NULL UNIQUE)',
        f'CREATE VIRTUAL TABLE "{fts}" USING fts5(value, content=\'{values}\', '
        "tokenize='trigram', columnsize=0)",
        f'CREATE TRIGGER "{fts}_ai" AFTER INSERT ON "{values}" '
        f'BEGIN INSERT INTO "{fts}"(rowid, value) VALUES (new.rowid, new.value); END',
        f'CREATE TRIGGER "{trigger}_ai" AFTER INSERT ON "{table}" '
        f'WHEN new."{field}" IS NOT NULL BEGIN {add} END',
        f'CREATE TRIGGER "{trigger}_au" AFTER UPDATE OF "{field}" ON "{table}" '
        f'WHEN new."{field}" IS NOT NULL BEGIN {add} END',
        f'INSERT OR IGNORE INTO "{values}"(value) SELECT "{field}" FROM "{table}" '
        f'WHERE "{field}" IS NOT NULL ORDER BY "{field}"',
    ]


def _catalog(conn: Connection) -> tuple[set[str], dict[str, set[str]]]:
    """The tables of the current schema, and the triggers of each: one read of the
    catalog for every object (schema sync runs at every start)."""
    if conn.dialect.name == "postgresql":
        here = "relnamespace = to_regnamespace(current_schema())"
        tables = {name for (name,) in conn.exec_driver_sql(
            f"SELECT relname FROM pg_class WHERE relkind = 'r' AND {here}")}
        rows = [(table, name) for table, name in conn.exec_driver_sql(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c "
            f"ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND c.{here}")]
    else:
        master = conn.exec_driver_sql("SELECT type, name, tbl_name FROM sqlite_master "
                                      "WHERE type IN ('table', 'trigger')").all()
        tables = {name for kind, name, _ in master if kind == "table"}
        rows = [(table, name) for kind, name, table in master if kind == "trigger"]
    triggers: dict[str, set[str]] = {}
    for table, name in rows:
        triggers.setdefault(table, set()).add(name)
    return tables, triggers


def _drop(conn: Connection, table: str, triggers: set[str]) -> None:
    values = values_table_name(table)
    postgres = conn.dialect.name == "postgresql"
    for name in sorted(triggers):
        if not name.startswith(f"{table}_sv"):
            continue
        if postgres:
            conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"')
            conn.exec_driver_sql(f'DROP FUNCTION IF EXISTS "{name}"()')
        else:
            conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS "{name}"')
    if not postgres:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{values}_fts"')
    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{values}"')


def sync_search_values(engine: Engine, wanted: dict[str, str | None],
                       rebuilt: list[str]) -> None:
    """Each object table in `wanted` keeps the values of its field (None: keeps none),
    built and filled if missing or kept for another field; names are added to `rebuilt`.
    """
    if not wanted:
        return
    with engine.begin() as conn:
        tables, triggers = _catalog(conn)
        for table, field in wanted.items():
            exists = values_table_name(table) in tables
            ours = {t for t in triggers.get(table, ()) if t.startswith(f"{table}_sv")}
            if field is None:
                if exists or ours:
                    _drop(conn, table, ours)
                    rebuilt.append(table)
                continue
            trigger = _trigger_name(table, field)
            expected = {trigger} if conn.dialect.name == "postgresql" \
                else {f"{trigger}_ai", f"{trigger}_au"}
            if exists and ours == expected:
                continue
            _drop(conn, table, ours)
            statements = postgres_statements(table, field) \
                if conn.dialect.name == "postgresql" else sqlite_statements(table, field)
            for statement in statements:
                conn.exec_driver_sql(statement)
            rebuilt.append(table)
