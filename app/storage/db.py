"""Engine creation with the pragmas and pool settings each backend needs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

SYNCHRONOUS_COMMIT = ("on", "off", "local", "remote_write", "remote_apply")


def make_engine(url: str, *, synchronous_commit: str | None = None,
                idle_ping_seconds: float | None = None, **kwargs: Any) -> Engine:
    """`synchronous_commit` (PostgreSQL): see HOTCRM_SYNCHRONOUS_COMMIT; None keeps the
    server's setting. `idle_ping_seconds`: see IDLE_PING_SECONDS."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if synchronous_commit is not None and parsed.get_backend_name() == "postgresql":
        if synchronous_commit not in SYNCHRONOUS_COMMIT:
            raise ValueError(f"synchronous_commit must be one of "
                             f"{', '.join(SYNCHRONOUS_COMMIT)}, not {synchronous_commit!r}")
        # A session setting sent with the connection start-up: no extra round trip.
        connect_args = kwargs.setdefault("connect_args", {})
        options = connect_args.get("options", "")
        connect_args["options"] = f"{options} -c synchronous_commit={synchronous_commit}".strip()
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    if parsed.get_driver_name() == "psycopg":
        _let_psycopg_cache_long_statements()
        from app.storage.pg_cursor import LazyDescriptionCursor
        kwargs.setdefault("connect_args", {}).setdefault("cursor_factory",
                                                         LazyDescriptionCursor)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        idle = IDLE_PING_SECONDS if idle_ping_seconds is None else idle_ping_seconds

        def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
            _ping_if_idle(dbapi_connection, record, idle)

        event.listen(engine, "checkout", ping_if_idle)
        event.listen(engine, "checkin", _note_checkin)
    return engine


def _let_psycopg_cache_long_statements() -> None:
    """psycopg turns a query's `%(name)s` placeholders into `$n` with a regex, and caches
    the result only for queries under 4,096 characters and 50 parameters. A save's one
    statement (the record, its audit entry and its rollups' upserts, ~60 parameters) was
    parsed again on every save (~0.3 ms of CPU); the statements ObjectQL sends are few
    and reused, so a larger bound costs little memory (the cache keeps 128)."""
    try:
        from psycopg import _queries
    except ImportError:  # pragma: no cover - another driver, or psycopg moved it
        return
    if isinstance(getattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", None), int):
        _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, 32768)
    if isinstance(getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", None), int):
        _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, 512)


# A connection that sat in the pool longer than this is pinged before use. SQLAlchemy's
# pool_pre_ping pings on *every* checkout: one extra round trip per read, half the time of
# an indexed page on PostgreSQL. A connection used a moment ago is alive as far as a ping
# could tell; idle ones are where server restarts and timeouts strike. One that breaks
# in between fails that one statement, and the disconnect empties the pool.
IDLE_PING_SECONDS = 2.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["hotcrm_checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, idle_seconds: float) -> None:
    idle_since = record.info.get("hotcrm_checked_in")
    if idle_since is not None and time.monotonic() - idle_since < idle_seconds:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        if not getattr(dbapi_connection, "autocommit", True):
            dbapi_connection.rollback()  # end the ping's implicit transaction
    except Exception as exc:
        # The pool discards this connection and checks out (or opens) another.
        raise DisconnectionError(f"stale pooled connection: {exc}") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # We issue BEGIN ourselves (see _sqlite_begin), so the driver must not.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_begin(conn: Any) -> None:
    """Writes take SQLite's write lock up front (BEGIN IMMEDIATE), so two concurrent
    saves queue on busy_timeout instead of failing to upgrade a read lock. Reads outside
    a save (`hotcrm_read`) run in autocommit, each statement its own snapshot, as on
    PostgreSQL; everything else gets a plain BEGIN."""
    options = conn.get_execution_options()
    if options.get("hotcrm_read"):
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("hotcrm_write") else "BEGIN")


def analyze(engine: Engine, tables: list[str] | None = None) -> None:
    """Refresh the planner's statistics after a bulk load (all tables, or `tables`).

    On PostgreSQL this is `VACUUM (ANALYZE)`: besides statistics it sets the visibility
    map, without which counts and board totals cannot be index-only scans (autovacuum
    gets there eventually, minutes after the load). VACUUM cannot run inside a
    transaction, so it runs on an autocommit connection.
    """
    if engine.dialect.name == "postgresql":
        targets = ", ".join(f'"{t}"' for t in tables or [])
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Rows of commits still in the WAL buffer (synchronous_commit=off) cannot be
            # marked all-visible yet; one synchronous commit flushes every commit before it.
            conn.exec_driver_sql("SET synchronous_commit = on")
            conn.exec_driver_sql("SELECT txid_current()")
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {targets}".rstrip())
            conn.exec_driver_sql("RESET synchronous_commit")
        return
    with engine.begin() as conn:
        if tables:
            for table in tables:
                conn.exec_driver_sql(f'ANALYZE "{table}"')
        else:
            conn.exec_driver_sql("ANALYZE")


def optimize(engine: Engine) -> None:
    """On startup: SQLite gathers statistics for tables that changed a lot since."""
    if is_sqlite(engine):
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA optimize")
