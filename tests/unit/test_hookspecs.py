"""app/hookspecs.py names real code: every interface and registration point it lists
imports, so the newcomer's map of extension points cannot go stale silently."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from app.hookspecs import EXTENSION_POINTS


def resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            found = getattr(found, attr)
        return found
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize("point", EXTENSION_POINTS, ids=lambda p: p.name)
def test_every_extension_point_names_real_code(point: Any) -> None:
    assert resolve(point.spec) is not None
    assert resolve(point.register) is not None
    assert point.summary


def test_extension_points_have_unique_names() -> None:
    names = [p.name for p in EXTENSION_POINTS]
    assert len(names) == len(set(names))
