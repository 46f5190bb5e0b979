"""Wiring: settings → engine → metadata registry → schema sync → ObjectQL service."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select

from app.auth.identity import Identities
from app.auth.login import Authenticator
from app.auth.revocation import MemoryRevocations, RevocationStore
from app.auth.revocation_redis import RedisRevocations
from app.config import Settings, get_settings
from app.events_redis import RedisRelay, channel_for, namespace_for
from app.metadata import MetadataError, Registry, load_registry
from app.metadata.propagation import MetadataWatcher, metadata_channel
from app.metadata.studio import MetadataStudio
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
    # Revoked session/token ids (logout). In-process for now; a Redis store plugs in here.
    revocations: RevocationStore = field(default_factory=MemoryRevocations)
    relay: RedisRelay | None = None
    # Versioned metadata changes (app/metadata/studio.py): the studio, REST and CLI use it.
    studio: MetadataStudio = field(init=False)
    # Adopts versions saved by other processes; started by the server (start_watching).
    metadata_watch: MetadataWatcher | None = None

    def __post_init__(self) -> None:
        self.studio = MetadataStudio(self)

    def start_watching(self) -> None:
        """Serve metadata versions saved by other processes within 2 s (server start)."""
        if self.metadata_watch is not None:
            self.metadata_watch.start()

    def close(self) -> None:
        if self.metadata_watch is not None:
            self.metadata_watch.close()
        if self.relay is not None:
            self.relay.close()
        self.engine.dispose()

    def reload_metadata(self) -> Registry:
        """Load metadata again (the files, with the studio's live version over them); on
        any problem raise MetadataError and keep the live one."""
        registry = self.studio.reload_files()
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
    services = Services(settings, engine, ql, Identities(ql),
                        Authenticator(ql, limiter_storage, settings.login_attempts_per_address),
                        settings.secret_key)
    # Baseline + the newest studio version (app/metadata/studio.py) is what goes live.
    services.studio.load_live()
    services.metadata_watch = MetadataWatcher(
        services.studio, settings.redis_url,
        metadata_channel(namespace_for(url)) if settings.redis_url else None)
    if settings.redis_url:
        # Changes made by other processes reach this one's caches and open pages; a
        # logout on any process ends the session on all of them.
        services.relay = RedisRelay(ql.events, settings.redis_url, channel_for(url)).start()
        services.revocations = RedisRevocations(settings.redis_url, namespace_for(url))
    return services


__all__ = ["MetadataError", "Services", "build_services"]
