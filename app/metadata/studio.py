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
from typing import Any

from app.metadata import data_safety, documents, versions
from app.metadata.documents import Documents
from app.metadata.live import (
    LiveMetadata,
    MetadataConflict,
    MetadataRefused,
    VersionInfo,
    to_version_info,
)
from app.metadata.loader import MetadataError, MetadataProblem, load_registry
from app.metadata.registry import Registry
from app.metadata.system_objects import ROLES, system_objects
from app.objectql.context import Context
from app.objectql.errors import NotFound, PermissionDenied


class MetadataStudio(LiveMetadata):
    """Versioned metadata changes for one process (see the module docstring); how a
    version becomes live is LiveMetadata's part (app/metadata/live.py)."""

    # -- reading ---------------------------------------------------------------------------
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
        result = [to_version_info(row) for row in rows]
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
        return to_version_info(stored)

    def diff(self, number: int) -> str:
        """A readable unified YAML diff of version `number` against the one before."""
        if number == 0:
            return ""
        stored = versions.get(self._engine, number)
        if stored is None:
            raise NotFound(f"unknown metadata version {number}")
        return stored.diff

    # -- changing (admins only) ---------------------------------------------------------
    def save_object(self, ctx: Context, name: str, document: dict[str, Any], *,
                    base_version: int, comment: str = "") -> VersionInfo:
        """Create or replace object `name` with `document` (its YAML shape) as a new
        version, applied live. Raises PermissionDenied (not an admin), MetadataConflict
        (`base_version` is not live any more), MetadataRefused (checks failed)."""
        return self._save(ctx, "objects", name, document, base_version, comment,
                          safety=True)

    def save_permissions(self, ctx: Context, role: str, document: dict[str, Any], *,
                         base_version: int, comment: str = "") -> VersionInfo:
        """Replace the permission set of `role`; same rules as save_object."""
        return self._save(ctx, "permissions", role, document, base_version, comment,
                          safety=False)

    def save_dashboard(self, ctx: Context, name: str, document: dict[str, Any], *,
                       base_version: int, comment: str = "") -> VersionInfo:
        """Create or replace dashboard `name`; same rules as save_object. Open dashboard
        pages and the data endpoints serve the new definition at once."""
        return self._save(ctx, "dashboards", name, document, base_version, comment,
                          safety=True)

    def _save(self, ctx: Context, kind: str, name: str, document: dict[str, Any],
              base_version: int, comment: str, *, safety: bool) -> VersionInfo:
        """One document as a new version. `safety`: data-safety checks name the
        document's file (permission sets hold no data to lose)."""
        _require_admin(ctx)
        with self._lock:
            self._check_base(base_version)
            overlay = self._with_document(kind, name, document)
            return self._commit(ctx, overlay, base_version, comment,
                                safety_file=self._file(kind, name) if safety else None)

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

    # -- helpers ---------------------------------------------------------------------------
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


def _require_admin(ctx: Context) -> None:
    if not (ctx.is_system or ctx.role == "admin"):
        raise PermissionDenied(f"your role ({ctx.role}) may not change metadata")


__all__ = ["MetadataConflict", "MetadataRefused", "MetadataStudio", "VersionInfo"]
