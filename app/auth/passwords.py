"""Password hashes (Argon2id via argon2-cffi), kept in the `credential` table.

The user object has no password field, so ObjectQL can never select a hash; this
module is the only code that reads or writes the table.
"""

from __future__ import annotations

from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, insert, select

from app.objectql.service import ObjectQL
from app.storage.system_tables import Credential

CREDENTIALS = Credential.__table__  # type: ignore[attr-defined]
_hasher = PasswordHasher()
MIN_LENGTH = 8


class WeakPassword(ValueError):
    pass


def set_password(target: ObjectQL | Engine, user_id: str, password: str) -> None:
    """Store a new hash; given the ObjectQL service it joins the caller's transaction."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"passwords need at least {MIN_LENGTH} characters")
    hashed = _hasher.hash(password)
    ql = target if isinstance(target, ObjectQL) else None
    with (ql.transaction() if ql else target.begin()) as conn:  # type: ignore[union-attr]
        conn.execute(delete(CREDENTIALS).where(CREDENTIALS.c.user_id == user_id))
        conn.execute(insert(CREDENTIALS).values(
            user_id=user_id, password_hash=hashed,
            changed_at=datetime.now(UTC).replace(tzinfo=None)))


def verify_password(target: ObjectQL | Engine, user_id: str, password: str) -> bool:
    engine = target.engine if isinstance(target, ObjectQL) else target
    with engine.connect() as conn:
        hashed = conn.execute(select(CREDENTIALS.c.password_hash)
                              .where(CREDENTIALS.c.user_id == user_id)).scalar()
    if hashed is None:
        _hasher.hash(password)  # same work either way: no timing hint that the user exists
        return False
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
