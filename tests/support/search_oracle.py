"""The hand-written answer to an activity search: every term a case-insensitive substring
of the subject (LIKE, wildcards escaped), the rep's own rows, in a given order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text


def subject_search_ids(services: Any, terms: list[str], owner: str | None, order: str,
                       limit: int | None = None, skip: int = 0) -> list[str]:
    conditions, params = [], {}
    for i, term in enumerate(terms):
        escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params[f"p{i}"] = f"%{escaped}%"
        conditions.append(f"lower(subject) LIKE :p{i} ESCAPE '\\'")
    if owner is not None:
        conditions.append("owner = :owner")
        params["owner"] = owner
    sql = f"SELECT id FROM activity WHERE {' AND '.join(conditions)} ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {limit} OFFSET {skip}"
    with services.engine.connect() as conn:
        return [r[0] for r in conn.execute(text(sql), params)]
