"""An immutable snapshot of all object definitions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping

from app.dashboards.models import DashboardDef
from app.metadata.models import FieldDef, ObjectDef
from app.metadata.permissions import PermissionSet


class UnknownObject(KeyError):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown object '{self.name}'"


class Registry(Mapping[str, ObjectDef]):
    def __init__(self, objects: dict[str, ObjectDef],
                 permissions: dict[str, PermissionSet] | None = None,
                 dashboards: dict[str, DashboardDef] | None = None):
        self._objects = dict(objects)
        self.permissions: dict[str, PermissionSet] = dict(permissions or {})
        self.dashboards: dict[str, DashboardDef] = dict(dashboards or {})

    def __getitem__(self, name: str) -> ObjectDef:
        try:
            return self._objects[name]
        except KeyError:
            raise UnknownObject(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._objects)

    def __len__(self) -> int:
        return len(self._objects)

    @property
    def business_objects(self) -> list[ObjectDef]:
        """Objects declared in YAML (not the built-in system objects)."""
        return [o for o in self._objects.values() if not o.system]

    def children_of(self, name: str) -> list[tuple[ObjectDef, FieldDef]]:
        """Every (object, lookup field) pointing at `name`, for delete behaviour."""
        return [(o, f) for o in self._objects.values() for f in o.all_fields.values()
                if f.is_lookup and f.reference_to == name and not f.system]

    def digest(self) -> str:
        payload = {n: o.model_dump(mode="json") for n, o in sorted(self._objects.items())}
        payload.update({f"permissions:{r}": p.model_dump(mode="json")
                        for r, p in sorted(self.permissions.items())})
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
