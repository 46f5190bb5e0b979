"""The audit trail: who changed what, when, with old and new values."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from app.storage.prepared import Prepared
from app.storage.system_tables import AuditEntry

AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def diff(tracked: tuple[str, ...], old: dict[str, Any] | None, new: dict[str, Any] | None
         ) -> dict[str, list[Any]]:
    """{field: [old, new]} for the `tracked` fields (WritePlan.tracked) whose value differs."""
    changes: dict[str, list[Any]] = {}
    for name in tracked:
        before = old.get(name) if old else None
        after = new.get(name) if new else None
        if before != after:
            changes[name] = [jsonable(before), jsonable(after)]
    return changes


def record(conn: Connection, *, object_name: str, record_id: str, action: str,
           user_id: str | None, at: datetime, changes: dict[str, Any],
           via: str | None = None) -> None:
    _ENTRY.execute(conn, {"object": object_name, "record_id": record_id,
                          "action": action, "user_id": user_id, "at": at,
                          "changes": changes, "via": via}).close()


# One audit INSERT, compiled once per dialect and run as its SQL (storage/prepared.py).
_ENTRY = Prepared(insert(AUDIT))


def write_with_entry(conn: Connection, stmt: Any, params: dict[str, Any], *, object_name: str,
                     record_id: str, action: str, user_id: str | None, at: datetime,
                     changes: dict[str, Any], via: str | None = None,
                     riders: tuple[Any, ...] = (), rider_params: dict[str, Any] | None = None
                     ) -> int:
    """Run an INSERT/UPDATE of one record (`stmt` with execution `params`) and write its
    audit entry; returns the number of records written (0 = a stale version matched
    nothing, and then no entry is written either).

    PostgreSQL gets both in one statement — the write as a data-modifying CTE whose
    RETURNING feeds the audit INSERT — saving a round trip per save. Elsewhere it is two
    statements in the same transaction. `riders` (PostgreSQL only: statements with
    RETURNING, e.g. the rollups' upserts, with `rider_params`) run as more CTEs of that
    one statement; PostgreSQL runs every data-modifying CTE to completion.
    """
    if conn.dialect.name != "postgresql":
        plain = _PLAIN.get(stmt)
        if plain is None:
            if len(_PLAIN) > 1024:
                _PLAIN.clear()
            plain = _PLAIN[stmt] = Prepared(stmt)
        written = plain.execute(conn, params).rowcount
        if written:
            record(conn, object_name=object_name, record_id=record_id, action=action,
                   user_id=user_id, at=at, changes=changes, via=via)
        return int(written)
    audited = _AUDITED.get((stmt, riders))
    if audited is None:
        # Compiled once and run as its SQL (storage/prepared.py), where the driver counts
        # the entries written; SQLAlchemy's own execution of INSERT ... SELECT counts
        # nothing (-1), so the statement it falls back to RETURNs them instead.
        audited = Prepared(_with_entry(stmt, riders), fallback=_with_entry(stmt, riders, True))
        if len(_AUDITED) > 1024:
            _AUDITED.clear()
        _AUDITED[(stmt, riders)] = audited
    result = audited.execute(conn, {**params, **(rider_params or {}),
                                    "_a_object": object_name, "_a_action": action,
                                    "_a_user": user_id, "_a_at": at,
                                    "_a_changes": changes, "_a_via": via})
    return len(result.all()) if result.returns_rows else int(result.rowcount)


_AUDITED: dict[tuple[Any, tuple[Any, ...]], Prepared] = {}
_PLAIN: dict[Any, Prepared] = {}


def _with_entry(stmt: Any, riders: tuple[Any, ...], returning: bool = False) -> Any:
    written = stmt.returning(stmt.table.c.id).cte("written")
    c = AUDIT.c
    entry = insert(AUDIT).from_select(
        ["object", "record_id", "action", "user_id", "at", "changes", "via"],
        select(bindparam("_a_object", type_=c.object.type), written.c.id,
               bindparam("_a_action", type_=c.action.type),
               bindparam("_a_user", type_=c.user_id.type), bindparam("_a_at", type_=c.at.type),
               bindparam("_a_changes", type_=c.changes.type),
               bindparam("_a_via", type_=c.via.type)))
    if riders:
        entry = entry.add_cte(*[r.cte(f"rider_{i}") for i, r in enumerate(riders)])
    return entry.returning(c.id) if returning else entry


def history(conn: Connection, object_name: str, record_id: str,
            limit: int = 200) -> list[dict[str, Any]]:
    rows = conn.execute(select(AUDIT).where(AUDIT.c.object == object_name,
                                            AUDIT.c.record_id == record_id)
                        .order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]
