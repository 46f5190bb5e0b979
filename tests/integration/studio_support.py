"""Fresh databases for metadata-studio tests: a metadata change must never leak into the
shared per-backend services other tests use, so each test gets its own database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core import Services, build_services
from tests.conftest import METADATA, _missing


@contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database on `backend`, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'studio_{uuid.uuid4().hex[:6]}.db'}"
        return
    admin_url = os.environ.get("HOTCRM_TEST_DATABASE_URL")
    if not admin_url:
        _missing("PostgreSQL (HOTCRM_TEST_DATABASE_URL)")
    name = f"hotcrm_studio_{uuid.uuid4().hex[:10]}"
    admin = create_engine(str(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(str(admin_url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def studio_services(url: str, *, redis_url: str | None = None) -> Iterator[Services]:
    from app.config import Settings

    settings = Settings(database_url=url, metadata_dir=METADATA, redis_url=redis_url)
    services = build_services(settings)
    try:
        yield services
    finally:
        services.close()


def region_field() -> dict[str, object]:
    return {"type": "select", "label": "Region",
            "options": [{"value": "emea", "label": "EMEA", "color": "blue"},
                        {"value": "amer", "label": "Americas"},
                        {"value": "apac", "label": "Asia Pacific"}]}


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def svc(backend: str, tmp_path: Path) -> Iterator[Services]:
    """Services on a database of their own (per test, per backend)."""
    with fresh_database(backend, tmp_path) as url, studio_services(url) as services:
        yield services
