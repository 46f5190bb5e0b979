"""The metadata version table (`metadata_change`): read and append studio versions.

Number 0 is the shipped YAML and has no row. Appending uses the number as primary key,
so two processes saving on the same base cannot both win: the second insert fails and
becomes a MetadataConflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from app.metadata.documents import Documents, empty
from app.storage.system_tables import MetadataChange

TABLE = MetadataChange.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StoredVersion:
    number: int
    base_version: int
    author: str | None
    author_name: str
    at: datetime | None
    comment: str
    summary: str
    documents: Documents
    diff: str


class NumberTaken(Exception):
    """Another process recorded this version number first."""


def _row(row: Any) -> StoredVersion:
    documents = empty()
    documents.update(row.documents or {})
    return StoredVersion(row.number, row.base_version, row.author, row.author_name, row.at,
                         row.comment, row.summary, documents, row.diff or "")


def latest_number(engine: Engine) -> int:
    """The newest version number (0 when the studio never changed anything)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(TABLE.c.number))).scalar() or 0)


def table_exists(engine: Engine) -> bool:
    return inspect(engine).has_table(TABLE.name)


def latest_or_none(engine: Engine) -> StoredVersion | None:
    """The newest version; None when there is none or the table does not exist yet."""
    try:
        with engine.connect() as conn:
            row = conn.execute(select(TABLE).order_by(TABLE.c.number.desc()).limit(1)).first()
    except (OperationalError, ProgrammingError):  # first start: sync creates the table
        return None
    return _row(row) if row is not None else None


def get(engine: Engine, number: int) -> StoredVersion | None:
    if not 0 < number < 2**31:  # the column is an integer: nothing else can exist
        return None
    with engine.connect() as conn:
        row = conn.execute(select(TABLE).where(TABLE.c.number == number)).first()
    return _row(row) if row is not None else None


def listing(engine: Engine, limit: int = 100, after: int | None = None
            ) -> list[StoredVersion]:
    """Newest first; `after` keeps only numbers above it (ascending then)."""
    stmt = select(TABLE)
    if after is not None:
        stmt = stmt.where(TABLE.c.number > after).order_by(TABLE.c.number)
    else:
        stmt = stmt.order_by(TABLE.c.number.desc()).limit(limit)
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(stmt)]


def all_documents(engine: Engine) -> list[Documents]:
    """Every version's documents, oldest first (to find fields hidden since)."""
    with engine.connect() as conn:
        return [r.documents or {} for r in
                conn.execute(select(TABLE.c.documents).order_by(TABLE.c.number))]


def append(engine: Engine, *, number: int, base_version: int, author: str | None,
           author_name: str, comment: str, summary: str, documents: Documents,
           diff: str) -> StoredVersion:
    at = datetime.now(UTC).replace(tzinfo=None)
    values = {"number": number, "base_version": base_version, "author": author,
              "author_name": author_name[:120], "at": at, "comment": comment[:500],
              "summary": summary[:1000], "documents": documents, "diff": diff}
    try:
        with engine.begin() as conn:
            conn.execute(insert(TABLE).values(**values))
    except IntegrityError:
        raise NumberTaken(number) from None
    return StoredVersion(number, base_version, author, author_name, at, comment, summary,
                         documents, diff)
