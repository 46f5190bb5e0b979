"""Search served by an index (SQLite FTS5 trigram, PostgreSQL pg_trgm) finds exactly what
the old `lower(col) LIKE '%term%'` scan found: every term a case-insensitive substring of
some searchable field the user may read; and the index follows every kind of write."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, text

from app.core import Services, build_services
from app.metadata.permissions import FieldPermission
from app.metadata.registry import Registry
from app.objectql import Context
from app.storage.db import analyze
from app.storage.search import fts_query

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = Context.system()
# Quotes, FTS5 and LIKE syntax, unicode. Upper case only in ASCII: SQLite's lower() (the
# old scan, and the short-term fallback) folds ASCII only; see test_unicode_case_folding.
ALPHABET = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            "\"'%_\\*:(){}[]^-+.,;!?@#&$ éüßøłñ中文日本語🙂ж")
VALUE = st.text(ALPHABET, min_size=0, max_size=16).map(str.strip)


def _oracle(services: Services, terms: list[str], fields: list[str]) -> set[str]:
    """Hand-written LIKE scan, the way search worked before the index."""
    conditions, params = [], {}
    for i, term in enumerate(terms):
        escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params[f"p{i}"] = f"%{escaped}%"
        conditions.append("(" + " OR ".join(f"lower({f}) LIKE :p{i} ESCAPE '\\'"
                                            for f in fields) + ")")
    sql = "SELECT id FROM contact WHERE " + " AND ".join(conditions)
    with services.engine.connect() as conn:
        return {row[0] for row in conn.execute(text(sql), params)}


def _account(services: Services) -> str:
    record = services.ql.insert(SYSTEM, "account", {"name": "Search Co", "phone": "555-0100"})
    return str(record["id"])


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data(), names=st.lists(st.tuples(VALUE, VALUE), min_size=1, max_size=6))
def test_search_finds_what_the_like_scan_finds(services: Services, data: Any,
                                               names: list[tuple[str, str]]) -> None:
    ql, table = services.ql, services.ql.schema.table("contact")
    account = _account(services)
    try:
        rows = [{"first_name": first or None, "last_name": last or "x", "account": account,
                 "phone": "555-0101"} for first, last in names]
        ql.bulk_insert(SYSTEM, "contact", rows)  # the index must follow bulk loads too
        stored = [v for first, last in names for v in (first, last) if v]
        # Terms: pieces of stored values (often found), case-swapped, or anything.
        piece = st.sampled_from(stored or ["x"]).flatmap(
            lambda v: st.tuples(st.integers(0, len(v)), st.integers(0, len(v))).map(
                lambda ij: v[min(ij):max(ij)]))
        term = st.one_of(piece, piece.map(str.swapcase), VALUE)
        words = data.draw(st.lists(term, min_size=1, max_size=3))
        search = " ".join(words)
        terms = [t for t in search.split() if t][:5]
        if not terms:
            return
        found = {r["id"] for r in ql.find(SYSTEM, "contact", fields=["id"], search=search,
                                          limit=200).records}
        assert found == _oracle(services, terms, ["first_name", "last_name", "email"]), search
        # An update moves the record in the index: search for its new name only.
        some = ql.find(SYSTEM, "contact", fields=["id"], limit=1).records[0]["id"]
        renamed = data.draw(VALUE.filter(lambda v: len(v) >= 3))
        ql.update(SYSTEM, "contact", some, {"first_name": renamed})
        found = {r["id"] for r in ql.find(SYSTEM, "contact", fields=["id"], search=search,
                                          limit=200).records}
        assert found == _oracle(services, terms, ["first_name", "last_name", "email"]), search
    finally:
        with services.engine.begin() as conn:
            conn.execute(delete(table))
            conn.execute(delete(ql.schema.table("account")))


def test_index_follows_insert_update_delete(services: Services) -> None:
    ql = services.ql
    account = _account(services)
    rec = ql.insert(SYSTEM, "contact", {"first_name": "Zebulon", "last_name": "O'Hara",
                                        "account": account, "phone": "555-0101"})

    def ids(search: str) -> set[str]:
        return {r["id"] for r in ql.find(SYSTEM, "contact", fields=["id"],
                                         search=search).records}

    assert ids("ebul o'h") == {rec["id"]}
    assert ids('o"hara') == set()
    ql.update(SYSTEM, "contact", rec["id"], {"first_name": "Quentin"})
    assert ids("ebul") == set() and ids("QUENT") == {rec["id"]}
    ql.update(SYSTEM, "contact", rec["id"], {"title": "CEO"})  # not searchable: no change
    assert ids("quentin") == {rec["id"]}
    ql.delete(SYSTEM, "contact", rec["id"])
    assert ids("quentin") == set()


def test_unicode_case_folding(services: Services) -> None:
    """Terms of 3+ characters fold case beyond ASCII on both databases (the old SQLite
    scan did not: its lower() folds ASCII only)."""
    ql = services.ql
    account = _account(services)
    rec = ql.insert(SYSTEM, "contact", {"first_name": "Élodie", "last_name": "Øster",
                                        "account": account, "phone": "555-0101"})
    for search in ("élodie", "ÉLODIE", "øster", "ØSTER élo"):
        found = [r["id"] for r in ql.find(SYSTEM, "contact", fields=["id"],
                                          search=search).records]
        assert found == [rec["id"]], search


def test_hidden_field_is_not_searched_through_the_index(services: Services) -> None:
    """The FTS query names only the fields the user may read (the LIKE path is covered by
    tests/integration/test_security_fields.py)."""
    ql = services.ql
    account = _account(services)
    ql.insert(SYSTEM, "contact", {"first_name": "Visible", "last_name": "Person",
                                  "email": "secretive@hidden.example", "account": account,
                                  "phone": "555-0101"})
    viewer = Context(user_id="viewer", role="viewer")
    assert len(ql.find(viewer, "contact", search="secretive").records) == 1
    original = ql.registry
    perms = original.permissions["viewer"]
    hidden = perms.model_copy(update={"fields": {**perms.fields, "contact": {
        **perms.fields.get("contact", {}), "email": FieldPermission(read=False, edit=False)}}})
    ql.apply_registry(Registry(dict(original), {**original.permissions, "viewer": hidden}))
    try:
        assert ql.find(viewer, "contact", search="secretive").records == []
        assert ql.find(viewer, "contact", search="sec").records == []
        assert ql.count(viewer, "contact", search="visible secretive") == (0, False)
        assert len(ql.find(viewer, "contact", search="visible pers").records) == 1
    finally:
        ql.apply_registry(original)


def test_fts_query_quotes_every_term() -> None:
    assert fts_query(["a", "b"], ['x"y', "AND", "*"]) == '{a b}: ("x""y" AND "AND" AND "*")'


def _plan(services: Services, sql: str, params: dict[str, Any]) -> str:
    with services.engine.connect() as conn:
        if services.engine.dialect.name == "postgresql":
            rows = conn.execute(text(f"EXPLAIN {sql}"), params).all()
        else:
            rows = conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"), params).all()
    return "\n".join(str(r[-1]) for r in rows)


def test_search_is_served_by_the_index(services: Services) -> None:
    ql = services.ql
    account = _account(services)
    ql.insert(SYSTEM, "contact", {"first_name": "Indexed", "last_name": "Row",
                                  "account": account, "phone": "555-0101"})
    # Enough rows, with statistics, that the planner prefers the index on its own.
    ql.bulk_insert(SYSTEM, "contact", [{"first_name": f"Pat{i}", "last_name": f"Doe{i}",
                                        "account": account, "phone": "555-0101"}
                                       for i in range(3000)])
    analyze(services.engine, ["contact"])
    captured: list[str] = []

    def grab(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        captured.append(statement)

    event.listen(services.engine, "before_cursor_execute", grab)
    try:
        ql.find(SYSTEM, "contact", fields=["id"], search="ndexe")
    finally:
        event.remove(services.engine, "before_cursor_execute", grab)
    statement = next(s for s in captured if "lower(" in s or "_fts" in s)
    if services.engine.dialect.name == "sqlite":
        assert "contact_fts MATCH" in statement.replace('"', "")
        plan = _plan(services, "SELECT rowid FROM contact_fts WHERE contact_fts MATCH :q",
                     {"q": fts_query(["first_name"], ["ndexe"])})
        assert "VIRTUAL TABLE INDEX" in plan, plan
    else:
        plan = _plan(services, "SELECT id FROM contact WHERE lower(first_name) LIKE :p "
                     "ESCAPE '\\' OR lower(last_name) LIKE :p ESCAPE '\\'", {"p": "%ndexe%"})
        assert "Bitmap Index Scan on tg_contact_first_name" in plan, plan
        assert "Bitmap Index Scan on tg_contact_last_name" in plan, plan


def test_sync_rebuilds_the_index_when_searchable_fields_change(tmp_path: Path) -> None:
    meta = tmp_path / "metadata"
    shutil.copytree(ROOT / "metadata", meta)
    services = build_services(database_url=f"sqlite:///{tmp_path / 's.db'}",
                              metadata_dir=meta)
    ql = services.ql
    account = _account(services)
    ql.insert(SYSTEM, "contact", {"first_name": "Ann", "last_name": "Lee", "title": "Chief",
                                  "account": account, "phone": "555-0101"})
    assert ql.find(SYSTEM, "contact", search="chief").records == []
    path = meta / "objects" / "contact.object.yml"
    source = path.read_text()
    assert "  title:\n    type: text\n" in source
    path.write_text(source.replace("  title:\n    type: text\n",
                                   "  title:\n    type: text\n    searchable: true\n", 1))
    services.reload_metadata()
    assert [r["title"] for r in ql.find(SYSTEM, "contact", fields=["title"],
                                        search="chief").records] == ["Chief"]
    assert not ql.sync_schema().changed  # in shape: nothing rebuilt twice
    services.engine.dispose()


def test_newest_first_search_pages_stop_early_for_common_terms(services: Services) -> None:
    """The global search page (newest first, 21 rows) returns exactly the newest matches
    of the LIKE oracle; on SQLite a term the index matches ≥ 1,000 times is read by
    walking the primary key (the first few hundred rows hold the page) and a rare one
    through the FTS index."""
    ql = services.ql
    account = _account(services)
    rows = [{"first_name": ("Common" if i % 3 == 0 else "Other") + f"{i}",
             "last_name": "Rarely" if i == 1500 else f"Doe{i}", "account": account,
             "phone": "555-0101"} for i in range(3300)]
    ql.bulk_insert(SYSTEM, "contact", rows)
    analyze(services.engine, ["contact"])
    captured: list[str] = []

    def grab(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        captured.append(statement.replace('"', ""))

    def newest(term: str) -> list[str]:
        captured.clear()
        event.listen(services.engine, "before_cursor_execute", grab)
        try:
            return [r["id"] for r in ql.find(SYSTEM, "contact", fields=["id"], search=term,
                                             sort=[("id", "desc")], limit=21).records]
        finally:
            event.remove(services.engine, "before_cursor_execute", grab)

    def oracle(term: str) -> list[str]:
        sql = ("SELECT id FROM contact WHERE lower(first_name) LIKE :p OR "
               "lower(last_name) LIKE :p OR lower(email) LIKE :p ORDER BY id DESC LIMIT 21")
        with services.engine.connect() as conn:
            return [r[0] for r in conn.execute(text(sql), {"p": f"%{term.lower()}%"})]

    for term in ("common", "rarely"):
        assert newest(term) == oracle(term), term
        page = next(s for s in captured if s.lstrip().upper().startswith("SELECT CONTACT.ID"))
        if services.engine.dialect.name == "sqlite":
            assert ("contact_fts MATCH" in page) == (term == "rarely"), (term, page)
    assert len(oracle("common")) == 21 and len(oracle("rarely")) == 1
