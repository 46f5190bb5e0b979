"""The search index of each object: what is indexed, and how each backend spells it.

ObjectQL's `search` means: every term is a case-insensitive substring of at least one
searchable field the user may read. Both backends answer that from an index:

- PostgreSQL: a pg_trgm GIN index on `lower(column)` per searchable text field. The query
  keeps its `lower(column) LIKE '%term%'` predicate; the planner serves it with a bitmap
  index scan and rechecks the rows, so results are exactly LIKE's.
- SQLite: one FTS5 table per object with the `trigram` tokenizer, external content on the
  base table's rowid (the text is not stored twice), kept in step by SQLite triggers on
  the base table, so ObjectQL saves, `bulk_insert` and seeds are all covered. A quoted
  trigram phrase matches exactly the rows holding it as a substring (case-folded).
  The index is derived data: schema sync recreates and refills it whenever the set of
  searchable fields (or our DDL) changes.
"""

from __future__ import annotations

from app.metadata.models import ObjectDef

# Field types stored as text; only these are indexed (others keep the plain LIKE).
TEXT_TYPES = frozenset({"text", "textarea", "email", "url", "phone", "markdown", "select",
                        "autonumber"})
# FTS5's trigram tokenizer cannot match fewer than 3 characters: shorter terms use LIKE.
MIN_TRIGRAM_TERM = 3


def search_columns(obj: ObjectDef) -> tuple[str, ...]:
    """The object's searchable text fields, in declaration order."""
    return tuple(f.name for f in obj.searchable_fields if f.value_type in TEXT_TYPES)


def trigram_index_name(table: str, column: str) -> str:
    name = f"tg_{table}_{column}"
    return name if len(name) <= 63 else name[:63]


def fts_table_name(table: str) -> str:
    return f"{table}_fts"


def fts_statements(table: str, columns: tuple[str, ...]) -> list[str]:
    """CREATE statements of the FTS5 table and its three triggers (SQLite).

    The table holds the trigram index only (`content=` the base table, no per-column
    sizes: we never rank); the triggers are the external-content recipe from the FTS5
    documentation, the update one firing only when a searchable column is set.
    """
    fts = fts_table_name(table)
    cols = ", ".join(f'"{c}"' for c in columns)
    new = ", ".join(f'new."{c}"' for c in columns)
    old = ", ".join(f'old."{c}"' for c in columns)
    delete = (f'INSERT INTO "{fts}"("{fts}", rowid, {cols}) '
              f"VALUES ('delete', old.rowid, {old});")
    insert = f'INSERT INTO "{fts}"(rowid, {cols}) VALUES (new.rowid, {new});'
    return [
        f'CREATE VIRTUAL TABLE "{fts}" USING fts5({cols}, content=\'{table}\', '
        "tokenize='trigram', columnsize=0)",
        f'CREATE TRIGGER "{fts}_ai" AFTER INSERT ON "{table}" BEGIN {insert} END',
        f'CREATE TRIGGER "{fts}_ad" AFTER DELETE ON "{table}" BEGIN {delete} END',
        f'CREATE TRIGGER "{fts}_au" AFTER UPDATE OF {cols} ON "{table}" '
        f"BEGIN {delete} {insert} END",
    ]


def fts_drop_statements(table: str) -> list[str]:
    fts = fts_table_name(table)
    return [*(f'DROP TRIGGER IF EXISTS "{fts}_{s}"' for s in ("ai", "ad", "au")),
            f'DROP TABLE IF EXISTS "{fts}"']


def fts_query(columns: list[str], terms: list[str]) -> str:
    """The MATCH expression: every term, as a quoted phrase, in one of `columns`.

    Inside an FTS5 string only `"` is special (doubled), so any text is safe; the whole
    expression is bound as a parameter, never pasted into SQL.
    """
    phrases = " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)
    return "{" + " ".join(columns) + "}: (" + phrases + ")"
