"""PostgreSQL connections are pinged only after sitting idle in the pool (app/storage/db.py):
a connection the server dropped while idle is replaced without the caller noticing; one
dropped between two back-to-back uses fails one statement and the pool heals at once."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app.storage.db import make_engine


@pytest.fixture
def pg_admin() -> Iterator[Engine]:
    url = os.environ.get("HOTCRM_TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL (HOTCRM_TEST_DATABASE_URL) not configured")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


def _kill_others(admin: Engine, tag: str) -> int:
    with admin.connect() as conn:
        return len(conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = :tag"), {"tag": tag}).all())


def _engine(admin: Engine, tag: str, idle: float) -> Engine:
    url = make_url(str(admin.url.render_as_string(hide_password=False)))
    return make_engine(url.render_as_string(hide_password=False), idle_ping_seconds=idle,
                       connect_args={"application_name": tag}, pool_size=1, max_overflow=0)


def test_a_connection_dropped_while_idle_is_replaced(pg_admin: Engine) -> None:
    tag = f"hotcrm-ping-{uuid.uuid4().hex[:8]}"
    engine = _engine(pg_admin, tag, idle=0.0)  # every checkout counts as idle here
    try:
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert _kill_others(pg_admin, tag) == 1
        with engine.connect() as conn:  # the ping finds it dead; a new one answers
            second = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
    finally:
        engine.dispose()


def test_a_connection_dropped_between_quick_uses_fails_once(pg_admin: Engine) -> None:
    tag = f"hotcrm-ping-{uuid.uuid4().hex[:8]}"
    engine = _engine(pg_admin, tag, idle=3600.0)  # never idle long enough to be pinged
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert _kill_others(pg_admin, tag) == 1
        with pytest.raises(DBAPIError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        with engine.connect() as conn:  # the disconnect emptied the pool: fresh and fine
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
