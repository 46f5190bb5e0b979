"""Metadata as documents: the YAML-shaped dicts the studio, REST and CLI exchange.

A document is exactly what a `<name>.object.yml`, `<role>.permission.yml` or
`<name>.dashboard.yml` file holds, parsed. `Documents` maps kind ("objects" |
"permissions" | "dashboards") → name → document. The
shipped files are the baseline; a studio version holds the documents it replaced.
"""

from __future__ import annotations

import copy
import difflib
import json
from pathlib import Path
from typing import Any

import yaml

from app.metadata.loader import Overlay

KINDS = ("objects", "permissions", "dashboards")
SUFFIX = {"objects": ".object.yml", "permissions": ".permission.yml",
          "dashboards": ".dashboard.yml"}
Documents = dict[str, dict[str, dict[str, Any]]]


def empty() -> Documents:
    return {kind: {} for kind in KINDS}


def file_name(kind: str, name: str) -> str:
    return f"{kind}/{name}{SUFFIX[kind]}"


def read_baseline(directory: Path) -> tuple[Documents, dict[str, str]]:
    """The shipped documents and their file texts ({"objects/x.object.yml": text}).
    Unreadable files are skipped here: the loader reports them."""
    docs, texts = empty(), {}
    for kind in KINDS:
        folder = directory / kind
        for path in sorted(folder.glob(f"*{SUFFIX[kind]}")) if folder.is_dir() else []:
            try:
                text = path.read_text(encoding="utf-8")
                data = yaml.safe_load(text)
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue
            if isinstance(data, dict):
                name = path.name.removesuffix(SUFFIX[kind])
                docs[kind][name] = data
                texts[file_name(kind, name)] = text
    return docs, texts


# libyaml when present: a change dumps and parses whole documents several times.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dump(document: dict[str, Any]) -> str:
    """Stable, diff-friendly YAML: keys in the document's order, block style."""
    return yaml.dump(document, Dumper=_DUMPER, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)


def normalized(document: Any) -> Any:
    """The document as plain data (tuples → lists; dates as ISO text, which the loader
    reads the same). JSON, not a YAML round trip: it is done on every save."""
    return json.loads(json.dumps(document, default=str)) if isinstance(document, dict) \
        else document


def merged(baseline: Documents, overlay: Documents) -> Documents:
    result = {kind: dict(baseline.get(kind, {})) for kind in KINDS}
    for kind in KINDS:
        result[kind].update(overlay.get(kind, {}))
    return result


def to_overlay(overlay: Documents) -> Overlay:
    return Overlay(objects={n: dump(d) for n, d in overlay.get("objects", {}).items()},
                   permissions={n: dump(d) for n, d in overlay.get("permissions", {}).items()},
                   dashboards={n: dump(d) for n, d in overlay.get("dashboards", {}).items()})


def changed_names(before: Documents, after: Documents) -> list[tuple[str, str]]:
    return [(kind, name) for kind in KINDS
            for name in sorted(set(before.get(kind, {})) | set(after.get(kind, {})))
            if before.get(kind, {}).get(name) != after.get(kind, {}).get(name)]


def unified(before: Documents, after: Documents, old_label: str, new_label: str) -> str:
    """A unified diff of every document that differs, file by file."""
    parts: list[str] = []
    for kind, name in changed_names(before, after):
        old = before.get(kind, {}).get(name)
        new = after.get(kind, {}).get(name)
        path = file_name(kind, name)
        parts += difflib.unified_diff(
            dump(old).splitlines(keepends=True) if old is not None else [],
            dump(new).splitlines(keepends=True) if new is not None else [],
            f"{path} ({old_label})", f"{path} ({new_label})")
    return "".join(line if line.endswith("\n") else line + "\n" for line in parts)


def summarize(before: Documents, after: Documents) -> str:
    """One line saying what changed: "account: added field region; changed list_views"."""
    parts: list[str] = []
    for kind, name in changed_names(before, after):
        old = before.get(kind, {}).get(name)
        new = after.get(kind, {}).get(name) or {}
        if kind == "permissions":
            parts.append(f"permissions of {name} changed")
            continue
        if kind == "dashboards":
            parts.append(_dashboard_summary(name, old, new))
            continue
        if old is None:
            parts.append(f"created object {name}")
            continue
        old_fields, new_fields = old.get("fields") or {}, new.get("fields") or {}
        bits = [f"added field {f}" for f in new_fields if f not in old_fields]
        bits += [f"hid field {f}" for f in old_fields if f not in new_fields]
        bits += [f"changed field {f}" for f in new_fields
                 if f in old_fields and old_fields[f] != new_fields[f]]
        keys = [k for k in dict.fromkeys([*old, *new]) if k != "fields"
                and old.get(k) != new.get(k)]
        bits += [f"changed {k}" for k in keys]
        parts.append(f"{name}: {', '.join(bits) or 'reformatted'}")
    return "; ".join(parts) or "no change"


def _dashboard_summary(name: str, old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    if old is None:
        return f"created dashboard {name}"
    before = {w.get("name"): w for w in old.get("widgets") or [] if isinstance(w, dict)}
    after = {w.get("name"): w for w in new.get("widgets") or [] if isinstance(w, dict)}
    bits = [f"added widget {w}" for w in after if w not in before]
    bits += [f"removed widget {w}" for w in before if w not in after]
    bits += [f"changed widget {w}" for w in after if w in before and before[w] != after[w]]
    if list(before) != list(after) and set(before) == set(after):
        bits.append("reordered widgets")
    bits += [f"changed {k}" for k in dict.fromkeys([*old, *new])
             if k != "widgets" and old.get(k) != new.get(k)]
    return f"dashboard {name}: {', '.join(bits) or 'reformatted'}"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key, null removes a key, anything
    else replaces. PATCH /api/metadata/objects/{name} uses it (null on a field hides it)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
