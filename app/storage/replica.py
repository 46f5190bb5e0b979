"""Read routing between the primary database and an optional read replica.

`HOTCRM_DATABASE_REPLICA_URL` names a read-only copy (a PostgreSQL streaming standby). The
bulk readers — list pages, search, dashboards, exports, REST list calls — wrap their reads
in `replica_reads(ctx)`; everything else (record pages, saves and what a save reads inside
its transaction, triggers, permissions) stays on the primary.

Read-your-own-writes: a replica lags by a little, so a user who has just saved reads from
the primary for `sticky_seconds` after their last change (changes relayed from other
replicas count too, so a save through the API on process A followed by a list on process
B is still fresh). A replica that cannot be reached is skipped for a few seconds and its
reads go to the primary: the replica is never a single point of failure.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

STICKY_SECONDS = 10.0
RETRY_SECONDS = 5.0

_use_replica: ContextVar[bool] = ContextVar("hotcrm_use_replica", default=False)


class ReadRouting:
    def __init__(self, primary: Engine, replica: Engine | None = None, *,
                 sticky_seconds: float = STICKY_SECONDS,
                 on_read: Any = None) -> None:
        self.primary, self.replica = primary, replica
        self.sticky_seconds = sticky_seconds
        self._last_write: dict[str, float] = {}
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._on_read = on_read  # metrics hook: called with "primary" | "replica"

    # -- who wrote recently ------------------------------------------------------------------
    def wrote(self, user_id: str | None) -> None:
        if self.replica is None or not user_id:
            return
        now = time.monotonic()
        with self._lock:
            self._last_write[user_id] = now
            if len(self._last_write) > 10_000:  # forget users whose window has passed
                horizon = now - self.sticky_seconds
                self._last_write = {u: t for u, t in self._last_write.items() if t > horizon}

    def recently_wrote(self, user_id: str | None) -> bool:
        if not user_id:
            return False
        at = self._last_write.get(user_id)
        return at is not None and time.monotonic() - at < self.sticky_seconds

    # -- choosing ----------------------------------------------------------------------------
    @contextmanager
    def replica_reads(self, user_id: str | None) -> Iterator[None]:
        """Reads inside this block may go to the replica (unless `user_id` just saved)."""
        wanted = self.replica is not None and not self.recently_wrote(user_id)
        token = _use_replica.set(wanted)
        try:
            yield
        finally:
            _use_replica.reset(token)

    @contextmanager
    def connect(self, primary_read_engine: Engine) -> Iterator[Connection]:
        """A connection for one read outside a transaction."""
        replica = self.replica
        if replica is not None and _use_replica.get() and time.monotonic() >= self._down_until:
            try:
                conn = replica.connect()
            except (OperationalError, DBAPIError) as exc:
                self._down_until = time.monotonic() + RETRY_SECONDS
                log.warning("read replica unavailable (%s); reading from the primary for "
                            "%.0f s", exc.__class__.__name__, RETRY_SECONDS)
            else:
                self._count("replica")
                with conn:
                    yield _autocommit(conn)
                return
        self._count("primary")
        with primary_read_engine.connect() as conn:
            yield _autocommit(conn)

    def _count(self, source: str) -> None:
        if self._on_read is not None:
            self._on_read(source)


def _autocommit(conn: Connection) -> Connection:
    """On PostgreSQL, this connection in autocommit until it goes back to the pool (no
    BEGIN/ROLLBACK per read). Set per connection rather than with an engine-wide
    `execution_options(isolation_level=...)`: that adds a connect listener, and any
    listener makes SQLAlchemy dispatch every statement event on that engine (~20 µs of a
    read's CPU, measured)."""
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


def replica_engine(url: str) -> Engine:
    """An engine for the replica: reads only, each in autocommit (`ReadRouting.connect`)."""
    from app.storage.db import make_engine

    return make_engine(url)
