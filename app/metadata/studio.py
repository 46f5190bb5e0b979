"""The metadata studio service: versioned, checked, live changes to object metadata.

The shipped YAML under `metadata/` is the baseline (version 0). Every change made
through this service (REST, CLI, the /admin pages) is stored as a numbered version in
the database holding the full documents of every object, permission set and dashboard
the studio has changed, plus a readable diff; the live registry is always "baseline + latest
version". A change passes the same loader and checks as `hotcrm check-metadata` before
anything is applied, so broken metadata never becomes live.

Reachable as `runtime.services().studio`.
"""

from __future__ import annotations

import copy
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
from app.metadata.registry import Registry
from app.metadata.system_objects import ROLES, system_objects
from app.objectql.context import Context
from app.objectql.errors import Conflict, NotFound, PermissionDenied, ValidationError
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


class MetadataStudio:
    """Versioned metadata changes for one process (see the module docstring)."""

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

    # -- reading ---------------------------------------------------------------------------
    def version(self) -> int:
        """The live metadata version in this process (0 = the YAML baseline)."""
        return self._number

    def baseline(self) -> Documents:
        if self._baseline is None:
            self._baseline, self._baseline_texts = documents.read_baseline(self._directory)
        return self._baseline

    def baseline_text(self, kind: str, name: str) -> str | None:
        """The shipped file's own text (with its comments), for export."""
        self.baseline()
        return self._baseline_texts.get(documents.file_name(kind, name))

    def reload_files(self) -> Registry:
        """The shipped files read again, with the live version's documents over them
        (Services.reload_metadata); raises MetadataError, changes nothing by itself."""
        self._baseline = None
        overlay = documents.to_overlay(self._overlay) if self._number else None
        return load_registry(self._directory, overlay)

    def overlay(self) -> Documents:
        """The documents the studio has replaced or added (live version)."""
        return copy.deepcopy(self._overlay)

    def live_documents(self) -> Documents:
        return copy.deepcopy(documents.merged(self.baseline(), self._overlay))

    def object_names(self) -> list[str]:
        return sorted(documents.merged(self.baseline(), self._overlay)["objects"])

    def object_document(self, name: str) -> dict[str, Any]:
        """The live object `name` as its YAML-shaped dict (the round-trip document).
        Raises NotFound for an unknown object."""
        found = documents.merged(self.baseline(), self._overlay)["objects"].get(name)
        if found is None:
            raise NotFound(f"unknown object '{name}'")
        return copy.deepcopy(found)

    def permissions_document(self, role: str) -> dict[str, Any]:
        """The live permission set of `role` as its YAML-shaped dict."""
        found = documents.merged(self.baseline(), self._overlay)["permissions"].get(role)
        if found is None:
            if role not in ROLES:
                raise NotFound(f"unknown role '{role}'")
            return {"role": role, "objects": {}}
        return copy.deepcopy(found)

    def dashboard_names(self) -> list[str]:
        return sorted(documents.merged(self.baseline(), self._overlay)["dashboards"])

    def dashboard_document(self, name: str) -> dict[str, Any]:
        """The live dashboard `name` as its YAML-shaped dict; NotFound when unknown."""
        found = documents.merged(self.baseline(), self._overlay)["dashboards"].get(name)
        if found is None:
            raise NotFound(f"unknown dashboard '{name}'")
        return copy.deepcopy(found)

    def check_dashboard(self, name: str, document: Any) -> list[MetadataProblem]:
        """The loader's problems with `document` as dashboard `name` (nothing applied)."""
        try:
            self._build(self._with_document("dashboards", name, document))
        except MetadataRefused as refused:
            return refused.problems
        return []

    def check_dashboard_text(self, name: str, text: str) -> list[MetadataProblem]:
        """The loader's problems with YAML `text` as dashboard `name`, with line numbers
        of that text (the studio's YAML editor shows them next to its lines)."""
        overlay = documents.to_overlay(self._overlay)
        overlay.dashboards[name] = text
        try:
            load_registry(self._directory, overlay)
        except MetadataError as exc:
            return exc.problems
        return []

    def hidden_fields(self, name: str) -> dict[str, dict[str, Any]]:
        """Fields of `name` removed in the studio whose column (and data) is kept:
        {field name: its last definition}. Putting one back restores its data."""
        live = (self.object_document(name).get("fields") or {}) \
            if name in self.object_names() else {}
        seen: dict[str, dict[str, Any]] = {}
        history = [self.baseline(), *versions.all_documents(self._engine)]
        for docs in history:
            doc = (docs.get("objects") or {}).get(name) or {}
            for field_name, spec in (doc.get("fields") or {}).items():
                if isinstance(spec, dict):
                    seen[field_name] = spec
        columns = data_safety.table_columns(self._engine, name)
        return {f: spec for f, spec in seen.items() if f not in live and f in columns}

    def check_object(self, name: str, document: dict[str, Any]) -> list[MetadataProblem]:
        """The loader's problems with `document` as the new definition of `name`, plus
        the data-safety problems (type changes, unique constraints). Nothing is applied;
        an empty list means save_object would accept it."""
        try:
            overlay = self._with_document("objects", name, document)
            registry = self._build(overlay)
            problems = data_safety.data_problems(self._engine, self.services.ql.registry,
                                                 registry, self._file("objects", name),
                                                 {name})
        except MetadataRefused as refused:
            return refused.problems
        return problems

    def versions(self, limit: int = 100) -> list[VersionInfo]:
        """Newest first; the last entry is the baseline (number 0)."""
        rows = versions.listing(self._engine, limit)
        result = [_info(row) for row in rows]
        if len(result) < limit:
            result.append(VersionInfo(0, None, None, "shipped YAML (metadata/)", "baseline"))
        return result

    def version_info(self, number: int) -> VersionInfo:
        """One version (NotFound for an unknown number)."""
        if number == 0:
            return VersionInfo(0, None, None, "shipped YAML (metadata/)", "baseline")
        stored = versions.get(self._engine, number)
        if stored is None:
            raise NotFound(f"unknown metadata version {number}")
        return _info(stored)

    def diff(self, number: int) -> str:
        """A readable unified YAML diff of version `number` against the one before."""
        if number == 0:
            return ""
        stored = versions.get(self._engine, number)
        if stored is None:
            raise NotFound(f"unknown metadata version {number}")
        return stored.diff

    def subscribe(self, listener: Callable[[int], None]) -> Callable[[], None]:
        """`listener(version)` after a version became live here (saved or received)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- changing (admins only) ---------------------------------------------------------
    def save_object(self, ctx: Context, name: str, document: dict[str, Any], *,
                    base_version: int, comment: str = "") -> VersionInfo:
        """Create or replace object `name` with `document` (its YAML shape) as a new
        version, applied live. Raises PermissionDenied (not an admin), MetadataConflict
        (`base_version` is not live any more), MetadataRefused (checks failed)."""
        _require_admin(ctx)
        with self._lock:
            self._check_base(base_version)
            overlay = self._with_document("objects", name, document)
            return self._commit(ctx, overlay, base_version, comment,
                                safety_file=self._file("objects", name))

    def save_permissions(self, ctx: Context, role: str, document: dict[str, Any], *,
                         base_version: int, comment: str = "") -> VersionInfo:
        """Replace the permission set of `role`; same rules as save_object."""
        _require_admin(ctx)
        with self._lock:
            self._check_base(base_version)
            overlay = self._with_document("permissions", role, document)
            return self._commit(ctx, overlay, base_version, comment)

    def save_dashboard(self, ctx: Context, name: str, document: dict[str, Any], *,
                       base_version: int, comment: str = "") -> VersionInfo:
        """Create or replace dashboard `name`; same rules as save_object. Open dashboard
        pages and the data endpoints serve the new definition at once."""
        _require_admin(ctx)
        with self._lock:
            self._check_base(base_version)
            overlay = self._with_document("dashboards", name, document)
            return self._commit(ctx, overlay, base_version, comment,
                                safety_file=self._file("dashboards", name))

    def save_documents(self, ctx: Context, changed: Documents, *, base_version: int,
                       comment: str = "") -> VersionInfo:
        """Several documents as one version (`hotcrm metadata import`)."""
        _require_admin(ctx)
        with self._lock:
            self._check_base(base_version)
            overlay = copy.deepcopy(self._overlay)
            live = documents.merged(self.baseline(), self._overlay)
            for kind, docs in changed.items():
                for name, doc in docs.items():
                    if live.get(kind, {}).get(name) != documents.normalized(doc):
                        overlay = self._with_document(kind, name, doc, overlay)
            return self._commit(ctx, overlay, base_version, comment)

    def revert(self, ctx: Context, number: int, *, comment: str = "") -> VersionInfo:
        """Make the metadata of version `number` live again, as a new version. Fields
        hidden since then come back with their data."""
        _require_admin(ctx)
        with self._lock:
            self.refresh()
            if number == 0:
                target = documents.empty()
            else:
                stored = versions.get(self._engine, number)
                if stored is None:
                    raise NotFound(f"unknown metadata version {number}")
                target = stored.documents
            return self._commit(ctx, copy.deepcopy(target), self._number,
                                comment or f"revert to version {number}",
                                summary_prefix=f"reverted to version {number}: ")

    # -- applying ------------------------------------------------------------------------
    def load_live(self) -> None:
        """At startup: the baseline plus the newest stored version becomes live (with a
        schema sync: this deployment's YAML may be newer than the version)."""
        stored = versions.latest_or_none(self._engine)
        if stored is None:
            return
        with self._lock:
            try:
                registry = self._build(stored.documents)
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
                registry = self._build(overlay)
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
        registry = self._build(overlay)
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
        schema = build_schema(registry, self._engine.dialect.name)
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
        return _info(stored)

    def _after_apply(self, number: int) -> None:
        # Caches built from the old metadata: ObjectQL's plans went with the swap; the
        # OpenAPI document is built per request; dashboards and open pages drop what
        # they hold on a resync event (as after a lost Redis connection).
        self.services.ql.events.deliver(ChangeEvent(RESYNC, "", "resync", None, remote=True))
        for listener in list(self._listeners):
            try:
                listener(number)
            except Exception:
                log.exception("metadata listener failed")

    # -- helpers ---------------------------------------------------------------------------
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

    def _with_document(self, kind: str, name: str, document: Any,
                       overlay: Documents | None = None) -> Documents:
        file = self._file(kind, name)
        if not isinstance(document, dict):
            raise MetadataRefused([MetadataProblem(file, None, None, None,
                                                   "the document must be a mapping of keys")])
        key = "role" if kind == "permissions" else "name"
        doc = documents.normalized({key: name, **document} if key not in document
                                   else document)
        if kind == "objects" and name in system_objects():
            raise MetadataRefused([MetadataProblem(file, None, name, None, f"'{name}' is a "
                                                   "built-in system object")])
        result = copy.deepcopy(self._overlay if overlay is None else overlay)
        result.setdefault(kind, {})[name] = doc
        return result

    def _build(self, overlay: Documents) -> Registry:
        try:
            return load_registry(self._directory, documents.to_overlay(overlay))
        except MetadataError as exc:
            raise MetadataRefused.from_error(exc) from None


def _require_admin(ctx: Context) -> None:
    if not (ctx.is_system or ctx.role == "admin"):
        raise PermissionDenied(f"your role ({ctx.role}) may not change metadata")


def _info(row: versions.StoredVersion) -> VersionInfo:
    return VersionInfo(row.number, row.author, row.at, row.comment, row.summary,
                       row.author_name)


__all__ = ["MetadataConflict", "MetadataRefused", "MetadataStudio", "VersionInfo"]
