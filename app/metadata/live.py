"""Making a metadata version live in this process: check, store, sync, swap.

The half of the metadata studio (app/metadata/studio.py) that turns documents into the
live registry: `_commit` (a saved change), `refresh` (a version another process saved)
and `load_live` (start-up). The studio's document API (reading, checking, saving,
reverting) sits on top of this class.

An apply runs in the thread of the admin's request while every other request keeps
being served, on the same GIL. So it builds no more than the change needs: object
definitions whose document did not change stay the very same instances (`_build`), their
tables are carried over (build_schema's `previous`), and ObjectQL keeps the plans it
cached for them (ObjectQL.apply_registry). Building every table and dropping every plan
on each change held the GIL for tens of milliseconds and fed the garbage collector
~10k objects a change, whose full passes paused every request (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from app.events import RESYNC, ChangeEvent
from app.metadata import data_safety, documents, versions
from app.metadata.documents import Documents
from app.metadata.loader import MetadataError, MetadataProblem, load_registry
from app.metadata.models import ObjectDef
from app.metadata.registry import Registry
from app.objectql.context import Context
from app.objectql.errors import Conflict, ValidationError
from app.storage.schema import build_schema
from app.storage.sync import sync_schema

if TYPE_CHECKING:
    from app.core import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VersionInfo:
    """One metadata version. Number 0 is the shipped YAML baseline."""

    number: int
    author: str | None  # user id; None for the baseline and for command-line changes
    at: datetime | None
    comment: str
    summary: str  # one line: what changed ("account: added field region")
    author_name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "author": self.author, "author_name": self.author_name,
                "at": self.at.isoformat() if self.at else None, "comment": self.comment,
                "summary": self.summary}


class MetadataConflict(Conflict):
    """Another admin saved first: `base_version` is no longer the live version.

    `current_version` is the live number, `their_diff` the unified diff of what was
    saved since `base_version` (so the second admin sees what they would overwrite).
    """

    code = "metadata_conflict"

    def __init__(self, base_version: int, current_version: int, their_diff: str):
        super().__init__(
            f"metadata changed since version {base_version}: version {current_version} is "
            "live now; reload and apply your change again",
            base_version=base_version, current_version=current_version,
            their_diff=their_diff)
        self.base_version = base_version
        self.current_version = current_version
        self.their_diff = their_diff


class MetadataRefused(ValidationError):
    """The change fails the loader's checks, or would lose or corrupt stored data.

    `problems` holds the same MetadataProblem messages `hotcrm check-metadata` prints.
    """

    code = "metadata_refused"

    def __init__(self, problems: list[MetadataProblem]):
        details = [{"field": ".".join(p for p in (pr.object, pr.field) if p),
                    "message": pr.message, "where": str(pr)} for pr in problems]
        super().__init__("metadata refused: " + "; ".join(str(p) for p in problems), details)
        self.problems = problems

    @classmethod
    def from_error(cls, error: MetadataError) -> MetadataRefused:
        return cls(error.problems)


class LiveMetadata:
    """The live version of one process and the machinery that changes it."""

    def __init__(self, services: Services):
        self.services = services
        self._lock = threading.RLock()
        self._number = 0
        self._overlay: Documents = documents.empty()
        self._baseline: Documents | None = None
        self._baseline_texts: dict[str, str] = {}
        self._listeners: list[Callable[[int], None]] = []
        # Set by app/metadata/propagation.py: tells the other processes about a version.
        self.announce: Callable[[int], None] | None = None

    def version(self) -> int:
        """The live metadata version in this process (0 = the YAML baseline)."""
        return self._number

    def baseline(self) -> Documents:
        if self._baseline is None:
            self._baseline, self._baseline_texts = documents.read_baseline(self._directory)
        return self._baseline

    def subscribe(self, listener: Callable[[int], None]) -> Callable[[], None]:
        """`listener(version)` after a version became live here (saved or received)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- applying ------------------------------------------------------------------------
    def load_live(self) -> None:
        """At startup: the baseline plus the newest stored version becomes live (with a
        schema sync: this deployment's YAML may be newer than the version)."""
        stored = versions.latest_or_none(self._engine)
        if stored is None:
            return
        with self._lock:
            try:
                registry = self._build_live(stored.documents)
            except MetadataRefused as refused:
                # The shipped YAML changed under the studio's documents: serve the YAML
                # (no data is lost, studio fields stay in their columns) and say why.
                log.error("metadata version %d does not load over the shipped YAML; "
                          "serving the YAML. Problems:\n%s", stored.number,
                          "\n".join(str(p) for p in refused.problems))
                self._number, self._overlay = stored.number, stored.documents
                return
            self.services.ql.apply_registry(registry)
            self._number, self._overlay = stored.number, stored.documents

    def refresh(self) -> bool:
        """Adopt the newest stored version if another process saved one; True if so.
        Cheap when nothing changed (one `max(number)` query)."""
        if versions.latest_number(self._engine) == self._number:
            return False
        with self._lock:
            # Again under the lock: a save in this process may have won meanwhile.
            latest = versions.latest_number(self._engine)
            if latest == self._number:
                return False
            stored = versions.get(self._engine, latest) if latest else None
            if stored is None and latest:
                return False
            overlay = stored.documents if stored else documents.empty()
            try:
                registry = self._build_live(overlay)
            except MetadataRefused:
                log.exception("metadata version %d from another process does not load", latest)
                return False
            # The process that saved it already synced the schema.
            self.services.ql.apply_registry(registry, sync=False)
            self._number, self._overlay = latest, overlay
        self._after_apply(latest)
        return True

    def _commit(self, ctx: Context, overlay: Documents, base_version: int, comment: str, *,
                safety_file: str | None = None, summary_prefix: str = "") -> VersionInfo:
        live = documents.merged(self.baseline(), self._overlay)
        new = documents.merged(self.baseline(), overlay)
        if not documents.changed_names(live, new):
            raise MetadataRefused([MetadataProblem(safety_file or "metadata", None, None, None,
                                                   "nothing changed")])
        registry = self._build_live(overlay)
        ql = self.services.ql
        touched = {name for kind, name in documents.changed_names(live, new)
                   if kind == "objects"}
        problems = data_safety.data_problems(self._engine, ql.registry, registry,
                                             safety_file or "metadata", touched)
        if problems:
            raise MetadataRefused(problems)
        number = base_version + 1
        diff = documents.unified(live, new, f"version {base_version}", f"version {number}")
        summary = summary_prefix + documents.summarize(live, new)
        # The database first (additive only: harmless if the version is then lost to
        # another process), the version row next, the registry swap last.
        schema = build_schema(registry, self._engine.dialect.name, (ql.registry, ql.schema))
        # SQLite: take the write lock up front (BEGIN IMMEDIATE), waiting for saves in
        # flight, instead of failing to upgrade a read lock while requests write.
        writer = self._engine.execution_options(hotcrm_write=True)
        data_safety.convert_columns(writer, ql.registry, registry, number, touched)
        report = sync_schema(writer, schema, only=touched)
        try:
            stored = versions.append(writer, number=number, base_version=base_version,
                                     author=ctx.user_id, author_name=ctx.name,
                                     comment=comment, summary=summary, documents=overlay,
                                     diff=diff)
        except versions.NumberTaken:
            self.refresh()
            raise self._conflict(base_version) from None
        ql.apply_registry(registry, schema=schema, sync=False, report=report)
        self._number, self._overlay = number, overlay
        self._after_apply(number)
        if self.announce is not None:
            self.announce(number)
        return to_version_info(stored)

    def _after_apply(self, number: int) -> None:
        # Caches built from the old metadata: ObjectQL's plans of the changed objects went
        # with the swap (those of the objects left alone stay, see apply_registry); the
        # OpenAPI document is built per request; dashboards and open pages drop what
        # they hold on a resync event (as after a lost Redis connection).
        self.services.ql.events.deliver(ChangeEvent(RESYNC, "", "resync", None, remote=True))
        for listener in list(self._listeners):
            try:
                listener(number)
            except Exception:
                log.exception("metadata listener failed")

    @property
    def _engine(self) -> Engine:
        return self.services.engine

    @property
    def _directory(self) -> Path:
        return Path(self.services.settings.metadata_dir)

    def _file(self, kind: str, name: str) -> str:
        return str(self._directory / documents.file_name(kind, name))

    def _check_base(self, base_version: int) -> None:
        self.refresh()
        if base_version != self._number:
            raise self._conflict(base_version)

    def _conflict(self, base_version: int) -> MetadataConflict:
        since = versions.listing(self._engine, after=base_version)
        their = "".join(f"# version {v.number} by {v.author_name or v.author or 'cli'}: "
                        f"{v.comment or v.summary}\n{v.diff}" for v in since)
        return MetadataConflict(base_version, self._number, their)

    def _build(self, overlay: Documents) -> Registry:
        try:
            return load_registry(self._directory, documents.to_overlay(overlay))
        except MetadataError as exc:
            raise MetadataRefused.from_error(exc) from None

    def _build_live(self, overlay: Documents) -> Registry:
        """`_build`, keeping the live definitions of the objects the change leaves alone
        (see the module docstring)."""
        return keep_unchanged(self.services.ql.registry, self._build(overlay))


def keep_unchanged(live: Registry, new: Registry) -> Registry:
    """`new` with the live ObjectDef (and permission set) instance wherever the
    definition is unchanged. The loader builds every object from its document on each
    change; identity is what tells the schema and ObjectQL's plan caches which tables
    and plans are still good. Compared by their dumped definition (every key of the
    document; the compiled expressions follow from it)."""
    objects = {name: _same(live.get(name), obj) for name, obj in new.items()}
    permissions = {role: old if old is not None and old.model_dump() == perms.model_dump()
                   else perms
                   for role, perms in new.permissions.items()
                   for old in (live.permissions.get(role),)}
    return Registry(objects, permissions, new.dashboards)


def _same(old: ObjectDef | None, new: ObjectDef) -> ObjectDef:
    if old is None or old.source_file != new.source_file or old.system != new.system \
            or old.model_dump() != new.model_dump():
        return new
    return old


def to_version_info(row: versions.StoredVersion) -> VersionInfo:
    return VersionInfo(row.number, row.author, row.at, row.comment, row.summary,
                       row.author_name)

