"""Industry talking points and rule thresholds, read from `metadata/ai/industries.yml`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Rules:
    no_touch_days: int = 14
    renewal_window_days: int = 90
    recent_closed_days: int = 180
    stalled_min_days: int = 21


@dataclass(frozen=True)
class Industry:
    key: str
    label: str
    talking_points: tuple[str, ...]


@dataclass(frozen=True)
class Playbook:
    rules: Rules = field(default_factory=Rules)
    industries: dict[str, Industry] = field(default_factory=dict)

    def industry(self, key: str | None) -> Industry:
        found = self.industries.get(key or "") or self.industries.get("default")
        return found or Industry("default", "General", ())


def _industry(key: str, raw: Any) -> Industry:
    raw = raw if isinstance(raw, dict) else {}
    points = tuple(p.strip() for p in raw.get("talking_points") or []
                   if isinstance(p, str) and p.strip())
    return Industry(key, str(raw.get("label") or key.replace("_", " ").capitalize()), points)


@lru_cache(maxsize=8)
def load_playbook(metadata_dir: Path) -> Playbook:
    """The file is optional: without it the rules use their defaults and no industry points."""
    path = Path(metadata_dir) / "ai" / "industries.yml"
    if not path.is_file():
        return Playbook()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    known = Rules.__dataclass_fields__
    rules = Rules(**{k: int(v) for k, v in (data.get("rules") or {}).items() if k in known})
    industries = {str(k): _industry(str(k), v) for k, v in (data.get("industries") or {}).items()}
    return Playbook(rules, industries)
