"""The audit trail: who changed what, when, with old and new values."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from app.metadata.models import ObjectDef
from app.storage.system_tables import AuditEntry

AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def diff(obj: ObjectDef, old: dict[str, Any] | None, new: dict[str, Any] | None
         ) -> dict[str, list[Any]]:
    """{field: [old, new]} for tracked fields whose value differs."""
    changes: dict[str, list[Any]] = {}
    for name, fd in obj.all_fields.items():
        if not fd.track_history or name in ("id", "version"):
            continue
        before = old.get(name) if old else None
        after = new.get(name) if new else None
        if before != after:
            changes[name] = [jsonable(before), jsonable(after)]
    return changes


def record(conn: Connection, *, object_name: str, record_id: str, action: str,
           user_id: str | None, at: datetime, changes: dict[str, Any],
           via: str | None = None) -> None:
    conn.execute(insert(AUDIT), {"object": object_name, "record_id": record_id,
                                 "action": action, "user_id": user_id, "at": at,
                                 "changes": changes, "via": via})



def history(conn: Connection, object_name: str, record_id: str,
            limit: int = 200) -> list[dict[str, Any]]:
    rows = conn.execute(select(AUDIT).where(AUDIT.c.object == object_name,
                                            AUDIT.c.record_id == record_id)
                        .order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]
