"""A save's statement compiled once and run as its SQL text (app/storage/prepared.py)
sends the database exactly what `Connection.execute` sent: the same SQL and the same
processed parameter values, on both backends and on a real PostgreSQL save."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import String, bindparam, cast, event, func, insert, select
from sqlalchemy.exc import StatementError

from app import audit
from app.audit import AUDIT
from app.core import Services
from app.objectql import Context
from app.objectql.errors import Conflict
from app.storage.prepared import Prepared

SYSTEM = Context.system()


@contextmanager
def sent(services: Services) -> Iterator[list[tuple[str, Any]]]:
    """(SQL, parameters) of every statement the engine sends while in the block."""
    seen: list[tuple[str, Any]] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, _comparable(parameters)))

    event.listen(services.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(services.engine, "before_cursor_execute", note)


def _comparable(value: Any) -> Any:
    """psycopg's Json wrapper has no equality: compare what it wraps."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_comparable(v) for v in value)
    if type(value).__name__ == "Json":
        return ("Json", value.obj)
    return value


def _entry_statement() -> Any:
    """An audit INSERT ... SELECT with a JSON parameter and a literal SQLAlchemy binds
    itself (coalesce(..., ''))."""
    c = AUDIT.c
    return insert(AUDIT).from_select(
        ["object", "record_id", "action", "user_id", "at", "changes", "via"],
        select(bindparam("o", type_=c.object.type),
               func.coalesce(cast(bindparam("r", type_=String), String), ""),
               bindparam("a", type_=c.action.type), bindparam("u", type_=c.user_id.type),
               bindparam("at", type_=c.at.type), bindparam("ch", type_=c.changes.type),
               bindparam("v", type_=c.via.type)))


def test_prepared_sends_what_execute_sends(services: Services) -> None:
    stmt = _entry_statement()
    prepared = Prepared(stmt)
    params = {"o": "account", "r": None, "a": "insert", "u": "u1",
              "at": datetime(2026, 12, 7, 20, 0), "ch": {"name": [None, "Acme"]}, "v": None}
    with sent(services) as plain:
        with services.engine.begin() as conn:
            conn.execute(stmt, params)
    for _ in range(2):  # compiled on the first call, reused on the second
        with sent(services) as fast:
            with services.engine.begin() as conn:
                prepared.execute(conn, {**params, "ch": {"n": 2}})
                prepared.execute(conn, params)
        assert [s for s in fast if s[0].startswith("INSERT")][1] == \
            next(s for s in plain if s[0].startswith("INSERT"))
    with services.engine.connect() as conn:
        rows = conn.execute(select(AUDIT.c.record_id, AUDIT.c.changes)
                            .where(AUDIT.c.user_id == "u1")).all()
    assert sorted(rows, key=str) == sorted([("", {"name": [None, "Acme"]}),
                                            ("", {"n": 2}), ("", {"n": 2}),
                                            ("", {"name": [None, "Acme"]}),
                                            ("", {"name": [None, "Acme"]})], key=str)


def test_a_missing_parameter_is_named_as_before(services: Services) -> None:
    prepared = Prepared(_entry_statement())
    params = {"o": "account", "r": "x", "a": "insert", "u": "u1",
              "at": datetime(2026, 12, 7, 20, 0), "ch": {}, "v": None}
    with services.engine.begin() as conn:
        prepared.execute(conn, params)
        del params["u"]
        with pytest.raises(StatementError, match="'u'"):
            prepared.execute(conn, params)


@pytest.mark.parametrize("services", ["postgresql"], indirect=True)
def test_a_real_save_sends_what_execute_would(services: Services,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ql = services.ql
    account = ql.insert(SYSTEM, "account", {"name": "Acme", "industry": "technology",
                                         "phone": "555-0100"})
    calls: list[tuple[Prepared, dict[str, Any]]] = []
    original = Prepared.execute

    def spy(self: Prepared, conn: Any, params: dict[str, Any]) -> Any:
        calls.append((self, dict(params)))
        return original(self, conn, params)

    monkeypatch.setattr(Prepared, "execute", spy)
    deal = {"name": "Deal", "account": account["id"], "amount": 1000,
            "stage": "qualification", "close_date": date(2027, 1, 6)}
    ql.insert(SYSTEM, "opportunity", deal)  # compiles
    with sent(services) as fast:
        saved = ql.insert(SYSTEM, "opportunity", deal)
    prepared, params = calls[-1]
    assert prepared in audit._AUDITED.values()
    with sent(services) as plain:
        with services.engine.connect() as conn:
            trans = conn.begin()
            conn.execute(prepared.statement, {**params, "v_id": saved["id"] + "x"})
            trans.rollback()
    [ours] = [s for s in fast if s[0].lstrip().startswith("WITH")]
    [theirs] = [s for s in plain if s[0].lstrip().startswith("WITH")]
    assert ours[0] == theirs[0]
    assert ours[1] == {**theirs[1], "v_id": saved["id"]}


@pytest.mark.parametrize("services", ["postgresql"], indirect=True)
@pytest.mark.parametrize("as_text", [True, False])
def test_saves_count_what_they_wrote_either_way(services: Services, as_text: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as text the driver counts the audit entries; through SQLAlchemy (the fallback)
    they are RETURNed and counted (a count of 0 would fail the save as a conflict)."""
    if not as_text:
        monkeypatch.setattr(Prepared, "_compile",  # as for a statement it cannot run
                            lambda self, conn, params: (conn.dialect, None, frozenset(), {}, (),
                                                       None))
    audit._AUDITED.clear()
    ql = services.ql
    account = ql.insert(SYSTEM, "account", {"name": "Acme", "phone": "555-0100"})
    ql.update(SYSTEM, "account", account["id"], {"name": "Acme 2"}, expected_version=1)
    with pytest.raises(Conflict):
        ql.update(SYSTEM, "account", account["id"], {"name": "Acme 3"}, expected_version=1)
    assert ql.get(SYSTEM, "account", account["id"])["name"] == "Acme 2"
    with services.engine.connect() as conn:
        entries = conn.execute(select(AUDIT.c.action)
                               .where(AUDIT.c.record_id == account["id"])).scalars().all()
    assert sorted(entries) == ["insert", "update"]
    audit._AUDITED.clear()
