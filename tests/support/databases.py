"""Scratch PostgreSQL databases for tests that need their own (plans, statistics,
studio applies): created on the test server, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, make_url, text


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database named `prefix`_<random>; skipped (or
    failed under HOTCRM_REQUIRE_SERVICES=1) without HOTCRM_TEST_DATABASE_URL."""
    admin_url = os.environ.get("HOTCRM_TEST_DATABASE_URL")
    if not admin_url:
        if os.environ.get("HOTCRM_REQUIRE_SERVICES") == "1":
            pytest.fail("PostgreSQL is required (HOTCRM_REQUIRE_SERVICES=1)")
        pytest.skip("PostgreSQL (HOTCRM_TEST_DATABASE_URL) not configured")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
