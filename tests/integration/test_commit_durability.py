"""PostgreSQL commits: acknowledged from the WAL buffer by default (the same trade SQLite's
WAL + synchronous=NORMAL makes), waiting for the disk when HOTCRM_SYNCHRONOUS_COMMIT=on."""

from __future__ import annotations

import pytest

from app.storage.db import make_engine


def _setting(url: str, value: str | None) -> str:
    engine = make_engine(url, synchronous_commit=value)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SHOW synchronous_commit").scalar_one())
    finally:
        engine.dispose()


def test_commit_setting_reaches_every_connection(postgres_url: str) -> None:
    assert _setting(postgres_url, "off") == "off"
    assert _setting(postgres_url, "on") == "on"


def test_services_default_to_wal_buffer_commits(services) -> None:
    if services.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's equivalent is synchronous=NORMAL (app/storage/db.py)")
    with services.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "off"


def test_unknown_commit_setting_is_refused(postgres_url: str) -> None:
    with pytest.raises(ValueError, match="synchronous_commit"):
        make_engine(postgres_url, synchronous_commit="sometimes")
