"""Wiring: settings → engine → metadata registry → schema sync → ObjectQL service."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select

from app.auth.identity import Identities
from app.auth.login import Authenticator
from app.config import Settings, get_settings
from app.metadata import MetadataError, Registry, load_registry
from app.objectql.security import SecurityPolicy
from app.objectql.service import ObjectQL
from app.security import PermissionPolicy
from app.storage.db import make_engine, optimize
from app.storage.system_tables import MetadataVersion
from app.triggers import load_all as load_triggers

log = logging.getLogger(__name__)
VERSIONS = MetadataVersion.__table__  # type: ignore[attr-defined]


@dataclass
class Services:
    settings: Settings
    engine: Engine
    ql: ObjectQL
    identities: Identities
    authenticator: Authenticator
    secret_key: str

    def reload_metadata(self) -> Registry:
        """Load metadata again; on any problem raise MetadataError and keep the live one."""
        registry = load_registry(self.settings.metadata_dir)
        self.ql.apply_registry(registry)
        record_metadata_version(self.engine, registry)
        return registry


def record_metadata_version(engine: Engine, registry: Registry,
                            user_id: str | None = None) -> None:
    digest = registry.digest()
    with engine.begin() as conn:
        latest = conn.execute(select(VERSIONS.c.digest).order_by(VERSIONS.c.id.desc())
                              .limit(1)).scalar()
        if latest != digest:
            conn.execute(insert(VERSIONS).values(
                digest=digest, loaded_at=datetime.now(UTC).replace(tzinfo=None),
                loaded_by=user_id,
                objects={o.name: o.source_file for o in registry.business_objects}))


def build_services(settings: Settings | None = None, *, database_url: str | None = None,
                   metadata_dir: Path | str | None = None,
                   security: SecurityPolicy | None = None) -> Services:
    """Create everything a process needs; raises MetadataError on broken metadata."""
    settings = settings or get_settings()
    url = database_url or settings.database_url
    if metadata_dir is not None:
        settings = Settings(database_url=url, metadata_dir=Path(metadata_dir))
    registry = load_registry(settings.metadata_dir)
    load_triggers()
    engine = make_engine(url, synchronous_commit=settings.synchronous_commit)
    ql = ObjectQL(engine, registry, security=security or PermissionPolicy())
    report = ql.sync_schema()
    if report.created_tables:
        log.info("created tables: %s", ", ".join(report.created_tables))
    for what, names in (("created", report.created_indexes), ("rebuilt", report.rebuilt_indexes),
                        ("dropped", report.dropped_indexes)):
        if names:
            log.info("%s indexes: %s", what, ", ".join(names))
    record_metadata_version(engine, registry)
    optimize(engine)
    limiter_storage = settings.redis_url or "memory://"
    return Services(settings, engine, ql, Identities(ql), Authenticator(ql, limiter_storage),
                    settings.secret_key)


__all__ = ["MetadataError", "Services", "build_services"]
